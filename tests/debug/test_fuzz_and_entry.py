"""Fuzzed breakpoint conditions and commands (no input crashes the session), and the
entry points sg.set_trace() and sg.debug() driven from a pipe."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepgrad.debug import Commands, Session

_WORDS = st.sampled_from(
    [
        "out",
        "ins[0]",
        "grad",
        "grads[1]",
        "node.op",
        "np.nan",
        "1e3",
        "0",
        "relu",
        "nan",
        "inf",
        "dead",
        "saturated",
        "tanh",
        "if",
        ">",
        "<",
        "==",
        ".norm",
        ".std()",
        "(",
        ")",
        "[",
        "]",
        "and",
        "or",
        "not",
        "'x'",
        "+",
        "/",
        "backward",
        "forward",
        "fc1",
        "lambda",
        ":",
        "**",
        "None",
        "#",
    ]
)
_SPEC = st.one_of(st.lists(_WORDS, min_size=0, max_size=7).map(" ".join), st.text(max_size=30))


def _program():
    import numpy as np

    import stepgrad as sg

    sg.manual_seed(0)
    fc1 = sg.nn.Linear(3, 4)
    x = sg.tensor(np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32))
    for i in range(2):
        fc1.zero_grad()
        loss = fc1(x).tanh().sum()
        loss.backward()
        sg.mark_iteration(i, loss=loss.item())


def _assert_one_answer(out: str, answers: tuple[str, ...]) -> None:
    """A command either does what it says (one of `answers`) or refuses in one line."""
    if out.startswith("***"):
        assert "\n" not in out and len(out) > 4, out
    else:
        assert out.startswith(answers), out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(_SPEC, min_size=1, max_size=3))
def test_no_breakpoint_spec_crashes_the_session(specs):
    session = Session(_program)
    session.start()
    commands = Commands(session)
    try:
        for spec in specs:
            listed = ("Breakpoint ", "No breakpoints", "Num  Where")
            _assert_one_answer(commands.run(f"break {spec}"), listed)
            _assert_one_answer(commands.run(f"condition 1 {spec}"), ("Breakpoint 1 ",))
        out = commands.run("continue")
        assert "Traceback" not in out
        assert session.state.status in ("paused", "finished"), session.state.reason
        commands.run("clear")  # whatever the breakpoints did, the program runs on to the end
        commands.run("continue")
        assert session.state.status == "finished", session.state.reason
    finally:
        session.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=st.one_of(st.text(max_size=40), st.lists(_WORDS, max_size=6).map(" ".join)))
def test_no_command_line_raises(line):
    session = Session(_program)
    session.start()
    try:
        commands = Commands(session)
        out = commands.run(line)
        assert "Traceback" not in out
        if out.startswith("***"):  # an error is one line that says what was wrong
            assert "\n" not in out and len(out) > 4
        ended = ("paused", "finished", "closed") if commands.finished else ("paused", "finished")
        assert session.state.status in ended, session.state.reason
    finally:
        session.close()


def _run_python(code: str, stdin: str, tmp_path) -> str:
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    done = subprocess.run(
        [sys.executable, str(script)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_set_trace_pauses_at_the_next_event_like_breakpoint(tmp_path):
    out = _run_python(
        """
        import stepgrad as sg
        x = sg.tensor([1.0, -2.0, 3.0], requires_grad=True, name="x")
        sg.set_trace()
        y = x.relu()
        z = (y * 2).sum()
        z.backward()
        print("grad", x.grad.tolist())
    """,
        "p out\nstep\nwhere\ncontinue\n",
        tmp_path,
    )
    assert "forward  relu_1 = relu(x (3,)) -> (3,)" in out
    assert "[1. 0. 3.]" in out
    assert "forward  mul_1" in out and "prog.py:6" in out
    assert "grad [2.0, 0.0, 2.0]" in out


def test_set_trace_quit_lets_the_program_run_on(tmp_path):
    out = _run_python(
        """
        import stepgrad as sg
        sg.set_trace()
        y = (sg.tensor([1.0, 2.0]) * 3).sum()
        print("result", y.item())
    """,
        "quit\n",
        tmp_path,
    )
    assert "result 9.0" in out


def test_replay_refuses_a_foreign_file(tmp_path):
    bad = tmp_path / "notes.sgtrace"
    bad.write_text("not a trace")
    done = subprocess.run(
        [sys.executable, "-m", "stepgrad", "replay", str(bad), "--repl"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "not a stepgrad trace" in done.stderr and "Traceback" not in done.stderr


def test_debug_refuses_a_missing_script(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "stepgrad", "debug", str(tmp_path / "nope.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "no such script" in done.stderr


def test_debug_takes_its_own_options_after_the_script(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import sys\nimport stepgrad as sg\n"
                      "print('args', sys.argv[1:])\n(sg.tensor([1.0]) * 2).sum()\n")
    done = subprocess.run([sys.executable, "-m", "stepgrad", "debug", str(script), "--repl",
                           "--history", "1MB", "a", "--", "--repl"], input="continue\nquit\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "args ['a', '--repl']" in done.stdout
