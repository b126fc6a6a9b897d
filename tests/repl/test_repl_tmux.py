"""The REPL in a real terminal: tmux runs `stepgrad debug --repl` (and `stepgrad lesson 1
--repl`), we type and read the screen.

This is the test of what a user sees: the prompt_toolkit prompt with the position, the
toolbar, colours, Tab, Ctrl-C (at the prompt and during a `continue`) and Ctrl-D.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None,
    reason="tmux is not installed (apt-get install -y tmux): the real-terminal test needs it")

HERE = Path(__file__).parent


class Terminal:
    """A detached tmux session on its own server socket, running one command."""

    def __init__(self, command: str, width: int = 110, height: int = 30):
        self.socket = f"stepgrad-test-{uuid.uuid4().hex[:8]}"
        shell = f"{command}; echo \"[exited $?]\"; sleep 60"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height),
                  "-c", str(HERE), shell)
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()

    def tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                                capture_output=True, text=True, timeout=10, check=True)
        return result.stdout

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self, colors: bool = False) -> str:
        """The pane's text, with the lines scrolled off the top (up to 200)."""
        return self.tmux("capture-pane", "-p", "-S", "-200", "-t", "t",
                         *(["-e"] if colors else []))

    def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen:\n{screen}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)
        Path(self.socket_path).unlink(missing_ok=True)  # tmux leaves its socket file behind


@pytest.fixture
def terminal(tmp_path):
    opened: list[Terminal] = []

    def open_(*args: str, pipe_to: str = "") -> Terminal:
        """`stepgrad debug --repl ARGS` (or `stepgrad ARGS` when ARGS start with a command)."""
        stepgrad = list(args) if args[0] == "lesson" else ["debug", "--repl", *args]
        command = shlex.join(["env", "-u", "NO_COLOR", f"STEPGRAD_HOME={tmp_path / 'home'}",
                              sys.executable, "-m", "stepgrad", *stepgrad])
        term = Terminal(command + (f" | {pipe_to}" if pipe_to else ""))
        opened.append(term)
        return term

    yield open_
    for term in opened:
        term.close()


def test_step_back_print_complete_and_leave(terminal, tmp_path):
    term = terminal("tiny_train.py")
    term.wait_for("#0 enter <model> (Sequential)\n(sg forward #0)")
    term.wait_for("forward | before the first node | 0 breakpoints | paused: step")

    term.send("step", "Enter")
    term.wait_for("(sg forward #0) step\n#1 enter 0 (Linear)\n(sg forward 0 #1)")
    term.send("back", "Enter")
    term.wait_for("(sg forward 0 #1) back\n#0 enter <model> (Sequential)\n(sg forward #0)")

    term.send("step 5", "Enter")
    term.wait_for("#5 forward  relu_1 = relu(linear_1 (5, 4)) -> (5, 4)")
    term.send("p out.shape", "Enter")
    term.wait_for("(sg forward relu_1 #5) p out.shape\n(5, 4)\n(sg forward relu_1 #5)")
    term.wait_for("forward | node 2 of 2 so far | 0 breakpoints | paused: step")
    colored = term.screen(colors=True)
    assert "\x1b[" in colored.split("p out.shape")[0]  # colour, in a terminal

    term.send("tbrea", "Tab")
    term.wait_for("(sg forward relu_1 #5) tbreak")
    term.send(" relu", "Enter")
    term.wait_for("Temporary breakpoint 1: relu\n(sg forward relu_1 #5)")
    term.wait_for("| 1 breakpoint |")

    term.send("garbage")
    term.wait_for("(sg forward relu_1 #5) garbage")
    term.send("C-c")  # Ctrl-C at the prompt clears the line: a fresh prompt below
    term.wait_for("(sg forward relu_1 #5) garbage\n(sg forward relu_1 #5)")
    term.send("step", "Enter")
    screen = term.wait_for("(sg forward relu_1 #5) step\n#6 exit  1 (ReLU)\n(sg forward 1 #6)")
    assert "unknown command 'garbage'" not in screen  # cleared, never run

    term.send("C-d")
    term.wait_for("[exited 0]")
    history = (tmp_path / "home" / "repl_history").read_text()
    assert "+p out.shape\n" in history and "+tbreak relu\n" in history
    assert "garbage" not in history


def test_ctrl_c_during_continue_pauses_a_long_run(terminal):
    term = terminal("tiny_train.py", "100000")
    term.wait_for("(sg forward #0)")
    term.send("continue", "Enter")
    time.sleep(1.0)
    assert "paused" not in term.screen().split("continue")[-1]  # still running
    term.send("C-c")
    screen = term.wait_for("(interrupted)")
    screen = term.wait_for("paused: interrupted")
    assert "(sg iter " in screen
    term.send("quit", "Enter")
    screen = term.wait_for("[exited 0]")
    assert "Bye." in screen and "Traceback" not in screen


def test_output_into_a_pipe_gets_the_plain_repl(terminal):
    """A person types, but stdout goes to `tee`: prompts before reading, no UI, no colour."""
    term = terminal("tiny_train.py", pipe_to="cat")
    term.wait_for("#0 enter <model> (Sequential)\n(sg forward #0)")
    term.send("step", "Enter")
    term.wait_for("(sg forward #0) step\n#1 enter 0 (Linear)\n(sg forward 0 #1)")
    term.send("C-d")
    screen = term.wait_for("[exited 0]")
    assert "(sg forward 0 #1)\n[exited 0]" in screen
    assert "breakpoints" not in screen  # no toolbar
    assert "\x1b[" not in term.screen(colors=True).split("[exited")[0]


def test_a_lesson_in_the_repl(terminal):
    term = terminal("lesson", "1", "--repl")
    term.wait_for("# Lesson 1: The chain rule, node by node")
    term.wait_for("(sg optimizer #0)")
    term.send("hint", "Enter")
    term.wait_for("Hint 1/")
    term.send("diag", "Tab")
    term.wait_for("(sg optimizer #0) diagnose")
    term.send("C-u", "quit", "Enter")
    term.wait_for("[exited 0]")
