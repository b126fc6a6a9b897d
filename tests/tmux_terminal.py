"""A program in a real terminal: a tmux session on its own socket, keys sent, screen read.

Shared by the tmux tests of the full-screen app (tests/tui, tests/torchbridge); the root
conftest puts this folder on sys.path. Tests skip with the reason when tmux is missing.
"""

from __future__ import annotations

import shutil
import subprocess
import time

TMUX = shutil.which("tmux")


class Terminal:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True,
                              timeout=30)
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "app")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "app", *keys)

    def wait_for(self, text: str, seconds: float = 60) -> str:
        deadline = time.monotonic() + seconds
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")
            time.sleep(0.2)
