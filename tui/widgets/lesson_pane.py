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
        self.notes.append(note_markdown(title, text))
        self.query_one("#lesson-notes", Markdown).update("\n\n".join(self.notes))
        self.scroll_end(animate=False)


def note_markdown(title: str, text: str) -> str:
    """The tutor's answer as markdown: its prose wraps and shows `code` and **bold** as
    such; lines laid out with spaces (a table of numbers, a curve) stay as they are."""
    blocks = [f"**{title}**"]
    prose: list[str] = []
    code: list[str] = []

    def flush() -> None:
        if prose:
            blocks.append("  \n".join(prose))     # two spaces: markdown's line break
            prose.clear()
        if code:
            blocks.append("```\n" + "\n".join(code) + "\n```")
            code.clear()

    for line in text.strip("\n").splitlines():
        if not line.strip():
            flush()
            continue
        laid_out = line.startswith("  ") or "   " in line.strip() or "│" in line
        if laid_out and prose or not laid_out and code:
            flush()
        (code if laid_out else prose).append(line if laid_out else line.strip())
    flush()
    return "\n\n".join(blocks)


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
