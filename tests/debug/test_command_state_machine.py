"""A state machine over the command language (issue 9): random commands, arguments,
expressions that raise anything and conditions of every type, against a lesson and a
user script. Whatever is typed, `Commands.run` answers with text, the program never
crashes because of the debugger, and the cursor stays inside the recorded history."""

from __future__ import annotations

import os
import tempfile
import textwrap

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from stepgrad.debug import Commands, Session

SCRIPT = """
import numpy as np
import stepgrad as sg

sg.manual_seed(0)
model = sg.nn.Sequential(sg.nn.Linear(3, 4), sg.nn.Tanh(), sg.nn.Linear(4, 2))
optimizer = sg.optim.SGD(model.parameters(), lr=0.1)
x = sg.tensor(np.linspace(-1, 1, 12).reshape(4, 3).astype(np.float32), name="x")
for step in range(3):
    optimizer.zero_grad()
    loss = sg.nn.functional.cross_entropy(model(x), np.arange(4) % 2)
    loss.backward()
    optimizer.step()
"""

#: Words left to the transcripts: those that rerun the program (slow) and `save`, which
#: would write files named by random arguments.
SLOW = {"fixed", "restart", "run", "reveal", "save"}
EXPRESSIONS = [
    "out", "ins", "[out, 1]", "grad.norm", "grads[0]", "node.op", "out.mean() > 0",
    "exit(3)", "quit()", "1/0", "(_ for _ in ()).throw(KeyboardInterrupt)",
    "(_ for _ in ()).throw(GeneratorExit)", "None", "'x'", "np.nan", "x", "model",
    "loss", "ins[5]", "out.shape", "__import__('sys')", "lambda: 1", "{1: 2}",
]
ARGUMENTS = st.one_of(
    st.sampled_from(
        ["", "1", "3", "0", "-1", "²", "٣", "1e3", "into", "all", "iter 1", "epoch 0",
         "#2", "#99999", "relu", "tanh", "linear", "fc1", "x", "nan", "inf", "backward",
         "forward", "dead relu > 0.5", "saturated tanh", "1 2", "history 1MB", "history x"]
    ),
    st.sampled_from(EXPRESSIONS),
    st.sampled_from(EXPRESSIONS).map(lambda e: f"if {e}"),
    st.sampled_from(EXPRESSIONS).map(lambda e: f"1 {e}"),  # condition 1 EXPR
    st.text(max_size=12),
)


def _lesson_session() -> tuple[Session, Commands]:
    from stepgrad.lessons.progress import Progress
    from stepgrad.lessons.registry import get_lesson
    from stepgrad.lessons.tutor import Tutor

    lesson = get_lesson(1)
    tutor = Tutor(lesson, None, Progress.load(autosave=False), seed=0)
    session = Session(tutor.program(), name="lesson 1")
    return session, Commands(session, tutor=tutor)


def _script_session(folder: str) -> tuple[Session, Commands]:
    path = os.path.join(folder, "train.py")
    with open(path, "w") as file:
        file.write(textwrap.dedent(SCRIPT))
    session = Session.for_script(path)
    return session, Commands(session)


class CommandLanguage(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp()
        os.environ["STEPGRAD_HOME"] = self.folder
        self.session: Session | None = None
        self.commands: Commands | None = None

    @initialize(lesson=st.booleans())
    def start(self, lesson: bool) -> None:
        make = _lesson_session if lesson else (lambda: _script_session(self.folder))
        self.session, self.commands = make()
        self.session.start()

    @rule(word=st.one_of(st.sampled_from(sorted(Commands.table())), st.text(max_size=6)),
          arg=ARGUMENTS)
    def command(self, word: str, arg: str) -> None:
        assert self.commands is not None
        if word in SLOW:
            return
        out = self.commands.run(f"{word} {arg}")
        assert isinstance(out, str) and "Traceback (most recent" not in out

    @rule(text=st.text(max_size=20))
    def complete(self, text: str) -> None:
        assert self.commands is not None
        assert all(isinstance(c, str) for c in self.commands.complete(text))

    @invariant()
    def the_program_never_crashes_because_of_the_debugger(self) -> None:
        if self.session is not None:
            state = self.session.state
            assert state.status != "crashed", state.error

    @invariant()
    def the_cursor_stays_in_history(self) -> None:
        if self.session is not None:
            state = self.session.state
            assert state.cursor == -1 or state.first <= state.cursor <= state.head

    def teardown(self) -> None:
        if self.session is not None:
            self.session.close()
        os.environ.pop("STEPGRAD_HOME", None)


CommandLanguage.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_command_language = CommandLanguage.TestCase
