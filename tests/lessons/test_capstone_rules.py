"""The capstone's rules: its bug is a mystery drawn at random by default, and `fixed` may
compare with a healthy run only after two hints (or once the bug is solved or revealed)."""

from __future__ import annotations

import argparse

import pytest

from stepgrad.lessons.cli import choose_bug
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor

pytestmark = pytest.mark.lesson(12)


def _args(**given) -> argparse.Namespace:
    return argparse.Namespace(**{"no_bug": False, "bug": None, "mystery": False, "seed": 0,
                                 **given})


def test_the_capstone_draws_its_bug_at_random(tmp_path) -> None:
    lesson = get_lesson(12)
    progress = Progress.load(tmp_path / "progress.json")
    drawn = {choose_bug(lesson, _args(), progress).id for _ in range(40)}
    assert len(drawn) > 3  # 40 draws from 20 bugs: never the same one every time
    assert choose_bug(lesson, _args(no_bug=True), progress) is None
    chosen = lesson.bugs[3].id
    assert choose_bug(lesson, _args(bug=chosen), progress).id == chosen


def test_other_lessons_take_the_next_unsolved_bug(tmp_path) -> None:
    lesson = get_lesson(4)
    progress = Progress.load(tmp_path / "progress.json")
    assert choose_bug(lesson, _args(), progress) is lesson.bugs[0]
    progress.mark_solved(lesson, lesson.bugs[0].id)
    assert choose_bug(lesson, _args(), progress) is lesson.bugs[1]


def test_fixed_waits_for_two_hints_in_the_capstone(tmp_path) -> None:
    lesson = get_lesson(12)
    tutor = Tutor(lesson, lesson.bugs[0], Progress.load(tmp_path / "progress.json"))
    assert tutor.fixed().startswith("Not yet: this lesson lets you compare")
    tutor.hint()
    assert "take 1 more" in tutor.fixed()
    tutor.hint()
    report = tutor.fixed()
    assert not report.startswith("Not yet") and "fixed" in report


def test_reveal_lifts_the_wait(tmp_path) -> None:
    lesson = get_lesson(12)
    tutor = Tutor(lesson, lesson.bugs[1], Progress.load(tmp_path / "progress.json"))
    tutor.reveal()
    assert not tutor.fixed().startswith("Not yet")


def test_capstone_draws_from_every_lesson() -> None:
    from stepgrad.lessons import l12_capstone as capstone

    lesson = get_lesson(12)
    assert set(capstone.ORIGIN.values()) == set(range(1, 12))
    assert set(capstone.ORIGIN) == {bug.id for bug in lesson.bugs}
    catalogue = {bug.id for n in range(1, 12) for bug in get_lesson(n).bugs}
    assert set(capstone.EXCLUDED) <= catalogue and set(capstone.INCLUDED) <= catalogue
    for bug in lesson.bugs:
        assert bug.hints[:2] == capstone.GENERAL_HINTS and len(bug.hints) > 2
        assert bug.symptom == capstone.SYMPTOM
        if bug.kind == "op":
            assert bug.op in capstone.CAPSTONE_OPS


def test_capstone_lets_the_learner_compare_after_two_hints() -> None:
    lesson = get_lesson(12)
    assert lesson.compare_after_hints == 2 and lesson.mystery
    assert not lesson.may_compare(0) and not lesson.may_compare(1) and lesson.may_compare(2)
    assert lesson.draw(3) is lesson.draw(3) and lesson.draw(3) in lesson.bugs
    assert len({lesson.draw(seed).id for seed in range(50)}) > 5


def test_capstone_diagnosis() -> None:
    lesson = get_lesson(12)
    tutor = Tutor(lesson, "col2im-overwrites", Progress(autosave=False))
    assert not tutor.diagnose("relu backward")[0]
    assert not tutor.diagnose("zero grad")[0]
    assert tutor.diagnose("col2im")[0]
    tutor = Tutor(lesson, "not-zeroed", Progress(autosave=False))
    assert not tutor.diagnose("adam bias correction")[0]
    assert tutor.diagnose("zero_grad")[0]
