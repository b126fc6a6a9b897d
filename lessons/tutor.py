"""The tutor of a lesson: text, hints, diagnosis, the reveal, and the before/after report.

The debugger's commands `lesson`, `hint`, `diagnose`, `reveal`, `fixed` and `predict`
delegate here. Everything returns plain text; nothing here imports a user interface.

    tutor = Tutor(get_lesson(4), "relu-times-activation", Progress.load())
    session = Session(tutor.program(), name="lesson 4")     # the debugger runs this
    tutor.hint()                 # "Hint 1/4: ..."
    tutor.diagnose("relu backward")   # (True, "Solved! ...") once the learner looked at a
                                      # relu node; before that, "right, but a guess"
    tutor.fixed()                # loss curves with and without the bug, final metrics
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable

from stepgrad import events
from stepgrad.lessons import fixing
from stepgrad.lessons.base import (
    Bug,
    Lesson,
    RunResult,
    diagnosis_choices,
    normalise,
)
from stepgrad.lessons.diagnosis import read
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.quizmaster import Quizmaster
from stepgrad.lessons.report import compare, report, sparkline

#: Events that show a loop or optimizer bug at work (unless the bug says): the update, the
#: loss, the metrics. Not zero_grad: the first event of a lesson, before anything ran.
_LOOP_EVIDENCE = ("OptimizerStep", "Iteration", "Epoch")
#: An init or data bug shows also in every node computed with the weights or the data.
_INIT_EVIDENCE = (*_LOOP_EVIDENCE, "ForwardStep", "BackwardStep")
_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


def next_bug(lesson: Lesson, progress: Progress | None) -> Bug:
    """The first bug of `lesson` not diagnosed yet, else the first only guessed (still to
    find), else the first bug."""
    if progress is None:
        return lesson.bugs[0]
    solved, found = progress.solved(lesson), progress.found(lesson)
    return next((bug for bug in lesson.bugs if bug.id not in solved),
                next((bug for bug in lesson.bugs if bug.id not in found), lesson.bugs[0]))


class Tutor:
    """Guides one learner through one bug of one lesson (bug None: the healthy lesson)."""

    def __init__(self, lesson: Lesson, bug: Bug | str | None = None,
                 progress: Progress | None = None, seed: int = 0, quiz: bool = True) -> None:
        self.lesson = lesson
        self.bug = lesson.bug(bug)
        self.progress = progress if progress is not None else Progress(autosave=False)
        self.seed = seed
        self.revealed = False
        self.last_result: RunResult | None = None
        self.predictions = {"right": 0, "asked": 0}
        self.looked = False  # has the learner seen evidence of the bug yet?
        self.quiz = Quizmaster(lesson, enabled=quiz)
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
        """Remember the forward steps a prediction question will need."""
        self.quiz.observe(event)

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
            parts.append(f"**A bug is hidden in this run{self._state_note()}.** What goes wrong: "
                         f"{self.bug.symptom}\n\nCommands: `hint`, `diagnose <what>`, "
                         f"`predict` (when a question is open), `fix` (rewrite the code at "
                         f"fault yourself), `reveal`, `fixed`.")
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
        evidence = self._evidence()
        self.looked = getattr(event, "op", None) in evidence or type(event).__name__ in evidence

    def _evidence(self) -> tuple[str, ...]:
        """Op names and event kinds whose visit is evidence of the bug: the bug's own list,
        else its op's nodes, else the events where a loop, init or data bug shows."""
        assert self.bug is not None
        if self.bug.evidence:
            return self.bug.evidence
        if self.bug.op:
            return (self.bug.op,)
        return _LOOP_EVIDENCE if self.bug.kind == "loop" else _INIT_EVIDENCE

    def status(self) -> str:
        """One line: the bug's progress (hints used, attempts, solved)."""
        if self.bug is None:
            return f"Lesson {self.lesson.number}: healthy run"
        p, lesson, bug = self.progress, self.lesson, self.bug.id
        state = ("found" if p.is_found(lesson, bug) else
                 "guessed (right, before looking at the evidence)" if p.is_guessed(lesson, bug)
                 else "revealed" if self.revealed else "open")
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
        """Check a diagnosis by meaning; returns (right, a message for the learner). A right
        one made before the learner looked at any evidence is told it was a guess."""
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
            found_before = self.progress.is_found(lesson, bug.id)
            guessed_before = self.progress.is_guessed(lesson, bug.id)
            self.progress.record_attempt(lesson, bug.id, correct=True, looked=self.looked)
            if not self.looked and not found_before:
                return True, self._guessed(answer)
            upgrade = ("Found, with the evidence this time (no longer a guess in your "
                       "progress). " if guessed_before and self.looked else "")
            return True, (f"{upgrade}Solved! {bug.title}.\n{bug.explanation}\n"
                          f"Type `fixed` to see training with the bug removed, or `fix` to "
                          f"write the fix yourself.")
        attempts = self.progress.record_attempt(lesson, bug.id, correct=False)
        return False, self._wrong(answer, said, attempts, others)

    def _guessed(self, answer: str) -> str:
        """The reply to a right diagnosis made before looking at any evidence: right, but a
        guess (not counted as found), and where to look; it names nothing the learner did
        not say (the op only when their answer names it)."""
        assert self.bug is not None
        op = self.bug.op if self.bug.kind == "op" else None
        if op and f" {normalise(op)} " in f" {normalise(answer)} ":
            look = (f"stop at a {op} node (`break {op}`, then `continue`) and check what it "
                    f"computes (`info`, `gradcheck`)")
        elif op:
            look = ("stop at a node of the op you named (`break` it, then `continue`) and "
                    "check what it computes (`info`, `gradcheck`)")
        elif self.bug.kind == "loop":
            look = ("watch the symptom happen: `break step` (an optimizer step) or "
                    "`break iteration`, then `continue`, and look at the loss, the gradients "
                    "and the update")
        else:
            look = ("step through the first nodes the network computes (`step`, or `break` "
                    "on a layer, then `continue`) and look at their outputs and gradients, "
                    "or at the loss (`break iteration`)")
        return (f"Your answer is right, but it was a guess: you have not looked at any "
                f"evidence in this run yet, so it is not counted as found (progress notes "
                f"it as guessed). To find it: {look}. Then `diagnose` again.")

    def _state_note(self) -> str:
        assert self.bug is not None
        if self.progress.is_found(self.lesson, self.bug.id):
            return " (found)"
        if self.progress.is_guessed(self.lesson, self.bug.id):
            return " (guessed right, but not found from the evidence yet)"
        return ""

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

    # -- fix it yourself -----------------------------------------------------------------------
    def fix(self, terminal: fixing.Terminal | None = None) -> str:
        """Write the code at fault to the learner's file (kept if it exists), open $EDITOR on
        it (through `terminal`, a full-screen front end's, when given) and say where it is."""
        bug = self._fixable()
        if isinstance(bug, str):
            return bug
        path, written = fixing.write(self.lesson, bug)
        state = "The code at fault is in" if written else "Your fix file (kept from before) is"
        opened = fixing.open_editor(path, terminal)
        return (f"{state} {path}{opened}\nEdit it, save it, then `fix check`; `fix reset` "
                f"writes the broken code again.")

    def fix_check(self) -> str:
        """Load the learner's file in place of the bug, check it, rerun training."""
        bug = self._fixable()
        if isinstance(bug, str):
            return bug
        found = fixing.check(self.lesson, bug, self.seed)
        if found.get("healthy"):
            self.progress.mark_fixed(self.lesson, bug.id)
            found["lines"].append("Counted as fixed in your progress.")
        return "\n".join(str(line) for line in found.get("lines", []))

    def fix_reset(self) -> str:
        bug = self._fixable()
        if isinstance(bug, str):
            return bug
        path, _ = fixing.write(self.lesson, bug, reset=True)
        return f"{path} holds the code at fault again."

    def _fixable(self) -> Bug | str:
        """The bug to fix, or why `fix` cannot be used here."""
        if self.bug is None:
            return "This run is healthy: there is nothing to fix."
        if not (self.revealed or self.progress.is_solved(self.lesson, self.bug.id)):
            # the file `fix` writes is the code at fault, named: showing it first would
            # give the bug away (its name, its op and phase, or the loop part)
            return ("Find the bug first: the file `fix` writes is the code at fault, so it "
                    "would give the answer away. `diagnose` it (or `reveal`), then `fix`.")
        if (self.bug.kind != "op" or not self.bug.op) and self.bug.code is None:
            return (f"This bug is a setting of the training {self.bug.kind}, not code you can "
                    f"rewrite here: `diagnose` it, and `fixed` shows the run without it.")
        return self.bug

    # -- prediction questions -------------------------------------------------------------
    def question(self, event: events.Event | None) -> str | None:
        """The open prediction question at `event`, if any (the debugger shows it after the
        position). Showing a position is also how the tutor learns what the learner saw."""
        self.look(event)
        return self.quiz.question(event)

    def answer(self, event: events.Event | None, said: float | str) -> str:
        """Check `predict` at `event` (a number, several numbers, or "skip")."""
        right, message = self.quiz.answer(event, said)
        if right is not None:
            self.predictions["asked"] += 1
            self.predictions["right"] += right
            self.progress.record_prediction(self.lesson, right)
        following = self.quiz.question(event)  # the step's next question, if it has one
        return f"{message}\n{following}" if following else message

    def hidden(self, event: events.Event | None) -> str | None:
        """What the debugger must not show at `event` until the open question is answered:
        "grads", "output" or "update" (None: show everything)."""
        return self.quiz.hidden(event)


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


__all__ = ["Tutor", "compare", "next_bug", "report", "sparkline"]
