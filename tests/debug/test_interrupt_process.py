"""Ctrl-C in a real process (issue 9): `stepgrad debug busy.py --repl` on a program that
emits no events pauses at SIGINT, shows its variables, and quits at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

BUSY = """\
import stepgrad as sg
x = sg.tensor([1.0, 2.0], name="x") * 2
spins = 0
while True:
    spins += 1
"""


class Output:
    """Collects a process's output in a thread, so the test can wait for a marker."""

    def __init__(self, stream) -> None:
        self.text = ""
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for chunk in iter(lambda: stream.read(1), ""):
            self.text += chunk

    def wait_for(self, marker: str, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while marker not in self.text:
            if time.monotonic() > end:
                raise AssertionError(f"no {marker!r} in:\n{self.text}")
            time.sleep(0.05)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_pauses_a_program_without_events_and_quit_ends_it(tmp_path):
    (tmp_path / "busy.py").write_text(BUSY)
    process = subprocess.Popen(
        [sys.executable, "-m", "stepgrad", "debug", "busy.py", "--repl"],
        cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "NO_COLOR": "1"},
    )
    output = Output(process.stdout)
    try:
        output.wait_for("#0 forward  mul_1")
        process.stdin.write("continue\n")
        process.stdin.flush()
        output.wait_for("continue")
        time.sleep(0.5)  # the program is spinning in `while True`
        process.send_signal(signal.SIGINT)
        output.wait_for("(interrupted between events, at busy.py:")
        process.stdin.write("p spins > 0\np exit(5)\nquit\n")
        process.stdin.flush()
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    output.wait_for("Bye.")
    assert "True\n" in output.text and "*** SystemExit: 5" in output.text
    assert "Traceback" not in output.text
