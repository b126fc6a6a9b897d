"""The quizmaster: which prediction question is open, what it hides, and the answers.

The tutor owns one. It watches the program's events (to keep the forward steps a backward
question needs), asks a lesson's `questions` at the first event each fits, and plays lesson
1's chain-rule game at every backward step. Until the learner answers (`predict 0.5`,
`predict 4 2`) or skips (`predict skip`), the step's answer stays hidden: `hidden(event)`
tells the front ends what not to show. When two questions fit one step (lesson 3 asks the
weight gradient's shape and the bias gradient at the same backward step), each `predict`
answers the next one, each says "question 1 of 2", and the step stays hidden until both
are answered or skipped.
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
        self._step: tuple[Any, list[Question]] | None = None  # an event, its questions
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
        """The question asked at `event`, or None. When several fit one step they are asked
        one after another, each saying which it is ("question 1 of 2 at this step")."""
        if not self.enabled or event is None:
            return None
        if self.game is not None:
            if getattr(event, "seq", None) in self._settled:
                return None
            return self.game.question(event)
        asked = self._asked(event)
        if asked is None:
            return None
        number, count, question = asked
        place = f"question {number} of {count} at this step" if count > 1 else ""
        return question.ask(self._moment(event), place)

    def _asked(self, event: Any) -> tuple[int, int, Question] | None:
        """(its number, how many at this step, the question) open at `event`, or None.

        The questions of a step are the ones not yet done that fit it when it is first
        shown; they stay the step's questions until each is answered or skipped."""
        if self._step is None or self._step[0] is not event:
            moment = self._moment(event)
            fitting = [q for q in self.questions if q.id not in self._done and q.matches(moment)]
            if not fitting:
                return None
            self._step = (event, fitting)
        at_step = self._step[1]
        number = next((i for i, q in enumerate(at_step) if q.id not in self._done), None)
        return None if number is None else (number + 1, len(at_step), at_step[number])

    def hidden(self, event: Any) -> str | None:
        """What `event`'s display must hide while one of its questions is open, else None:
        it stays hidden until every question at the step is answered or skipped."""
        if self.game is not None:
            return "grads" if self.question(event) is not None else None
        if not self.enabled or event is None:
            return None
        asked = self._asked(event)  # what question() asks, without writing its prompt
        return asked[2].hides if asked is not None else None

    def answer(self, event: Any, said: float | str) -> tuple[bool | None, str]:
        """(right or None when nothing was asked, what to tell the learner): the answer to
        the step's first open question."""
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
        asked = self._asked(event)
        assert asked is not None
        number, count, question = asked
        self._done.add(question.id)
        which = f" question {number} of {count}" if count > 1 else ""
        if numbers is None:
            rest = ("the step shows everything now." if number == count else
                    "the step's answers stay hidden until its next question is answered too.")
            return None, f"Skipped{which}: {rest}"
        right, message = question.check(self._moment(event), numbers)
        if count > 1 and number == count:
            message += (f"\nAll {count} questions at this step are answered: it shows "
                        f"everything now.")
        return right, message

    def score(self) -> tuple[int, int]:
        """(asked so far, in this lesson's question list) for status lines."""
        return len(self._done), len(self.questions)


__all__ = ["Quizmaster"]
