"""Fix it yourself, for the four bugs that live in a lesson's own training loop: lesson 2's
iteration and lesson 6's step and learning rate per epoch (`training.LoopPart`).

For each: `fix` (through Commands, paused inside the buggy lesson) writes the function as
the debugger shows it, with nothing that names the bug; the shipped correct code written
into the file is healthy, trains exactly as the healthy lesson does, and counts as fixed;
the bug written back is not healthy and names the metric that missed; a file that raises,
returns the wrong thing, skips the measurement or never defines the function gets one
clear line. The capstone, whose loop has no such part, does not offer `fix` for them."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stepgrad.debug import Commands, Session
from stepgrad.lessons import fixing, l02_fan_out, l06_training_loop, training
from stepgrad.lessons.fixcheck import FixError, load, train_with
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor

# (lesson, bug): the shipped correct function, the metric a broken one misses, and words of
# the bug's title or its buggy function's own name that the learner's file must not show
CORRECT_RATE = "def learning_rate(base_lr, epoch):\n    return base_lr * GAMMA ** epoch\n"
CASES = {
    (2, "not-zeroed"): (inspect.getsource(l02_fan_out.iteration), "test_mse",
                        ("full_step", "zeroed", "accumulat")),
    (6, "no-zero-grad"): (inspect.getsource(training.train_step), "test_accuracy",
                          ("zero", "pile")),
    (6, "update-adds-grad"): (CORRECT_RATE, "test_accuracy", ("adds", "ascent", "sign")),
    (6, "lr-explodes"): (CORRECT_RATE, "test_accuracy", ("epoch_rate", "explod", "2.5 each")),
}
PARAMS = [pytest.param(n, bug, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}-{bug}")
          for n, bug in CASES]


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path))
    return tmp_path


def header(text: str) -> str:
    """The fix file's lines before its function (the docstring and the imports)."""
    return text[: text.index("\ndef ") + 1]


def checked(commands: Commands, path: Path, text: str) -> str:
    path.write_text(text)
    return commands.run("fix check")


@pytest.mark.parametrize(("n", "bug_id"), PARAMS)
def test_fix_through_commands_shipped_code_heals_and_the_bug_does_not(n: int, bug_id: str,
                                                                        home: Path) -> None:
    shipped, metric, giveaways = CASES[(n, bug_id)]
    tutor = Tutor(get_lesson(n), bug_id, Progress.load(home / "progress.json"))
    session = Session(tutor.program(), name=f"lesson {n}")
    commands = Commands(session, tutor=tutor)
    session.start()
    try:
        commands.run("step")  # paused inside the buggy run: its bug is in place here
        commands.run("reveal")  # `fix` comes after the bug is found
        said = commands.run("fix")
        assert "The code at fault is in" in said, said
        path = Path(said.split(" is in ")[1].split()[0])
        broken = path.read_text()
        name = tutor.bug.code.name
        assert f"\ndef {name}(" in broken and "BUG" not in broken
        assert not any(word in broken.lower() for word in giveaways), broken

        healed = checked(commands, path, header(broken) + shipped)
        assert healed.startswith(f"Healthy! Training with your {name} reaches the target"), healed
        assert "with the bug" in healed and "your code" in healed  # next to the buggy curve
        assert tutor.progress.fixed(tutor.lesson) == {bug_id}

        again = checked(commands, path, broken)
        assert not again.startswith("Healthy") and "misses the target" in again, again
        assert f"{metric} " in again.splitlines()[0], again          # the metric that missed
        path.write_text(header(broken) + shipped)
        assert "again" in commands.run("fix reset") and path.read_text() == broken
        assert "Traceback" not in healed + again
    finally:
        session.close()


@pytest.mark.parametrize(("n", "bug_id"), PARAMS)
def test_the_shipped_code_trains_exactly_as_the_healthy_lesson(n: int, bug_id: str,
                                                                  tmp_path: Path) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    shipped = CASES[(n, bug_id)][0]
    path = tmp_path / "fix.py"
    path.write_text("from __future__ import annotations\n\n" + shipped)
    with_fix, _ = train_with(lesson, bug, load(bug, path), 0, path)
    healthy = lesson.run(None, 0)
    assert with_fix.losses == healthy.losses and with_fix.grad_norms == healthy.grad_norms
    path.write_text(fixing.code_at_fault(lesson, bug))  # the broken code as `fix` writes it
    with_bug, _ = train_with(lesson, bug, load(bug, path), 0, path)
    buggy = lesson.run(bug_id, 0)
    assert [repr(x) for x in with_bug.losses] == [repr(x) for x in buggy.losses]


