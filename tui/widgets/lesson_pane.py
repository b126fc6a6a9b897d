"""The lesson pane: the lesson's text, its goals and target, and the tutor's notes."""

from __future__ import annotations

from typing import Any

from textual.containers import VerticalScroll
from textual.widgets import Markdown


class LessonPane(VerticalScroll, can_focus=True):
    """Shows a `Lesson` (title, text as Markdown, goals, target), what goes wrong in this
    run (from the tutor), and the tutor's answers as they come."""

    def __init__(self, lesson: Any = None, *, tutor: Any = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lesson = lesson
        self.tutor = tutor
        self.notes: list[str] = []

    def compose(self):
        text = self.tutor.text() + "\n\n" + HOW_TO_ANSWER if self.tutor is not None \
            else lesson_markdown(self.lesson)
        yield Markdown(text, id="lesson-text")
        yield Markdown("", id="lesson-notes")

    def add_note(self, title: str, text: str) -> None:
        """Add the tutor's answer to `hint`, `diagnose`, `reveal`... under the lesson."""
        self.notes.append(f"**{title}**\n\n```\n{text.strip()}\n```")
        self.query_one("#lesson-notes", Markdown).update("\n\n".join(self.notes))
        self.scroll_end(animate=False)


HOW_TO_ANSWER = ("*To answer, press `:` for the command line and type for example "
                 "`diagnose relu backward` (Tab completes); `hint` gives a hint, `reveal` the "
                 "answer, `fixed` the healthy run.*")


def lesson_markdown(lesson: Any) -> str:
    if lesson is None:
        return "*No lesson: run `stepgrad lesson N` to learn with one.*"
    parts = [f"# {getattr(lesson, 'number', '')} {getattr(lesson, 'title', '')}".rstrip(),
             getattr(lesson, "text", "")]
    goals = getattr(lesson, "goals", ())
    if goals:
        parts.append("## Goals\n\n" + "\n".join(f"- {goal}" for goal in goals))
    target = getattr(lesson, "target", "")
    if target:
        parts.append(f"**Target:** {target}")
    parts.append("*Commands: `hint`, `diagnose <your answer>`, `predict`, `reveal`, `fixed`.*")
    return "\n\n".join(p for p in parts if p)
