"""The tutor of a lesson: text, hints, diagnosis, the reveal, and the before/after report.

The debugger's commands `lesson`, `hint`, `diagnose`, `reveal`, `fixed` and `predict`
delegate here. Everything returns plain text; nothing here imports a user interface.

    tutor = Tutor(get_lesson(4), "relu-times-activation", Progress.load())
    session = Session(tutor.program(), name="lesson 4")     # the debugger runs this
    tutor.hint()                 # "Hint 1/4: ..."
    tutor.diagnose("relu backward")   # (True, "Solved! ...")
    tutor.fixed()                # loss curves with and without the bug, final metrics
"""

from __future__ import annotations

import difflib
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.lessons.base import (
    Bug,
    Lesson,
    RunResult,
    diagnosis_choices,
    normalise,
    pristine,
)
from stepgrad.lessons.diagnosis import read
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.report import compare, report, sparkline
from stepgrad.lessons.report import short_number as _num

#: Events that show a loop, optimizer, init or data bug at work (unless the bug says).
_LOOP_EVIDENCE = ("OptimizerStep", "ZeroGrad", "Iteration", "Epoch")
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


def next_bug(lesson: Lesson, progress: Progress | None) -> Bug:
    """The first bug of `lesson` not solved yet (the first bug when all are solved)."""
    solved = progress.solved(lesson) if progress is not None else set()
    return next((bug for bug in lesson.bugs if bug.id not in solved), lesson.bugs[0])


