"""Scripting the debugger: commands piped on stdin, a transcript on stdout, like pdb.

    stepgrad debug --repl train.py < commands.txt

With stdin not a terminal the REPL uses no prompt_toolkit UI: it echoes each command after
its prompt, then the answer, and exits at end of input.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from stepgrad.debug import Commands, Session
from stepgrad.tui.repl import run_repl

HERE = Path(__file__).parent
SCRIPT = str(HERE / "tiny_train.py")


def run(args: list[str], stdin: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STEPGRAD_HOME": str(home)}
    env.pop("NO_COLOR", None)
    return subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=HERE, env=env,
                          timeout=120)


def test_stepgrad_debug_repl_reads_commands_from_a_pipe(tmp_path):
    commands = "step 5\nback\nstep\np out.shape\nbreak relu\ncontinue\n\nzz\np 1/0\n"
    result = run([sys.executable, "-m", "stepgrad", "debug", "--repl", "tiny_train.py"],
                 commands, tmp_path)
    assert result.returncode == 0, result.stderr
    transcript = [line.rstrip() for line in result.stdout.splitlines()]
    assert transcript == textwrap.dedent("""\
        #0 enter <model> (Sequential)
        (sg forward #0) step 5
        #5 forward  relu_1 = relu(linear_1 (5, 4)) -> (5, 4) in 1  [tiny_train.py:16]
        (sg forward relu_1 #5) back
        #4 enter 1 (ReLU)
        (sg forward 1 #4) step
        #5 forward  relu_1 = relu(linear_1 (5, 4)) -> (5, 4) in 1  [tiny_train.py:16]
        (sg forward relu_1 #5) p out.shape
        (5, 4)
        (sg forward relu_1 #5) break relu
        Breakpoint 1: relu
        (sg forward relu_1 #5) continue
        (breakpoint 1 (relu))
        #16 backward relu_1 (relu): grad (5, 4) -> linear_1 (5, 4) in 1  [tiny_train.py:16]
        (sg backward relu_1 #16)
        (breakpoint 1 (relu))
        #26 forward  relu_1 = relu(linear_1 (5, 4)) -> (5, 4) in 1  [tiny_train.py:16]
        (sg iter 0 forward relu_1 #26) zz
        *** unknown command 'zz'; 'help' lists the commands
        (sg iter 0 forward relu_1 #26) p 1/0
        *** ZeroDivisionError: division by zero
        """).splitlines()
    assert "\x1b" not in result.stdout  # no colour into a pipe
    assert not (tmp_path / "repl_history").exists()  # scripts stay out of the history


RUN_REPL = """
import sys
from stepgrad.debug import Commands, Session
from stepgrad.tui.repl import run_repl
session = Session.for_script(sys.argv[1], sys.argv[2:])
try:
    code = run_repl(session, Commands(session))
finally:
    session.close()
print("exit", code, session.state.status)
"""


def test_run_repl_on_a_pipe_stops_at_quit_and_at_end_of_input(tmp_path):
    quit_early = run([sys.executable, "-c", RUN_REPL, SCRIPT], "step\nquit\nstep\n", tmp_path)
    assert quit_early.returncode == 0, quit_early.stderr
    assert quit_early.stdout.endswith("(sg forward 0 #1) quit\nBye.\nexit 0 closed\n")
    assert quit_early.stderr == ""

    to_the_end = run([sys.executable, "-c", RUN_REPL, SCRIPT], "continue\n", tmp_path)
    assert "(the program finished)" in to_the_end.stdout
    assert "trained\n" in to_the_end.stdout  # the program's own output
    assert to_the_end.stdout.endswith("exit 0 finished\n")


def test_a_text_stream_selects_the_plain_repl():
    session = Session.for_script(SCRIPT, [])
    out = io.StringIO()
    try:
        code = run_repl(session, Commands(session), input=io.StringIO("step\nhelp step\n"),
                        output=out)
    finally:
        session.close()
    assert code == 0
    assert out.getvalue().splitlines()[:4] == [
        "#0 enter <model> (Sequential)", "(sg forward #0) step", "#1 enter 0 (Linear)",
        "(sg forward 0 #1) help step"]
    assert "step [N] | step into" in out.getvalue()
