"""`stepgrad debug train.py` on an unchanged torch script, in a real terminal (tmux): the
full-screen app steps through torch's ops, stops at a breakpoint in torch's backward, and
quits. Runs on its own tmux socket; skipped with the reason when tmux or torch is missing."""

from __future__ import annotations

import os
import sys
import textwrap
import time

import pytest
from tmux_terminal import TMUX, Terminal

pytest.importorskip("torch", reason="the torch bridge needs PyTorch: pip install 'stepgrad[torch]'")
pytestmark = [pytest.mark.skipif(TMUX is None, reason="tmux is not installed"), pytest.mark.slow]

SCRIPT = textwrap.dedent("""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))
    for step in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
""")


@pytest.fixture
def terminal(tmp_path):
    (tmp_path / "train.py").write_text(SCRIPT)
    term = Terminal(f"stepgrad-torch-test-{os.getpid()}")
    command = (f"cd {tmp_path} && unset COLUMNS LINES && STEPGRAD_HOME={tmp_path / 'home'} "
               f"TERM=xterm-256color {sys.executable} -m stepgrad debug train.py; "
               f"echo EXITED $?; sleep 30")
    term.tmux("new-session", "-d", "-s", "app", "-x", "120", "-y", "36", command)
    yield term
    term.tmux("kill-server")


def test_stepgrad_debug_on_an_unchanged_torch_script(terminal):
    terminal.wait_for("SGD.zero_grad()")
    terminal.wait_for(" #0/0")
    terminal.keys("s", "s", "s")
    terminal.wait_for(" #3/3")
    screen = terminal.wait_for("AddmmBackward0")  # torch's node beside ours (panes draw late)
    assert "linear_1" in screen
    screen = terminal.wait_for("your code  train.py:12")
    assert "linear.forward" not in screen  # stepgrad's numpy linear is not what ran
    terminal.keys(":")
    time.sleep(1)  # let the command line open first (on a busy machine, keys can overtake it)
    terminal.keys("break backward relu")
    time.sleep(0.5)
    terminal.keys("Enter")
    terminal.wait_for("Breakpoint 1: backward relu")
    terminal.keys("Escape")
    time.sleep(0.5)
    terminal.keys("c")
    screen = terminal.wait_for("breakpoint 1 (backward relu)")
    assert "backward relu_1 (relu)" in screen and "train.py:12" in screen
    terminal.keys("q")
    terminal.wait_for("Stop it and quit?")
    terminal.keys("y")
    terminal.wait_for("EXITED")