class Tutor:
    """Guides one learner through one bug of one lesson (bug None: the healthy lesson)."""

    def __init__(self, lesson: Lesson, bug: Bug | str | None = None,
                 progress: Progress | None = None, seed: int = 0) -> None:
        self.lesson = lesson
        self.bug = lesson.bug(bug)
        self.progress = progress if progress is not None else Progress(autosave=False)
        self.seed = seed
        self.revealed = False
        self.last_result: RunResult | None = None
        self.predictions = {"right": 0, "asked": 0}
        self.looked = False  # has the learner seen evidence of the bug yet?
        self._forward: OrderedDict[int, events.ForwardStep] = OrderedDict()
        self._hint_index = self.progress.hints_used(lesson, self.bug.id) if self.bug else 0

    # -- running -------------------------------------------------------------------------
    def program(self) -> Callable[[], RunResult]:
        """The zero-argument program for the debugger: the lesson with the bug injected.

        It also watches the forward steps (for the prediction game) and keeps the result.
        """
        run = self.lesson.program(self.bug, self.seed)

        def tutored_program() -> RunResult:
            thread = threading.get_ident()
            unsubscribe = events.subscribe(
                lambda e: self.observe(e) if threading.get_ident() == thread else None)
            try:
                self.last_result = run()
            finally:
                unsubscribe()
            return self.last_result

        tutored_program.__name__ = run.__name__
        return tutored_program

    def observe(self, event: events.Event) -> None:
        """Remember small forward steps, so a prediction can be checked by the chain rule."""
        if self.lesson.predict and isinstance(event, events.ForwardStep) \
                and event.output.size <= 16:
            self._forward[event.node_id] = event
            if len(self._forward) > 4096:
                self._forward.popitem(last=False)

    # -- reading ---------------------------------------------------------------------------
    def text(self) -> str:
        """The lesson as markdown: title, text, goals, data, model, target, and the task."""
        lesson = self.lesson
        goals = "\n".join(f"- {goal}" for goal in lesson.goals)
        parts = [f"# Lesson {lesson.number}: {lesson.title}", lesson.text.strip(),
                 f"**Goals**\n\n{goals}",
                 f"**Data**: {lesson.data}  \n**Model**: {lesson.model}  \n"
                 f"**Target**: {lesson.target}"]
        if self.bug is None:
            parts.append("**This run is healthy** (no bug injected): watch it reach its target.")
        else:
            solved = " (solved)" if self.progress.is_solved(lesson, self.bug.id) else ""
            parts.append(f"**A bug is hidden in this run{solved}.** What goes wrong: "
                         f"{self.bug.symptom}\n\nCommands: `hint`, `diagnose <what>`, "
                         f"`reveal`, `fixed`.")
        return "\n\n".join(parts) + "\n"

    def choices(self) -> list[str]:
        """Completion words for `diagnose`: the vocabulary (op names, phases, parts of the
        loop and of the initialisation), never words taken from a bug's title."""
        return diagnosis_choices(self.lesson)

    # -- evidence: did the learner look before answering? --------------------------------
    def look(self, event: events.Event | None) -> None:
        """The debugger showed `event` to the learner; note it when it is evidence of the
        bug (a node of the op at fault, or an event of the part that goes wrong)."""
        if self.bug is None or self.looked or event is None:
            return
        wanted = self.bug.evidence or ((self.bug.op,) if self.bug.op else _LOOP_EVIDENCE)
        op = getattr(event, "op", None)
        self.looked = op in wanted or type(event).__name__ in wanted

    def status(self) -> str:
        """One line: the bug's progress (hints used, attempts, solved)."""
        if self.bug is None:
            return f"Lesson {self.lesson.number}: healthy run"
        p, lesson, bug = self.progress, self.lesson, self.bug.id
        state = "solved" if p.is_solved(lesson, bug) else "revealed" if self.revealed else "open"
        return (f"Lesson {lesson.number}, bug {lesson.bugs.index(self.bug) + 1}/"
                f"{len(lesson.bugs)}: {state}; hints {p.hints_used(lesson, bug)}/"
                f"{len(self.bug.hints)}, attempts {p.attempts(lesson, bug)}")

    # -- hints, diagnosis, reveal ------------------------------------------------------------
    def hint(self) -> str:
        """The next hint on the ladder (each more specific); records that it was used."""
        if self.bug is None:
            return "This run has no bug to find. Start the lesson without --no-bug to hunt one."
        hints = self.bug.hints
        if self._hint_index >= len(hints):
            return (f"No more hints ({len(hints)} used). `reveal` shows the bug and its fix; "
                    f"the last hint was: {hints[-1]}")
        text = hints[self._hint_index]
        self._hint_index += 1
        self.progress.record_hint(self.lesson, self.bug.id)
        return f"Hint {self._hint_index}/{len(hints)}: {text}"

    def diagnose(self, answer: str) -> tuple[bool, str]:
        """Check a diagnosis by meaning; returns (solved, a message for the learner)."""
        said = normalise(answer)
        if not said:
            return False, "Say what the bug is, for example: diagnose relu backward"
        if self.bug is None:
            return False, ("This run is healthy: there is no bug to diagnose. Start the lesson "
                           "without --no-bug to hunt one.")
        lesson, bug = self.lesson, self.bug
        others = [b for b in lesson.bugs if b is not bug and b.accepts(answer)]
        # In a mystery lesson two catalogued bugs may share an op and phase: naming it is the
        # find there. Elsewhere an answer that fits two of the lesson's bugs is too vague.
        if self._accepts(answer) and (not others or getattr(lesson, "mystery", False)):
            self.progress.record_attempt(lesson, bug.id, correct=True, looked=self.looked)
            guess = "" if self.looked else (
                "\nRight, but nothing you looked at showed it yet: progress notes this one as "
                "a guess. Go and find the evidence (the nodes of the op at fault, or the "
                "statistic that goes wrong).")
            return True, (f"Solved! {bug.title}.\n{bug.explanation}{guess}\n"
                          f"Type `fixed` to see training with the bug removed, or `fix` to "
                          f"write the fix yourself.")
        attempts = self.progress.record_attempt(lesson, bug.id, correct=False)
        return False, self._wrong(answer, said, attempts, others)

    def _accepts(self, answer: str) -> bool:
        assert self.bug is not None
        if self.bug.concepts:
            return self.bug.accepts(answer)
        return _names(self.bug, normalise(answer), self._other_phrases())

    def _other_phrases(self) -> set[str]:
        """Diagnoses that name something other than the current bug."""
        mine = set(self.bug.answers) if self.bug else set()
        return {a for b in self.lesson.bugs for a in b.answers if a not in mine}

    def _wrong(self, answer: str, said: str, attempts: int, others: list[Bug]) -> str:
        assert self.bug is not None
        reading = read(self.bug.concepts, answer)
        if self._accepts(answer):
            line = ("That answer fits more than one fault this lesson can have; say more "
                    "precisely what is wrong.")
        elif others:
            line = ("That is a bug this lesson can have, but not the one in this run. "
                    "Look again at what goes wrong: " + self.bug.symptom)
        elif reading.close and reading.contradicted:
            line = f"Close, but not quite: {reading.ask}"
        elif reading.close:
            line = f"Close: you are looking at the right place. Now {reading.ask}"
        else:
            line = f"Not it: {said!r} is not the fault here."
            suggestion = self._spelling(said)
            if suggestion:
                line += f" (Did you mean {suggestion!r}?)"
        if attempts >= 2 and self._hint_index < len(self.bug.hints):
            line += " A `hint` may help."
        elif attempts >= 4:
            line += " `reveal` shows the answer if you are stuck."
        return line

    def _spelling(self, said: str) -> str:
        """`said` with each misspelt word replaced by the closest vocabulary word, or ""."""
        known = sorted({w for c in self.choices() for w in normalise(c).split()})
        fixed = [next(iter(difflib.get_close_matches(w, known, n=1, cutoff=0.75)), w)
                 if w not in known else w for w in said.split()]
        return " ".join(fixed) if fixed != said.split() else ""

    def reveal(self) -> str:
        """Give up on this bug: what it was and how to fix it."""
        if self.bug is None:
            return "This run is healthy: there is nothing to reveal."
        self.revealed = True
        answers = ", ".join(f"`diagnose {a}`" for a in self.bug.answers[:3])
        return (f"The bug ({self.bug.kind}): {self.bug.title}.\n{self.bug.explanation}\n"
                f"Accepted diagnoses include {answers}. Type `fixed` to see training without it.")

    # -- the before/after report -------------------------------------------------------------
    def fixed(self, buggy: RunResult | None = None) -> str:
        """Run the lesson without the bug and compare its loss curve and metrics with the
        buggy run's (`buggy`, else the last run the debugger finished, else a fresh run)."""
        if self.bug is None:
            return "This run is healthy already: there is no bug to remove."
        wait = self._hints_before_compare()
        if wait:
            return (f"Not yet: this lesson lets you compare with a healthy run after "
                    f"{self.lesson.compare_after_hints} hints; take {wait} more "  # type: ignore[attr-defined]
                    f"(`hint`), or `diagnose` it first.")
        buggy = buggy or (self.last_result if self._finished_with_bug() else None)
        try:
            runs = compare(self.lesson, self.bug.id, self.seed, buggy)
        except RuntimeError as error:
            return f"Could not rerun the lesson: {error}"
        return report(self.lesson, self.bug, runs["buggy"], runs["healthy"])

    def _hints_before_compare(self) -> int:
        """Hints still to take before `fixed` may compare (lessons with compare_after_hints,
        the capstone); none once the bug is solved or revealed."""
        needed = int(getattr(self.lesson, "compare_after_hints", 0) or 0)
        if self.bug is None or self.revealed or self.progress.is_solved(self.lesson, self.bug.id):
            return 0
        return max(0, needed - self._hint_index)

    def _finished_with_bug(self) -> bool:
        result = self.last_result
        return result is not None and result.bug == (self.bug.id if self.bug else None)

    # -- the prediction game (lesson 1) ------------------------------------------------------
    def question(self, event: events.Event | None) -> str | None:
        """At a backward step of a predicting lesson: "what gradient does x receive?"."""
        picked = self._pick(event)
        if picked is None:
            return None
        step, index = picked
        forward = self._forward.get(step.node_id)
        upstream = _scalar(step.upstream)
        where = f"{step.name} = {_expression(step, forward)}"
        return (f"Predict: {where} receives upstream gradient {_num(upstream)}. "
                f"What gradient does {step.input_names[index]} receive? (predict NUMBER)")

    def answer(self, event: events.Event | None, number: float) -> str:
        """Compare a prediction with the chain rule and with what backward actually sent."""
        picked = self._pick(event)
        if picked is None:
            return "There is no question at this step: predictions are asked at backward steps."
        step, index = picked
        name = step.input_names[index]
        sent = None if step.grads[index] is None else _scalar(step.grads[index])
        truth = self._chain_rule(step, index)
        self.predictions["asked"] += 1
        sent_text = "nothing" if sent is None else _num(sent)
        if truth is None:  # the forward step was not recorded: compare with backward only
            ok = sent is not None and _close(number, sent)
            self.predictions["right"] += ok
            return (f"{'Right' if ok else 'Not quite'}: backward sent {sent_text} to {name}; "
                    f"you said {_num(number)}.")
        upstream = _scalar(step.upstream)
        local = f" = upstream {_num(upstream)} x local derivative {_num(truth / upstream)}" \
            if upstream not in (0.0,) else ""
        right, engine_right = _close(number, truth), sent is not None and _close(sent, truth)
        self.predictions["right"] += right
        if right and engine_right:
            return f"Right: {name} receives {_num(truth)}{local}. Backward sent {sent_text} too."
        if right:
            return (f"Your prediction matches the chain rule: {name} should receive "
                    f"{_num(truth)}{local} (finite differences agree). But backward sent "
                    f"{sent_text}! Here the engine is wrong, not you: {step.op}'s backward is "
                    f"a suspect (`gradcheck` it).")
        if engine_right:
            return (f"Not quite: {name} receives {_num(truth)}{local}; you said "
                    f"{_num(number)}. Backward agrees with the chain rule here.")
        return (f"Not quite: the chain rule (finite differences) gives {name} {_num(truth)}"
                f"{local}; you said {_num(number)}. And backward sent {sent_text}, which is "
                f"wrong too: look closely at {step.op}'s backward.")

    def _pick(self, event: events.Event | None) -> tuple[events.BackwardStep, int] | None:
        """The input a question is about: one that wants a gradient, a leaf if possible."""
        if not self.lesson.predict or not isinstance(event, events.BackwardStep):
            return None
        if event.upstream.size != 1:
            return None
        forward = self._forward.get(event.node_id)
        wants = [i for i in range(len(event.input_ids))
                 if (forward.input_requires_grad[i] if forward else event.grads[i] is not None)]
        if not wants:
            return None
        leaves = [i for i in wants if event.input_ids[i] not in self._forward]
        return event, (leaves or wants)[0]

    def _chain_rule(self, step: events.BackwardStep, index: int) -> float | None:
        """What input `index` should receive: finite differences of the op's own forward."""
        forward = self._forward.get(step.node_id)
        if forward is None:
            return None
        arrays = [np.array(a, dtype=np.float64) for a in forward.inputs]
        upstream = np.asarray(step.upstream, dtype=np.float64)
        op_forward = pristine(step.op, "forward")

        def value() -> float:
            from stepgrad.function import Context

            ctx = Context()
            ctx.needs_input_grad = tuple(True for _ in arrays)
            return float(np.sum(upstream * op_forward(ctx, *arrays, **forward.attrs)))

        target, eps = arrays[index].reshape(-1), 1e-6
        if target.size != 1:
            return None
        saved = target[0]
        target[0] = saved + eps
        plus = value()
        target[0] = saved - eps
        minus = value()
        target[0] = saved
        return (plus - minus) / (2 * eps)


