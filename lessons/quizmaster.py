"""The quizmaster: which prediction question is open, what it hides, and the answers.

The tutor owns one. It watches the program's events (to keep the forward steps a backward
question needs), asks a lesson's `questions` at the first event each fits, and plays lesson
1's chain-rule game at every backward step. Until the learner answers (`predict 0.5`,
`predict 4 2`) or skips (`predict skip`), the step's answer stays hidden: `hidden(event)`
tells the front ends what not to show.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from stepgrad import events
from stepgrad.lessons.base import Lesson
from stepgrad.lessons.chain_game import ChainGame
from stepgrad.lessons.quiz import Moment, Question, parse

_KEEP = 4096  # forward steps remembered (oldest dropped first)


class Quizmaster:
    """Prediction questions for one lesson run (`enabled` False: `--no-quiz`)."""

    def __init__(self, lesson: Lesson, enabled: bool = True) -> None:
        self.lesson = lesson
        self.enabled = enabled
        self.questions: tuple[Question, ...] = tuple(getattr(lesson, "questions", ()))
        self._ops = {q.op for q in self.questions if q.kind == "backward"}
        self.forward: OrderedDict[int, events.ForwardStep] = OrderedDict()
        self.game = ChainGame(self.forward) if lesson.predict else None
        self._open: tuple[Any, Question] | None = None
        self._done: set[str] = set()          # questions answered or skipped
        self._settled: set[int] = set()       # lesson 1: backward steps answered or skipped

    def observe(self, event: events.Event) -> None:
        """Keep the forward steps a later backward question will be checked against."""
        if not isinstance(event, events.ForwardStep):
            return
        if event.op in self._ops or (self.game is not None and event.output.size <= 16):
            self.forward[event.node_id] = event
            if len(self.forward) > _KEEP:
                self.forward.popitem(last=False)

    def _moment(self, event: Any) -> Moment:
        node = getattr(event, "node_id", None)
        backward = isinstance(event, events.BackwardStep)
        return Moment(event, self.forward.get(node) if backward and node is not None else None)

    def question(self, event: Any) -> str | None:
        """The question asked at `event`, or None."""
        if not self.enabled or event is None:
            return None
        if self.game is not None:
            if getattr(event, "seq", None) in self._settled:
                return None
            return self.game.question(event)
        if self._open is not None and self._open[0] is event:
            return self._open[1].ask(self._moment(event))
        moment = self._moment(event)
        for question in self.questions:
            if question.id not in self._done and question.matches(moment):
                self._open = (event, question)
                return question.ask(moment)
        return None

    def hidden(self, event: Any) -> str | None:
        """What `event`'s display must hide while its question is open, else None."""
        if self.question(event) is None:
            return None
        if self.game is not None:
            return "grads"
        return self._open[1].hides if self._open is not None else None

    def answer(self, event: Any, said: float | str) -> tuple[bool | None, str]:
        """(right or None when nothing was asked, what to tell the learner)."""
        if not self.enabled:
            return None, "Prediction questions are off in this run (--no-quiz)."
        numbers = parse(said) if isinstance(said, str) else [float(said)]
        if self.question(event) is None:
            return None, ("There is no question at this step. Questions appear after the "
                          "position, at the steps where a prediction teaches something.")
        if self.game is not None:
            self._settled.add(event.seq)
            if numbers is None:
                return None, "Skipped: the step's gradients are shown now."
            return self.game.answer(event, numbers[0])
        assert self._open is not None
        question = self._open[1]
        self._done.add(question.id)
        self._open = None
        if numbers is None:
            return None, "Skipped: the step shows everything now."
        return question.check(self._moment(event), numbers)

    def score(self) -> tuple[int, int]:
        """(asked so far, in this lesson's question list) for status lines."""
        return len(self._done), len(self.questions)


__all__ = ["Quizmaster"]
