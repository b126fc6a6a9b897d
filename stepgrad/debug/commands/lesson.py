"""The lesson commands: lesson, hint, diagnose, reveal, fixed, predict.

They exist only while a lesson runs (a Tutor is attached): without one, the dispatcher
does not know them, help does not list them, and completion does not offer them.
`LESSON_COMMANDS` is the one list of their names (front ends import it from here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stepgrad.debug.commands.dispatch import CommandError, Dispatcher

LESSON_COMMANDS = ("lesson", "hint", "diagnose", "reveal", "fixed", "predict", "fix")

#: Commands that would show a step's tensors: refused while its prediction question is open.
_REVEALING = frozenset({"print", "pp", "info", "backprop", "gradcheck", "display", "graph"})


class LessonCommands(Dispatcher):
    """The learner's side of a lesson, answered by the lesson's Tutor."""

    lesson_commands = frozenset(LESSON_COMMANDS)
    #: How a full-screen front end lends its terminal to the learner's $EDITOR (`fix`): called
    #: with a function that runs the editor, it returns that function's answer, or one line
    #: saying why it could not (lessons.fixing.Terminal). None: the editor runs in this
    #: process's terminal (the REPL).
    terminal: Callable[[Callable[[], str | None]], str | None] | None = None

    def run(self, line: str) -> str:
        """Run one line; while a prediction question is open at this step, commands that
        would show its answer are refused until the learner predicts or skips."""
        hidden = self._hidden()
        if hidden and self.resolve(line.strip().partition(" ")[0]) in _REVEALING:
            return (f"*** hidden until you answer this step's question (its {hidden}): "
                    f"predict NUMBER..., or predict skip")
        return super().run(line)

    def display_line(self, text: str) -> str:
        if self._hidden():
            return f"{text} = (hidden until you predict or skip)"
        return super().display_line(text)

    def _hidden(self) -> str | None:
        """What the open question hides at the current step ("grads", "output", "update")."""
        hidden = getattr(self.tutor, "hidden", None)
        return hidden(self.session.state.event) if hidden is not None else None

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
        """Any word of the lesson's vocabulary (op names, phases, parts of the loop and the
        initialisation) for the word being typed: the same words whatever the bug."""
        if self.tutor is None:
            return []
        return [word for word in self.tutor.choices() if word.startswith(text)]

    def do_reveal(self, arg: str) -> str:
        """reveal
        Give up: show what the bug is and how to fix it."""
        return str(self._tutor().reveal())

    def do_fixed(self, arg: str) -> str:
        """fixed
        Run the lesson again without the bug and compare the healthy curve with the buggy one."""
        return str(self._tutor().fixed())

    def do_predict(self, arg: str) -> str:
        """predict NUMBER... | predict skip
        Answer the open prediction question (shown after the position): a number, several
        numbers for a shape or a window (predict 4 2), or skip to see the answer."""
        tutor = self._tutor()
        if not arg:
            raise CommandError("predict what? A number (predict 0.5), several numbers "
                               "(predict 4 2), or predict skip")
        return str(tutor.answer(self.session.state.event, arg))

    def do_fix(self, arg: str) -> str:
        """fix | fix check | fix reset
        Fix the bug yourself: `fix` writes the code at fault to a file (and opens $EDITOR
        when it is set); `fix check` runs the lesson with your file in place of the bug and
        says whether training is healthy; `fix reset` starts the file again."""
        tutor = self._tutor()
        word = arg.strip().lower()
        if word in ("", "edit", "open"):
            return str(tutor.fix(self.terminal))
        if word == "check":
            return str(tutor.fix_check())
        if word == "reset":
            return str(tutor.fix_reset())
        raise CommandError(f"fix takes nothing, 'check' or 'reset' (got {arg.strip()!r})")

    def complete_fix(self, text: str, line: str) -> list[str]:
        return ["check", "reset"]
