"""progress.json that is damaged, saves that fail, and temporaries left by killed writes.

The corpus is generated here (no binary blobs): each damaged file must be set aside as
`progress.json.damaged-<time>` with exactly one message, and stepgrad must start afresh.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest

from stepgrad import cli
from stepgrad.debug import Commands, Session
from stepgrad.lessons.progress import FILENAME, Progress, ProgressError
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor

LESSON = get_lesson(1)
GOOD_ENTRY = {"solved": ["mul-swapped"], "hints": {"mul-swapped": 2}, "attempts": {}}


def _file(lessons: object) -> bytes:
    return json.dumps({"version": 1, "lessons": lessons}).encode()


def _with(**fields: object) -> bytes:
    return _file({"01_chain_rule": {**GOOD_ENTRY, **fields}})


DAMAGED = {
    "invalid utf-8": b'{"lessons": {"\xff\xfe": {}}}',
    "solved is a number": _with(solved=5),
    "solved holds numbers": _with(solved=[1, 2]),
    "hints is a list": _with(hints=[]),
    "hint count is text": _with(hints={"mul-swapped": "x"}),
    "hint count is Infinity": b'{"lessons": {"01_chain_rule": {"hints": {"b": Infinity}}}}',
    "hint count is NaN": b'{"lessons": {"01_chain_rule": {"hints": {"b": NaN}}}}',
    "hint count is negative": _with(hints={"mul-swapped": -1}),
    "hint count is a float": _with(hints={"mul-swapped": 1.5}),
    "hint count is true": _with(hints={"mul-swapped": True}),
    "attempts is text": _with(attempts="many"),
    "a lesson is a list": _file({"01_chain_rule": []}),
    "lessons is a list": _file([1, 2]),
    "no lessons": b'{"version": 1}',
    "top is a string": b'"just a string"',
    "empty": b"",
    "not json": b"{not json",
    "deeply nested": b'{"lessons": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "a 5000-digit count": b'{"lessons": {"x": {"hints": {"b": ' + b"9" * 5000 + b"}}}}",
}


@pytest.fixture(params=sorted(DAMAGED), ids=sorted(DAMAGED))
def damaged_progress(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, bytes]:
    """One damaged progress.json from the corpus, written into a fresh data directory."""
    content = DAMAGED[request.param]
    path = tmp_path / FILENAME
    path.write_bytes(content)
    return path, content


def test_a_damaged_file_is_set_aside_with_one_message(damaged_progress: tuple[Path, bytes]) -> None:
    path, content = damaged_progress
    progress = Progress.load(path)
    assert progress.lessons == {}
    assert len(progress.messages) == 1 and "is damaged" in progress.messages[0]
    assert "\n" not in progress.messages[0] and len(progress.messages[0]) < 400
    aside = list(path.parent.glob(f"{FILENAME}.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == content and not path.exists()
    progress.mark_solved(LESSON, "mul-swapped")  # and stepgrad goes on afresh
    assert Progress.load(path).solved(LESSON) == {"mul-swapped"}


def test_stepgrad_lessons_starts_with_a_damaged_file(
    damaged_progress: tuple[Path, bytes], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STEPGRAD_HOME", str(damaged_progress[0].parent))
    assert cli.main(["lessons"]) == 0
    out, err = capsys.readouterr()
    assert "is damaged" in err and LESSON.title[:20] in out


def test_two_damaged_files_in_one_second_are_both_kept(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    for content in (b"first", b"second"):
        path.write_bytes(content)
        Progress.load(path)
    kept = sorted(p.read_bytes() for p in tmp_path.glob(f"{FILENAME}.damaged-*"))
    assert kept == [b"first", b"second"]


def test_a_valid_file_keeps_fields_this_version_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    path.write_bytes(_with(notes="from a newer stepgrad"))
    progress = Progress.load(path)
    assert progress.messages == [] and progress.hints_used(LESSON, "mul-swapped") == 2
    progress.record_hint(LESSON, "mul-swapped")
    assert json.loads(path.read_text())["lessons"]["01_chain_rule"]["notes"] == (
        "from a newer stepgrad")


def _full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)


def test_a_failed_save_raises_one_clear_line_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / FILENAME
    Progress.load(path).mark_solved(LESSON, "mul-swapped")
    before = path.read_bytes()
    _full_disk(monkeypatch)
    with pytest.raises(ProgressError, match=r"^could not save progress: No space left"):
        Progress.load(path).record_hint(LESSON, "add-one-input")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [FILENAME]


def test_a_data_directory_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ProgressError, match="could not save progress"):
        Progress.load(tmp_path / "file" / FILENAME).mark_solved(LESSON, "mul-swapped")


def test_diagnose_never_says_solved_when_nothing_was_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bug = LESSON.bugs[0]
    tutor = Tutor(LESSON, bug, Progress.load(tmp_path / FILENAME))
    tutor.looked = True  # a find, not a guess
    commands = Commands(Session(None, name="progress test"), tutor=tutor)
    _full_disk(monkeypatch)
    text = commands.run(f"diagnose {bug.answers[0]}")
    assert "could not save progress" in text and "Solved" not in text
    monkeypatch.undo()
    assert "Solved" in commands.run(f"diagnose {bug.answers[0]}")
    assert Progress.load(tmp_path / FILENAME).is_solved(LESSON, bug.id)


def test_lessons_reset_says_when_it_cannot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path))
    Progress.load(tmp_path / FILENAME).mark_solved(LESSON, "mul-swapped")
    _full_disk(monkeypatch)
    assert cli.main(["lessons", "--reset"]) == 1
    out, err = capsys.readouterr()
    assert "forgotten" not in out and "could not save progress" in err
    monkeypatch.undo()
    assert Progress.load(tmp_path / FILENAME).is_solved(LESSON, "mul-swapped")


def test_stale_temporaries_are_removed_and_fresh_ones_kept(tmp_path: Path) -> None:
    stale = [tmp_path / f".{FILENAME}.k{i}x.tmp" for i in range(3)]
    fresh = tmp_path / f".{FILENAME}.busy.tmp"
    other = tmp_path / "notes.tmp"
    for temporary in [*stale, fresh, other]:
        temporary.write_text("{half")
    an_hour_ago = time.time() - 3600
    for temporary in [*stale, other]:
        os.utime(temporary, (an_hour_ago, an_hour_ago))
    Progress.load(tmp_path / FILENAME)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, other.name])


def test_a_lesson_starts_with_a_damaged_progress_file(tmp_path: Path) -> None:
    """`stepgrad lesson 4` (not only `lessons`): one message, then the debugger runs."""
    import subprocess
    import sys

    (tmp_path / FILENAME).write_bytes(DAMAGED["hint count is Infinity"])
    done = subprocess.run(
        [sys.executable, "-m", "stepgrad", "lesson", "4", "--repl"], input="where\nq\n",
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "STEPGRAD_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("is damaged") == 1 and "Traceback" not in done.stderr
    assert "#" in done.stdout  # the debugger showed where it is
    assert len(list(tmp_path.glob(f"{FILENAME}.damaged-*"))) == 1
