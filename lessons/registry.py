"""Finding lessons: the built-in ones (modules `lNN_slug.py` in this package, each defining
`LESSON`), then third-party ones from the entry-point group `stepgrad.lessons`.

A package ships lessons by naming, in its pyproject.toml, an object that is a Lesson or a
list of Lessons (or a zero-argument function returning either):

    [project.entry-points."stepgrad.lessons"]
    my_lessons = "my_package.lessons:LESSONS"

    from stepgrad.lessons.registry import all_lessons, get_lesson
    get_lesson(3).title
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable
from importlib import metadata
from typing import Any

from stepgrad.lessons.base import Lesson

GROUP = "stepgrad.lessons"
_MODULE_NAME = re.compile(r"^l(\d{2})_\w+$")

#: Lessons and problems found by the last discovery (reset with `refresh()`).
_cache: dict[str, Any] = {}


class LessonNotFound(LookupError):
    """No lesson has the number asked for."""


def builtin_modules() -> list[str]:
    """The module names of the built-in lessons, in order (`l01_chain_rule`, ...)."""
    import stepgrad.lessons as package

    names = [m.name for m in pkgutil.iter_modules(package.__path__) if _MODULE_NAME.match(m.name)]
    return sorted(names)


def builtin_lessons() -> list[Lesson]:
    """The lessons shipped with stepgrad, by number."""
    lessons = []
    for name in builtin_modules():
        module = importlib.import_module(f"stepgrad.lessons.{name}")
        lesson = getattr(module, "LESSON", None)
        if not isinstance(lesson, Lesson):
            raise TypeError(f"stepgrad.lessons.{name} must define LESSON = Lesson(...)")
        lessons.append(lesson)
    return sorted(lessons, key=lambda lesson: lesson.number)


def _as_lessons(value: Any) -> list[Lesson]:
    if callable(value) and not isinstance(value, Lesson):
        value = value()
    if isinstance(value, Lesson):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        items = list(value)
        if all(isinstance(item, Lesson) for item in items):
            return items
    raise TypeError(f"expected a Lesson or a list of Lessons, got {type(value).__name__}")


def plugin_lessons(taken: Iterable[int] = ()) -> tuple[list[Lesson], list[str]]:
    """Lessons from the `stepgrad.lessons` entry points, and a line per one that was skipped.

    A broken entry point, or a lesson whose number is already taken, is skipped with a
    message rather than stopping stepgrad.
    """
    numbers, lessons, problems = set(taken), [], []
    for entry in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        where = f"entry point {entry.name!r} ({entry.value})"
        try:
            found = _as_lessons(entry.load())
        except Exception as error:  # a third-party bug must not stop the debugger
            problems.append(f"{where}: could not load: {type(error).__name__}: {error}")
            continue
        for lesson in sorted(found, key=lambda item: item.number):
            if lesson.number in numbers:
                problems.append(f"{where}: lesson {lesson.number} ({lesson.title}) skipped: "
                                f"number {lesson.number} is already taken")
                continue
            numbers.add(lesson.number)
            lessons.append(lesson)
    return sorted(lessons, key=lambda lesson: lesson.number), problems


def _discover() -> dict[str, Any]:
    if not _cache:
        builtin = builtin_lessons()
        plugins, problems = plugin_lessons(lesson.number for lesson in builtin)
        _cache.update(lessons=builtin + plugins, problems=problems)
    return _cache


def refresh() -> None:
    """Forget what was discovered (after installing a lesson package, or in tests)."""
    _cache.clear()


def all_lessons() -> list[Lesson]:
    """Every lesson: the built-in ones by number, then third-party ones by number."""
    return list(_discover()["lessons"])


def problems() -> list[str]:
    """Messages about third-party lessons that could not be loaded or were skipped."""
    return list(_discover()["problems"])


def get_lesson(number: int | str) -> Lesson:
    """The lesson numbered `number`; a clear error lists the valid numbers."""
    lessons = all_lessons()
    valid = ", ".join(str(lesson.number) for lesson in lessons)
    try:
        wanted = int(number)
    except (TypeError, ValueError):
        raise LessonNotFound(f"lesson number must be a whole number, got {number!r}; "
                             f"the lessons are {valid}") from None
    for lesson in lessons:
        if lesson.number == wanted:
            return lesson
    raise LessonNotFound(f"there is no lesson {wanted}; the lessons are {valid} "
                         f"(`stepgrad lessons` lists them)")


__all__ = ["GROUP", "LessonNotFound", "all_lessons", "builtin_lessons", "builtin_modules",
           "get_lesson", "plugin_lessons", "problems", "refresh"]
