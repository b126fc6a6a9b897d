"""`stepgrad lesson N` and `stepgrad lessons`: the lessons' side of the command line.

stepgrad/cli.py parses the arguments and calls `run_lesson(args)` or `list_lessons(args)`.
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import Any

from stepgrad.lessons.base import Bug, Lesson
from stepgrad.lessons.progress import MARKS, Progress
from stepgrad.lessons.registry import LessonNotFound, all_lessons, get_lesson, problems
from stepgrad.lessons.tutor import Tutor, next_bug


def choose_bug(lesson: Lesson, args: argparse.Namespace, progress: Progress) -> Bug | None:
    """--no-bug: none; --bug ID: that one; --mystery (and a mystery lesson such as the
    capstone): one at random; else the next unsolved."""
    if getattr(args, "no_bug", False):
        return None
    if getattr(args, "bug", None):
        return lesson.bug(args.bug)
    if getattr(args, "mystery", False):
        return random.SystemRandom().choice(lesson.bugs)
    if getattr(lesson, "mystery", False):  # the capstone draws its bug at random by default
        return lesson.draw(None)  # type: ignore[attr-defined]
    return next_bug(lesson, progress)


def make_tutor(number: int | str, args: argparse.Namespace,
               progress: Progress | None = None) -> Tutor:
    """The Tutor for `stepgrad lesson N` with the options in `args`."""
    lesson = get_lesson(number)
    progress = progress if progress is not None else Progress.load()
    return Tutor(lesson, choose_bug(lesson, args, progress), progress,
                 seed=getattr(args, "seed", 0), quiz=not getattr(args, "no_quiz", False))


def run_lesson(args: argparse.Namespace) -> int:
    """Open lesson `args.number` in the debugger; returns an exit status."""
    from stepgrad.debug import Commands, Session
    from stepgrad.launch import open_frontend

    progress = Progress.load()
    for message in progress.messages:
        print(f"stepgrad: {message}", file=sys.stderr)
    try:
        tutor = make_tutor(args.number, args, progress)
    except (LessonNotFound, KeyError) as error:
        print(f"stepgrad lesson: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    options: dict[str, Any] = {}
    if getattr(args, "history", None):
        from stepgrad.debug.history import parse_size

        try:
            options["history_limit"] = parse_size(args.history)
        except ValueError as error:
            print(f"stepgrad lesson: --history: {error}", file=sys.stderr)
            return 2
    lesson = tutor.lesson
    session = Session(tutor.program(), name=f"lesson {lesson.number}", **options)
    commands = Commands(session, tutor=tutor)
    session.start()
    try:
        return open_frontend(session, commands, repl=getattr(args, "repl", False), lesson=lesson)
    finally:
        session.close()


def list_lessons(args: argparse.Namespace) -> int:
    """Print every lesson with the learner's progress (`--reset` forgets it first)."""
    progress = Progress.load()
    for message in progress.messages:
        print(f"stepgrad: {message}", file=sys.stderr)
    if getattr(args, "reset", False):
        progress.reset()
        print(f"Progress forgotten ({progress.path}).")
    print(lessons_table(progress))
    for message in problems():
        print(f"stepgrad: {message}", file=sys.stderr)
    return 0


def lessons_table(progress: Progress) -> str:
    """Number, title, model, data, bugs (solved ones filled) and progress, one lesson a row."""
    rows = [("#", "lesson", "model", "data", "bugs", "progress")]
    for lesson in all_lessons():
        marks = "".join(progress.mark(lesson, bug.id) for bug in lesson.bugs)
        done = progress.summary(lesson) + _quiz(progress, lesson)
        rows.append((str(lesson.number), brief(lesson.title, 36, clause=False),
                     brief(lesson.model, 20), brief(lesson.data, 22), str(len(lesson.bugs)),
                     f"{marks}  {done}" if len(lesson.bugs) <= 5 else done))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join([row[0].rjust(widths[0])] +
                       [cell.ljust(width) for cell, width in zip(row[1:-1], widths[1:])] +
                       [row[-1]]).rstrip() for row in rows]
    lines.append("\nStart one with: stepgrad lesson N\nEach bug's mark:")
    lines += [f"  {mark} {meaning}" for mark, meaning in MARKS]
    return "\n".join(lines)


def _quiz(progress: Progress, lesson: Lesson) -> str:
    right, asked = progress.quiz(lesson)
    return f", predictions {right}/{asked} right" if asked else ""


def brief(text: str, width: int, clause: bool = True) -> str:
    """A description cut to `width` characters; with `clause`, its first clause only (up to
    a comma, semicolon or colon outside parentheses, or " with ")."""
    if clause:
        depth = 0
        for i, char in enumerate(text):
            depth += (char in "([") - (char in ")]")
            if depth == 0 and char in ",;:":
                text = text[:i]
                break
        text = text.split(" with ")[0].strip()
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


__all__ = ["choose_bug", "lessons_table", "list_lessons", "make_tutor", "run_lesson"]
