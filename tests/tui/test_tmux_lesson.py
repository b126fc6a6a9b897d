"""`stepgrad lesson 1` in a real terminal (tmux): the full-screen app opens, keys step it,
the command line sets a breakpoint, and `q` then `y` leaves with the terminal restored.

Runs on its own tmux socket; skipped with the reason when tmux is not installed.
"""

from __future__ import annotations

import os
import sys
import time

import pytest
from tmux_terminal import TMUX, Terminal

pytestmark = [pytest.mark.skipif(TMUX is None, reason="tmux is not installed"), pytest.mark.slow]


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(f"stepgrad-test-{os.getpid()}")
    command = (f"cd {tmp_path} && unset COLUMNS LINES && STEPGRAD_HOME={tmp_path / 'home'} "
               f"TERM=xterm-256color {sys.executable} -m stepgrad lesson 1; echo EXITED $?; "
               f"sleep 30")
    term.tmux("new-session", "-d", "-s", "app", "-x", "120", "-y", "36", command)
    yield term
    term.tmux("kill-server")


def test_lesson_1_in_a_real_terminal(terminal):
    screen = terminal.wait_for("tape")
    assert "The chain rule" in screen or "chain rule" in terminal.wait_for("chain rule")
    terminal.wait_for(" #0/0")  # the status line: event 0 of 0 recorded
    terminal.keys("s")
    screen = terminal.wait_for(" #1/1")
    assert "forward  mul_1 = mul(w (), x ())" in screen  # the log shows the step
    terminal.keys("s", "s")
    terminal.wait_for(" #3/3")
    terminal.keys("r")  # back: nothing re-runs, the newest event stays #3
    terminal.wait_for(" #2/3")
    terminal.keys(":")
    time.sleep(0.5)  # the command line takes the focus first (as the other tmux tests wait:
    # on a busy machine letters sent with the `:` can overtake it; lost once in 8 runs)
    terminal.keys("break backward mul", "Enter")
    terminal.wait_for("Breakpoint 1: backward mul")
    terminal.keys("Escape")  # leave the command line (a pause, or ESC c reads as Alt+c)
    time.sleep(0.5)
    terminal.keys("c")
    screen = terminal.wait_for("breakpoint 1 (backward mul)")
    assert "backward" in screen
    terminal.keys("q")
    terminal.wait_for("Stop it and quit?")
    terminal.keys("y")
    screen = terminal.wait_for("EXITED")
    assert "EXITED 0" in screen and "Traceback" not in screen