# -- small helpers ------------------------------------------------------------------------------

def _names(bug: Bug, said: str, others: set[str]) -> bool:
    """True when `said` is one of the bug's answers, or a short sentence containing one
    (consecutive words) that names nothing else."""
    if said in bug.answers:
        return True
    padded = f" {said} "
    if not any(f" {a} " in padded for a in bug.answers) or len(said.split()) > 12:
        return False
    return not any(f" {o} " in padded for o in others
                   if not any(f" {o} " in f" {a} " for a in bug.answers))


def _scalar(array: Any) -> float:
    return float(np.asarray(array, dtype=np.float64).reshape(-1)[0])


def _close(a: float, b: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 1e-2 * max(1.0, abs(b))




def _expression(step: events.BackwardStep, forward: events.ForwardStep | None) -> str:
    names = list(step.input_names)
    if forward is not None:  # constants (auto-named t123) show as their value
        names = [(_num(_scalar(a)) if re.fullmatch(r"t\d+", n) else f"{n} ({_num(_scalar(a))})")
                 if a.size == 1 else n for n, a in zip(names, forward.inputs)]
    symbol = _SYMBOLS.get(step.op)
    if symbol and len(names) == 2:
        return f"{names[0]} {symbol} {names[1]}"
    return f"{step.op}({', '.join(names)})"


__all__ = ["Tutor", "compare", "next_bug", "report", "sparkline"]
