"""The REPL at a (simulated) terminal: keys go in through prompt_toolkit's pipe input.

Each test types a few lines at `run_repl` over a real Session on tiny_train.py and reads
what the REPL wrote (a PlainTextOutput keeps the answers and the prompts, no colour).
"""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.plain_text import PlainTextOutput

from stepgrad.debug import Commands, Session
from stepgrad.tui.repl import run_repl
from stepgrad.tui.repl.completion import CommandCompleter
from stepgrad.tui.repl.toolbar import where_in_pass

SCRIPT = str(Path(__file__).with_name("tiny_train.py"))


@pytest.fixture(autouse=True)
def _home(monkeypatch, tmp_path):
    """Keep the history file out of the real home."""
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path / "home"))


@pytest.fixture
def debug():
    """debug(keys, argv=[], before=None) -> (exit code, what the REPL wrote, session, commands).

    `before(session)` is called before the REPL starts (to watch the session from a thread).
    """
    sessions: list[Session] = []

    def run(keys: str, argv: list[str] | None = None, before=None):
        session = Session.for_script(SCRIPT, argv or [])
        sessions.append(session)
        if before is not None:
            before(session)
        commands = Commands(session)
        out = io.StringIO()
        with create_pipe_input() as pipe:
            pipe.send_text(keys)
            pipe.close()  # end of input after the keys: Ctrl-D
            code = run_repl(session, commands, input=pipe, output=PlainTextOutput(out))
        return code, out.getvalue().replace("\r\n", "\n"), session, commands

    yield run
    for session in sessions:
        session.close()


def test_step_back_and_print(debug):
    code, out, session, commands = debug("step 5\rstep\rback\rp out.shape\rquit\r")
    assert code == 0
    assert "#0 enter <model> (Sequential)" in out  # where it starts, shown first
    assert "#5 forward  relu_1 = relu(linear_1 (5, 4)) -> (5, 4)" in out
    assert "#6 exit  1 (ReLU)" in out
    assert "(sg forward 1 #6) back" in out  # the prompt shows the position
    assert "(sg forward relu_1 #5) p out.shape\n(5, 4)\n" in out
    assert "Bye." in out
    assert commands.finished and session.state.status == "closed"


def test_break_and_continue(debug):
    code, out, session, _ = debug("break relu\rcontinue\rcontinue\rinfo\r")
    assert "Breakpoint 1: relu" in out
    assert "(breakpoint 1 (relu))\n#5 forward  relu_1" in out
    assert "#16 backward relu_1 (relu): grad (5, 4) -> linear_1 (5, 4)" in out
    assert "grads[0] (linear_1)    (5, 4)" in out
    assert "1 breakpoint" in out  # the toolbar
    assert "backward | node 3 of 4 | 1 breakpoint | paused: breakpoint 1 (relu)" in out
    assert session.state.status == "paused"  # end of input leaves it to the caller


def test_an_empty_line_repeats_the_last_move(debug):
    _, out, session, _ = debug("step 2\r\r")
    assert "#2 forward  linear_1" in out and "#4 enter 1 (ReLU)" in out
    assert session.state.cursor == 4


def test_a_bad_command_is_one_line_and_the_session_goes_on(debug):
    _, out, session, _ = debug("zz\rp nosuch\rgoto x\rstep\r")
    assert "*** unknown command 'zz'; 'help' lists the commands\n" in out
    assert "*** NameError: name 'nosuch' is not defined\n" in out
    assert "*** goto needs an event number" in out
    assert "Traceback" not in out
    assert session.state.cursor == 1


def test_ctrl_c_at_the_prompt_clears_the_line_and_ctrl_d_ends(debug):
    code, out, session, commands = debug("step 9 garbage\x03step\r\x04")
    assert code == 0
    assert "expected a positive count" not in out  # the cleared line never ran
    assert session.state.cursor == 1
    assert not commands.finished  # Ctrl-D ends the REPL; the caller closes the session


def test_the_prompt_shows_the_iteration_after_one(debug):
    _, out, _, _ = debug("until iter 0\rstep\r")
    assert "(iteration 0 finished)\n#20 iteration 0 loss=0.788" in out
    assert "(sg iter 0 loop #20) step\n#21 enter <model> (Sequential)" in out
    assert "(sg iter 0 forward #21)" in out


def test_the_end_of_the_program_and_back_through_history(debug):
    _, out, session, _ = debug("continue\rback\rp grad\r")
    assert "The program has ended (63 events recorded)" in out
    assert "(sg iter 2 loop #62 finished) back\n#61 SGD.step()" in out
    assert "(sg iter 2 optimizer #61 finished) p grad\nNone\n" in out
    assert session.state.status == "finished"


def test_history_is_written_to_the_data_dir(debug, tmp_path):
    debug("step\rbreak relu\r")
    text = (tmp_path / "home" / "repl_history").read_text()
    assert "+step\n" in text and "+break relu\n" in text


def test_completion_asks_the_command_language(debug):
    _, _, session, commands = debug("step 5\r")
    completer = CommandCompleter(commands)

    def complete(line: str) -> list[tuple[str, int]]:
        found = completer.get_completions(Document(line), CompleteEvent(completion_requested=True))
        return [(c.text, c.start_position) for c in found]

    assert ("break", -2) in complete("br") and ("back", -1) in complete("b")
    assert complete("break rel") == [("relu", -3), ("relu_1", -3)]
    assert ("out", -1) in complete("p o")
    assert complete("zzz") == []


def test_toolbar_counts_nodes_in_the_pass(debug):
    _, _, session, commands = debug("")
    positions = {}
    for line in ["step 3", "step 2", "goto 9", "goto 16", "goto 20"]:
        commands.run(line)
        positions[line] = where_in_pass(session.history, session.state)
    assert positions == {
        "step 3": "node 1 of 1 so far", "step 2": "node 2 of 2 so far",
        "goto 9": "node 3 of 3 so far", "goto 16": "node 3 of 4", "goto 20": "event #20 of 21"}
    commands.run("back 11")
    assert where_in_pass(session.history, session.state) == "node 3 of 4"  # #9: its pass ended


def test_ctrl_c_during_continue_pauses_the_program(debug):
    """SIGINT while `continue` runs a long loop: the program pauses at its next event."""
    sent = threading.Event()

    def press_ctrl_c(session: Session) -> None:
        deadline = time.monotonic() + 30
        while session.state.status != "running" or session.state.cursor < 0:
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
        time.sleep(0.2)  # well inside `continue`
        sent.set()
        os.kill(os.getpid(), signal.SIGINT)

    def before(session: Session) -> None:
        threading.Thread(target=press_ctrl_c, args=(session,), daemon=True).start()

    _, out, session, _ = debug("continue\rp 1 + 1\r", argv=["100000"], before=before)
    assert sent.is_set()
    assert "(interrupted)" in out
    assert session.state.status == "paused"
    assert ") p 1 + 1\n2\n" in out