@pytest.mark.parametrize(("n", "bug_id"), PARAMS)
def test_the_bug_runs_the_code_fix_shows(n: int, bug_id: str) -> None:
    """`fix` writes the code that runs now: the bug puts its Code's function in the part."""
    bug = get_lesson(n).bug(bug_id)
    part = l02_fan_out.ITERATION if n == 2 else (
        l06_training_loop.STEP if bug_id == "no-zero-grad" else l06_training_loop.LEARNING_RATE)
    assert part.current() is None
    with bug.inject():
        assert part.current() is bug.code.function
    assert part.current() is None


# what a learner's file may do wrong, and the one line that says so
BROKEN = {
    "raises": ("{signature}\n    raise ValueError('oops')\n",
               "Training with your code raised ValueError (line {line} of your file): oops"),
    "returns": ("{signature}\n    return None\n", "returns None, not a number"),
    "misnamed": ("def something_else():\n    return 1.0\n", "must define {name}({arguments})"),
    "load": ("{signature}\n    return 1.0\nundefined_name\n", "raises NameError when it is loaded"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
@pytest.mark.parametrize(("n", "bug_id"), PARAMS)
def test_a_broken_file_gets_one_clear_line(n: int, bug_id: str, kind: str, home: Path) -> None:
    tutor = Tutor(get_lesson(n), bug_id, Progress(autosave=False))
    tutor.reveal()
    path = Path(tutor.fix().split(" is in ")[1].split()[0])
    code = tutor.bug.code
    arguments = ", ".join(inspect.signature(code.function).parameters)
    text, said = BROKEN[kind]
    top = header(path.read_text())
    body = text.format(signature=f"def {code.name}({arguments}):")
    path.write_text(top + body)
    line = top.count("\n") + 2
    verdict = tutor.fix_check()
    assert said.format(line=line, name=code.name, arguments=arguments) in verdict, verdict
    assert len(verdict.splitlines()) == 1 and "Traceback" not in verdict
    assert not tutor.progress.fixed(tutor.lesson)


@pytest.mark.parametrize(("n", "bug_id"), [(2, "not-zeroed"), (6, "no-zero-grad")])
def test_an_iteration_that_skips_the_measurement_is_told(n: int, bug_id: str,
                                                         home: Path) -> None:
    tutor = Tutor(get_lesson(n), bug_id, Progress(autosave=False))
    tutor.reveal()
    path = Path(tutor.fix().split(" is in ")[1].split()[0])
    path.write_text("\n".join(line for line in path.read_text().splitlines()
                              if not line.strip().startswith("before_update(")) + "\n")
    verdict = tutor.fix_check()
    assert "must call before_update" in verdict and len(verdict.splitlines()) == 1, verdict


def test_a_function_that_never_runs_cannot_be_judged(tmp_path: Path) -> None:
    lesson = get_lesson(6)
    bug = lesson.bug("no-zero-grad")
    path = tmp_path / "fix.py"
    path.write_text("def train_step(*args):\n    return 1.0\n")
    other = get_lesson(3)  # a lesson whose loop never reads lesson 6's part
    with pytest.raises(FixError, match="Cannot tell: training never called your train_step"):
        train_with(other, bug, load(bug, path), 0, path)


def test_the_capstone_does_not_offer_fix_for_a_lessons_own_loop(home: Path) -> None:
    capstone = get_lesson(12)
    for bug_id in ("not-zeroed", "update-adds-grad", "lr-explodes"):
        assert capstone.bug(bug_id).code is None
        tutor = Tutor(capstone, bug_id, Progress(autosave=False))
        tutor.reveal()
        assert "not code you can rewrite here" in tutor.fix()
    assert not (home / "fixes").exists()
    assert capstone.bug("adam-no-bias-correction").code is not None  # a portable one stays


@pytest.mark.lesson(6)
def test_fix_check_through_the_piped_repl(home: Path) -> None:
    """The learner's file (kept from before) is checked from `stepgrad lesson 6 --repl`."""
    lesson = get_lesson(6)
    bug = lesson.bug("update-adds-grad")
    path = fixing.fix_path(lesson, bug)
    path.parent.mkdir(parents=True)
    path.write_text(header(fixing.code_at_fault(lesson, bug)) + CORRECT_RATE)
    env = {**os.environ, "STEPGRAD_HOME": str(home), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "stepgrad", "lesson", "6", "--bug",
                           "update-adds-grad", "--repl"], input="reveal\nfix\nfix check\nquit\n",
                          capture_output=True, text=True, timeout=300, env=env)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert "Your fix file (kept from before) is" in out, out[-2000:]
    assert "Healthy! Training with your learning_rate reaches the target" in out, out[-2000:]
    assert "Counted as fixed in your progress." in out and "Traceback" not in out
