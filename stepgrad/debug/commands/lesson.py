"""The lesson commands: lesson, hint, diagnose, reveal, fixed, predict.

They exist only while a lesson runs (a Tutor is attached): without one, the dispatcher
does not know them, help does not list them, and completion does not offer them.
`LESSON_COMMANDS` is the one list of their names (front ends import it from here).
"""

from __future__ import annotations

from typing import Any

from stepgrad.debug.commands.dispatch import CommandError, Dispatcher

LESSON_COMMANDS = ("lesson", "hint", "diagnose", "reveal", "fixed", "predict")


class LessonCommands(Dispatcher):
    """The learner's side of a lesson, answered by the lesson's Tutor."""

    lesson_commands = frozenset(LESSON_COMMANDS)

    def _tutor(self) -> Any:
        if self.tutor is None:
            raise CommandError("not in a lesson: run `stepgrad lesson N` to start one")
        return self.tutor

    def do_lesson(self, arg: str) -> str:
        """lesson
        Show the lesson's text again."""
        return str(self._tutor().text())

    def do_hint(self, arg: str) -> str:
        """hint
        The next hint: each one is more specific than the last."""
        return str(self._tutor().hint())

    def do_diagnose(self, arg: str) -> str:
        """diagnose ANSWER
        Say what the bug is: an op and phase (diagnose relu backward), a node, or a
        training-loop fault. Tab completion offers the choices."""
        if not arg:
            raise CommandError("diagnose what? For example: diagnose relu backward")
        solved, message = self._tutor().diagnose(arg)
        return str(message)

    def complete_diagnose(self, text: str, line: str) -> list[str]:
        """The next word of each answer the lesson accepts that fits what is typed."""
        if self.tutor is None:
            return []
        done = " ".join(line.split(" ")[1:-1])
        options = [c for c in self.tutor.choices() if c.startswith(done)]
        return [c[len(done) :].strip().split(" ")[0] for c in options]

    def do_reveal(self, arg: str) -> str:
        """reveal
        Give up: show what the bug is and how to fix it."""
        return str(self._tutor().reveal())

    def do_fixed(self, arg: str) -> str:
        """fixed
        Run the lesson again without the bug and compare the healthy curve with the buggy one."""
        return str(self._tutor().fixed())

    def do_predict(self, arg: str) -> str:
        """predict NUMBER
        Answer the lesson's question: the gradient you expect at this step."""
        tutor = self._tutor()
        try:
            value = float(arg)
        except ValueError:
            raise CommandError(
                f"predict takes a number, for example: predict 0.5 (got {arg!r})"
            ) from None
        return str(tutor.answer(self.session.state.event, value))
