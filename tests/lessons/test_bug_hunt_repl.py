"""A whole bug hunt the way a learner does it: `stepgrad lesson 3 --repl` fed from a pipe
(step, break, inspect, gradcheck, diagnose) to the solved message, saved in the progress."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.lesson(3)

HUNT = """\
step
break backward linear
continue
info
predict skip
predict skip
info
gradcheck
p grads[2]
p grad.sum(axis=0)
diagnose linear forward
diagnose linear backward bias
quit
"""


def test_lesson_3_bug_hunt_from_a_pipe(tmp_path) -> None:
    env = {**os.environ, "STEPGRAD_HOME": str(tmp_path), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "stepgrad", "lesson", "3", "--repl"],
                          input=HUNT, capture_output=True, text=True, timeout=120, env=env)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "(breakpoint 1 (backward linear))" in out
    assert "hidden until you answer" in out                 # the step's question comes first
    assert "Skipped" in out
    assert "grads[2] (bias)" in out                         # info names the bias gradient
    assert "gradcheck linear_1 (linear): MISMATCH" in out
    assert "d out / d input 2" in out                       # ...on the bias, input 2
    assert "Close, but not quite: which phase" in out       # the wrong phase is refused
    assert "Solved! the bias gradient takes the first row" in out
    assert "Traceback" not in out + done.stderr
    progress = json.loads((tmp_path / "progress.json").read_text())
    assert progress["lessons"]["03_linear_layer"]["solved"] == ["bias-first-row"]
