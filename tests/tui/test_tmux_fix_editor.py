"""`fix` in `stepgrad lesson 4` in a real terminal (tmux): the app steps aside for $EDITOR
(a script that shows a line, reads what the learner types and appends it to the file), and
comes back with the fix message in its log when the editor exits.

Runs on its own tmux socket; skipped with the reason when tmux is not installed.
"""

from __future__ import annotations

import os
import sys
import time

import pytest
from tmux_terminal import TMUX, Terminal

pytestmark = [pytest.mark.skipif(TMUX is None, reason="tmux is not installed"), pytest.mark.slow]

EDITOR = """#!/bin/sh
echo "FAKE EDITOR on $1: type a line"
read line
echo "# the learner typed: $line" >> "$1"
"""


@pytest.fixture
def terminal(tmp_path):
    editor = tmp_path / "editor"
    editor.write_text(EDITOR)
    editor.chmod(0o755)
    term = Terminal(f"stepgrad-fix-{os.getpid()}")
    command = (f"cd {tmp_path} && unset COLUMNS LINES VISUAL && STEPGRAD_HOME={tmp_path / 'home'} "
               f"EDITOR={editor} TERM=xterm-256color {sys.executable} -m stepgrad lesson 4 "
               f"--bug relu-times-activation; echo EXITED $?; sleep 30")
    term.tmux("new-session", "-d", "-s", "app", "-x", "120", "-y", "36", command)
    yield term
    term.tmux("kill-server")


def test_fix_hands_the_terminal_to_the_editor_and_takes_it_back(terminal, tmp_path):
    terminal.wait_for(" #0/0")
    terminal.keys(":")
    time.sleep(0.5)                                 # the command line takes the focus
    terminal.keys("reveal", "Enter")                # `fix` comes after the bug is found
    terminal.wait_for("fix")
    terminal.keys(":")
    time.sleep(0.5)
    terminal.keys("fix", "Enter")
    screen = terminal.wait_for("FAKE EDITOR on")
    assert "tape" not in screen                     # the app stepped aside
    terminal.keys("well spotted", "Enter")
    screen = terminal.wait_for("edited with")
    assert "tape" in screen and "FAKE EDITOR" not in screen   # the app is back
    fixes = list((tmp_path / "home" / "fixes").iterdir())
    assert len(fixes) == 1
    assert fixes[0].read_text().endswith("# the learner typed: well spotted\n")
    terminal.keys("s")
    terminal.wait_for(" #1/1")                      # keys work again
    terminal.keys("q")
    terminal.wait_for("Stop it and quit?")
    terminal.keys("y")
    screen = terminal.wait_for("EXITED")
    assert "EXITED 0" in screen and "Traceback" not in screen
