"""Fix it yourself: `fix` writes the code at fault, `fix check` judges the learner's file.

For every op bug: the shipped code written into the file is healthy (and counted as fixed),
the bug written back is not (the element that fails, or the missed target); a file that
raises, has a syntax error, returns a wrong shape or never finishes gets one clear line."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from stepgrad.lessons import fixing
from stepgrad.lessons.base import pristine
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor

OP_BUGS = [pytest.param(n, bug.id, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}-{bug.id}")
           for n in range(1, 12) for bug in get_lesson(n).bugs if bug.kind == "op"]
# bugs in a forward that float64 finite differences cannot see: training shows them
FORWARD_ONLY = {"softmax-no-max", "dropout-not-rescaled"}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path))
    return tmp_path


def shipped(op: str, phases: list[str]) -> str:
    """The op's code as stepgrad ships it, as a learner would type it into the file."""
    parts = ["import numpy as np\n"]
    for phase in phases:
        lines = inspect.getsourcelines(pristine(op, phase))[0]
        lines = [line for line in lines if not line.strip().startswith("@")]
        indent = len(lines[0]) - len(lines[0].lstrip())
        parts.append("".join(line[indent:] for line in lines))
    return "\n\n".join(parts)


def _tutor(n: int, bug_id: str, home: Path) -> tuple[Tutor, Path]:
    tutor = Tutor(get_lesson(n), bug_id, Progress.load(home / "progress.json"))
    tutor.reveal()  # `fix` comes after the bug is found (its file would give it away)
    message = tutor.fix()
    path = Path(message.split(" is in ")[1].split()[0])
    assert path.exists() and str(home) in str(path)
    return tutor, path


@pytest.mark.parametrize(("n", "bug_id"), OP_BUGS)
def test_the_shipped_code_is_healthy_and_the_bug_is_not(n: int, bug_id: str, home: Path) -> None:
    tutor, path = _tutor(n, bug_id, home)
    broken = path.read_text()
    bug = tutor.bug
    path.write_text(shipped(bug.op, fixing.broken_phases(bug)))
    verdict = tutor.fix_check()
    assert verdict.startswith("Healthy!"), verdict
    assert "with the bug" in verdict and "your code" in verdict   # next to the buggy curve
    assert tutor.progress.fixed(tutor.lesson) == {bug_id}
    assert tutor.progress.is_solved(tutor.lesson, bug_id)

    path.write_text(broken)
    verdict = tutor.fix_check()
    assert not verdict.startswith("Healthy"), verdict
    if bug_id in FORWARD_ONLY:
        assert "misses the target" in verdict, verdict
    else:
        assert "element [" in verdict and "finite differences give" in verdict, verdict


# loop and init bugs: the function at fault, and the edit a learner makes to fix it
CODE_FIXES = {
    (4, "dead-relu-init"): ("sg.nn.init.constant_(layer.bias, -3.0)",
                            "sg.nn.init.constant_(layer.bias, 0.0)"),
    (7, "adam-no-bias-correction"): ("bias_correction1, bias_correction2 = 1.0, 1.0",
                                     "bias_correction1, bias_correction2 = 1 - b1**t, 1 - b2**t"),
    (8, "init-all-zero"): ("nn.init.zeros_(layer.weight)", "pass"),
    (11, "dropout-active-in-eval"): ("F.dropout(x, self.p)", "F.dropout(x, self.p, self.training)"),
}


@pytest.mark.parametrize(("n", "bug_id"), [pytest.param(n, b, marks=pytest.mark.lesson(n),
                                                        id=f"lesson{n:02d}-{b}")
                                           for n, b in CODE_FIXES])
def test_a_loop_or_init_function_can_be_fixed_too(n: int, bug_id: str, home: Path) -> None:
    tutor, path = _tutor(n, bug_id, home)
    broken = path.read_text()
    wrong, right = CODE_FIXES[(n, bug_id)]
    assert wrong in broken and "BUG" not in broken
    path.write_text(broken.replace(wrong, right))
    verdict = tutor.fix_check()
    assert verdict.startswith("Healthy! Training with your"), verdict
    assert tutor.progress.fixed(tutor.lesson) == {bug_id}
    path.write_text(broken)
    assert "misses the target" in tutor.fix_check()


def test_the_file_survives_a_rerun_until_fix_reset(home: Path) -> None:
    tutor, path = _tutor(4, "relu-times-activation", home)
    path.write_text("# my work\n" + path.read_text())
    again = revealed(Tutor(get_lesson(4), "relu-times-activation", Progress(autosave=False)))
    again = again.fix()
    assert "kept from before" in again and path.read_text().startswith("# my work")
    assert "again" in tutor.fix_reset() and not path.read_text().startswith("# my work")


@pytest.mark.parametrize(("text", "said"), [
    ("import numpy as np\ndef forward(ctx, a):\n    ctx.mask = a > 0\n    return a * ctx.mask\n"
     "def backward(ctx, grad):\n    raise ValueError('oops')\n",
     "raised ValueError (line 6 of your file): oops"),
    ("def backward(ctx, grad:\n    return grad\n", "syntax error at line 1"),
    ("raise RuntimeError('at import')\n", "raises RuntimeError when it is loaded (line 1"),
    ("import numpy as np\ndef forward(ctx, a):\n    ctx.mask = a > 0\n    return a * ctx.mask\n"
     "def backward(ctx, grad):\n    return (grad.T,)\n", "shape (32, 16)"),
    ("def forward(ctx, a):\n    return a\n", "must define backward(ctx, ...)"),
])
def test_a_broken_file_gets_one_clear_line(text: str, said: str, home: Path) -> None:
    tutor, path = _tutor(4, "relu-times-activation", home)
    path.write_text(text)
    verdict = tutor.fix_check()
    assert said in verdict and "Traceback" not in verdict, verdict
    assert not tutor.progress.fixed(tutor.lesson)


def test_a_file_that_never_finishes_is_stopped(home: Path, monkeypatch) -> None:
    monkeypatch.setattr(fixing, "TIME_LIMIT", 8.0)
    tutor, path = _tutor(1, "add-one-input", home)
    path.write_text("while True:\n    pass\n")
    assert "did not finish within 8 s" in tutor.fix_check()


def test_fix_needs_a_bug_and_every_bug_of_lessons_1_to_11_can_be_fixed() -> None:
    assert "healthy" in Tutor(get_lesson(4), None).fix()
    without = [(n, bug.id) for n in range(1, 12) for bug in get_lesson(n).bugs
               if not (bug.kind == "op" and bug.op) and bug.code is None]
    assert without == []  # loop settings too: tests/lessons/test_fix_loop_settings.py
    said = revealed(Tutor(get_lesson(6), "no-zero-grad", Progress(autosave=False))).fix()
    assert "The code at fault is in" in said, said


def revealed(tutor: Tutor) -> Tutor:
    tutor.reveal()
    return tutor


def test_fix_waits_until_the_bug_is_found(home: Path) -> None:
    """The file `fix` writes names the code at fault (and its file name the bug): before a
    right diagnosis or `reveal` it is refused, and nothing is written."""
    tutor = Tutor(get_lesson(4), "relu-times-activation", Progress.load(home / "progress.json"))
    for said in (tutor.fix(), tutor.fix_check(), tutor.fix_reset()):
        assert said.startswith("Find the bug first") and "`diagnose` it" in said, said
    assert not (home / "fixes").exists()
    solved, said = tutor.diagnose("relu backward multiplies by the activation")
    assert solved and "guess" in said  # right, if before any evidence: the learner knows it
    assert "The code at fault is in" in tutor.fix()
