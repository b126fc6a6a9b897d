"""Finding lessons: built-in modules lNN_slug.py, then the `stepgrad.lessons` entry points."""

from __future__ import annotations

import os
import sys
import types
from dataclasses import replace
from importlib import metadata

import pytest

from stepgrad.lessons import registry
from stepgrad.lessons.registry import LessonNotFound, all_lessons, get_lesson


@pytest.fixture(autouse=True)
def fresh_registry():
    registry.refresh()
    yield
    registry.refresh()


def third_party(number: int, slug: str = "plugin"):
    from stepgrad.lessons.l01_chain_rule import LESSON as base  # not get_lesson: no discovery

    return replace(base, number=number, slug=slug, title=f"Third-party lesson {number}")


def install(monkeypatch: pytest.MonkeyPatch, **exports) -> list[metadata.EntryPoint]:
    """A fake distribution: a module `fake_lessons_pkg` and entry points naming its objects."""
    module = types.ModuleType("fake_lessons_pkg")
    for name, value in exports.items():
        setattr(module, name, value)
    monkeypatch.setitem(sys.modules, "fake_lessons_pkg", module)
    points = [metadata.EntryPoint(name=name.lower(), value=f"fake_lessons_pkg:{name}",
                                  group=registry.GROUP) for name in exports]
    points.append(metadata.EntryPoint(name="broken", value="no_such_module_xyz:LESSON",
                                      group=registry.GROUP))

    def entry_points(**params):
        assert params == {"group": registry.GROUP}
        return points

    monkeypatch.setattr(registry.metadata, "entry_points", entry_points)
    return points


def test_builtin_lessons_are_found_in_order() -> None:
    numbers = [lesson.number for lesson in all_lessons()]
    assert numbers[:6] == [1, 2, 3, 4, 5, 6]
    assert registry.builtin_modules()[:2] == ["l01_chain_rule", "l02_fan_out"]
    assert get_lesson("3").slug == "linear_layer"


def test_unknown_numbers_name_the_valid_ones() -> None:
    with pytest.raises(LessonNotFound, match=r"there is no lesson 99; the lessons are 1, 2, 3"):
        get_lesson(99)
    with pytest.raises(LessonNotFound, match="whole number"):
        get_lesson("three")


def test_entry_point_lessons_come_after_the_builtin_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, LESSONS=[third_party(42), third_party(41, "other")],
            SINGLE=third_party(50, "single"), MAKE=lambda: third_party(60, "made"),
            CLASH=third_party(1, "clash"), WRONG="not a lesson")
    lessons = all_lessons()
    builtin = len(registry.builtin_lessons())
    assert [lesson.number for lesson in lessons[builtin:]] == [41, 42, 50, 60]
    assert get_lesson(42).title == "Third-party lesson 42"
    assert get_lesson(1).slug == "chain_rule"  # a clash never replaces a built-in lesson
    problems = registry.problems()
    assert any("'clash'" in p and "already taken" in p for p in problems)
    assert any("'broken'" in p and "could not load" in p for p in problems)
    assert any("'wrong'" in p and "expected a Lesson" in p for p in problems)


def test_no_entry_points_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry.metadata, "entry_points", lambda **params: [])
    assert [lesson.number for lesson in all_lessons()] == \
        [lesson.number for lesson in registry.builtin_lessons()]
    assert registry.problems() == []


def test_a_plugin_lesson_runs_through_the_cli_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from stepgrad.lessons.cli import make_tutor
    from stepgrad.lessons.progress import Progress

    install(monkeypatch, LESSONS=[third_party(77)])
    args = argparse.Namespace(bug="add-one-input", no_bug=False, mystery=False, seed=0)
    tutor = make_tutor(77, args, Progress(autosave=False))
    assert tutor.lesson.number == 77 and tutor.bug.id == "add-one-input"
    assert "Lesson 77: Third-party lesson 77" in tutor.text()


def test_a_real_distribution_is_discovered(tmp_path) -> None:
    """A dist-info folder on sys.path with an entry_points.txt, as pip would install it."""
    import subprocess
    import textwrap

    package = tmp_path / "my_lessons_pkg"
    package.mkdir()
    (package / "__init__.py").write_text(textwrap.dedent("""
        from dataclasses import replace
        from stepgrad.lessons.l01_chain_rule import LESSON as _BASE
        LESSON = replace(_BASE, number=101, slug="mine", title="My lesson")
    """))
    info = tmp_path / "my_lessons_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-lessons-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[stepgrad.lessons]\nmine = my_lessons_pkg:LESSON\n")
    code = ("from stepgrad.lessons.registry import all_lessons, get_lesson, problems; "
            "print(get_lesson(101).title, all_lessons()[-1].number, problems())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)},
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "My lesson 101 []"
