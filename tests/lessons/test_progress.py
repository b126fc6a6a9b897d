"""The progress file: where it lives, atomic writes, crashes mid-write, corrupt files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stepgrad.lessons.progress import FILENAME, Progress, ProgressError, data_dir
from stepgrad.lessons.registry import get_lesson

LESSON = get_lesson(1)


def test_data_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "home"
    monkeypatch.delenv("STEPGRAD_HOME")
    assert data_dir() == tmp_path / "xdg" / "stepgrad"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == tmp_path / ".local" / "share" / "stepgrad"
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path / "home"))
    assert Progress().path == tmp_path / "home" / FILENAME


def test_progress_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "sub" / FILENAME
    progress = Progress.load(path)
    assert progress.solved(LESSON) == set() and not path.exists()
    assert progress.record_hint(LESSON, "mul-swapped") == 1
    assert progress.record_hint(LESSON, "mul-swapped") == 2
    progress.record_attempt(LESSON, "mul-swapped", correct=False)
    progress.record_attempt(LESSON, "mul-swapped", correct=True)
    again = Progress.load(path)
    assert again.solved(LESSON) == {"mul-swapped"}
    assert again.hints_used(LESSON, "mul-swapped") == 2
    assert again.attempts(LESSON, "mul-swapped") == 2
    assert again.summary(LESSON) == "1/2 bugs found"
    assert json.loads(path.read_text())["version"] == 1
    assert [p.name for p in path.parent.iterdir()] == [FILENAME]  # no temporary left


def test_reset_forgets_one_lesson_or_all(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    progress = Progress.load(path)
    progress.mark_solved(LESSON, "mul-swapped")
    progress.mark_solved(get_lesson(2), "not-zeroed")
    progress.reset(LESSON)
    assert Progress.load(path).solved(LESSON) == set()
    assert Progress.load(path).solved(get_lesson(2)) == {"not-zeroed"}
    progress.reset()
    assert Progress.load(path).lessons == {}


def test_a_failed_replace_leaves_the_old_file_whole(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / FILENAME
    progress = Progress.load(path)
    progress.mark_solved(LESSON, "mul-swapped")
    before = path.read_bytes()

    def crash(src: str, dst: str) -> None:
        raise OSError("disk pulled out mid-write")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(ProgressError, match="could not save progress"):  # autosave says so
        progress.record_hint(LESSON, "add-one-input")
    with pytest.raises(OSError):
        progress.save()
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [FILENAME]
    assert Progress.load(path).solved(LESSON) == {"mul-swapped"}


def test_killed_mid_write_leaves_a_readable_file(tmp_path: Path) -> None:
    """A writer killed (SIGKILL) while the temporary file is being written: the progress
    file still holds the last complete save."""
    path = tmp_path / FILENAME
    Progress.load(path).mark_solved(LESSON, "mul-swapped")
    script = textwrap.dedent(f"""
        import os, sys, time
        from stepgrad.lessons.progress import Progress
        from stepgrad.lessons.registry import get_lesson
        real_fsync = os.fsync
        def slow_fsync(fd):
            print("writing", flush=True)
            time.sleep(30)             # killed here: the temporary file is half done
            real_fsync(fd)
        os.fsync = slow_fsync
        p = Progress.load({str(path)!r})
        p.lessons["01_chain_rule"]["junk"] = "x" * 100000
        p.record_hint(get_lesson(1), "add-one-input")
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    again = Progress.load(path)
    assert again.messages == []
    assert again.solved(LESSON) == {"mul-swapped"}
    assert again.hints_used(LESSON, "add-one-input") == 0


@pytest.mark.parametrize("content", ["{not json", '{"lessons": [1, 2]}', '"just a string"', ""])
def test_a_corrupt_file_is_set_aside_with_a_message(tmp_path: Path, content: str) -> None:
    path = tmp_path / FILENAME
    path.write_text(content)
    progress = Progress.load(path)
    assert progress.lessons == {}
    assert len(progress.messages) == 1 and "is damaged" in progress.messages[0]
    aside = [p for p in tmp_path.iterdir() if p.name.startswith(f"{FILENAME}.damaged-")]
    assert len(aside) == 1 and aside[0].read_text() == content
    assert not path.exists()
    progress.mark_solved(LESSON, "mul-swapped")  # and it works afresh
    assert Progress.load(path).solved(LESSON) == {"mul-swapped"}


def test_an_unreadable_directory_is_a_message_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    progress = Progress.load(blocker / FILENAME)  # its parent is a file
    with pytest.raises(ProgressError, match="could not save progress"):
        progress.mark_solved(LESSON, "mul-swapped")


def test_guesses_fixes_and_predictions_are_kept_and_shown(tmp_path) -> None:
    from stepgrad.lessons.cli import lessons_table
    from stepgrad.lessons.registry import get_lesson

    lesson = get_lesson(6)
    progress = Progress.load(tmp_path / "progress.json")
    progress.record_attempt(lesson, "no-zero-grad", correct=True, looked=False)
    progress.mark_fixed(lesson, "update-adds-grad")
    progress.record_prediction(lesson, right=True)
    progress.record_prediction(lesson, right=False)
    again = Progress.load(tmp_path / "progress.json")
    assert again.guessed(lesson) == {"no-zero-grad"}
    assert again.fixed(lesson) == {"update-adds-grad"} and again.quiz(lesson) == (1, 2)
    row = next(line for line in lessons_table(again).splitlines() if line.lstrip().startswith("6 "))
    assert "?✎○" in row and "1/3 bugs found, 1 guessed, predictions 1/2 right" in row
