"""The Lesson API: a lesson is data (text, goals, a training loop) plus Bugs to hunt.

A lesson module `lNN_slug.py` defines one `LESSON`:

    LESSON = Lesson(
        number=3, slug="linear_layer", title="One linear layer on a batch",
        text=TEXT, goals=(...), data="...", model="...", target="loss below 0.02",
        bugs=(BIAS_NOT_SUMMED, WEIGHT_GRAD_TRANSPOSED),
        train=train,                       # (hooks, seed) -> RunResult
        reached=lambda r: r.final_loss < 0.02,
    )

A `Bug` is injected by a context manager and removed when the block ends, even on an
exception; no file is ever edited. Op bugs swap an op's forward or backward through the
registry (`sg.ops.patch`); loop, init and data bugs change the `Hooks` that the lesson's
training loop reads (`current_hooks()`):

    Bug(id="relu-times-activation", kind="op", inject=patch_op("relu", backward=bad), ...)
    Bug(id="no-zero-grad", kind="loop", inject=with_hooks(zero_grad=False), ...)

`lesson.run(bug_id)` trains with the bug in place and returns a `RunResult`;
`lesson.program(bug_id)` is the zero-argument callable the debugger runs in its worker thread.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

import stepgrad as sg
from stepgrad.lessons.diagnosis import Concept, normalise, read, vocabulary

BugKind = Literal["op", "loop", "init", "data"]
BUG_KINDS: tuple[str, ...] = ("op", "loop", "init", "data")


# -- the hooks a lesson's training loop consults ------------------------------------------

@dataclass(frozen=True)
class Hooks:
    """The knobs a training loop reads; a healthy run uses the defaults.

    zero_grad      call `optimizer.zero_grad()` before each backward (False: gradients pile up)
    update_sign    +1 is gradient descent (w -= lr * g); -1 makes the update add the gradient
    lr_scale       multiplies the learning rate (a huge value makes it explode)
    init           called with the model after it is built (override the initialisation)
    data           called with the Dataset before training; returns the Dataset to train on
    after_backward called with the model after each backward, before the update
    flags          anything else a lesson's own loop wants to read (`hooks.flag("name")`)
    """

    zero_grad: bool = True
    update_sign: float = 1.0
    lr_scale: float = 1.0
    init: Callable[[Any], None] | None = None
    data: Callable[[Any], Any] | None = None
    after_backward: Callable[[Any], None] | None = None
    flags: Mapping[str, Any] = field(default_factory=dict)

    def flag(self, name: str, default: Any = None) -> Any:
        """A lesson-specific flag set by a bug (`with_hooks(flags={"name": value})`)."""
        return self.flags.get(name, default)

    def lr(self, base: float) -> float:
        """The learning rate to use for a base rate: scaled, and negative when ascending."""
        return base * self.lr_scale * (1.0 if self.update_sign >= 0 else -1.0)


_HEALTHY = Hooks()
_hooks_stack: list[Hooks] = [_HEALTHY]
_hooks_lock = threading.Lock()


def current_hooks() -> Hooks:
    """The hooks in force now (the defaults unless a bug's `with_hooks` block is active)."""
    return _hooks_stack[-1]


@contextlib.contextmanager
def use_hooks(**changes: Any) -> Iterator[Hooks]:
    """Make `changes` (Hooks fields) part of the current hooks inside a `with` block.

    Flags are merged with the flags already in force. Blocks nest; each one restores what
    it found, even when the block raises.
    """
    with _hooks_lock:
        now = _hooks_stack[-1]
        if "flags" in changes:
            changes["flags"] = {**now.flags, **changes["flags"]}
        hooks = replace(now, **changes)
        _hooks_stack.append(hooks)
    try:
        yield hooks
    finally:
        with _hooks_lock:  # remove this block's own entry, wherever it is now
            for index in range(len(_hooks_stack) - 1, 0, -1):
                if _hooks_stack[index] is hooks:
                    del _hooks_stack[index]
                    break


# -- injectors: how a Bug is put in place ---------------------------------------------------

Injector = Callable[[], AbstractContextManager[Any]]


def patch_op(name: str, forward: Callable[..., Any] | None = None,
             backward: Callable[..., Any] | None = None) -> Injector:
    """An injector that swaps op `name`'s forward and/or backward (via `sg.ops.patch`)."""
    sg.ops.get(name)  # fail now, at import, if the op does not exist

    def inject() -> AbstractContextManager[Any]:
        return sg.ops.patch(name, forward=forward, backward=backward)

    return inject


def with_hooks(**changes: Any) -> Injector:
    """An injector that changes the loop's hooks (see `Hooks` for the fields)."""
    unknown = set(changes) - set(Hooks.__dataclass_fields__)
    if unknown:
        raise TypeError(f"with_hooks: unknown hook(s) {sorted(unknown)}; "
                        f"known: {sorted(Hooks.__dataclass_fields__)}")

    def inject() -> AbstractContextManager[Any]:
        return use_hooks(**changes)

    return inject


def combine(*injectors: Injector) -> Injector:
    """An injector that puts several injectors in place together (a bug with two parts)."""

    def inject() -> AbstractContextManager[Any]:
        with contextlib.ExitStack() as stack:  # a failure half-way undoes what was entered
            for injector in injectors:
                stack.enter_context(injector())
            return stack.pop_all()

    return inject


# -- the ops as stepgrad shipped them ---------------------------------------------------------

_PRISTINE: dict[str, tuple[Any, Any]] = {
    name: (cls.__dict__.get("forward"), cls.__dict__.get("backward"))
    for name, cls in sg.ops.registry.items()
}


def pristine(name: str, which: str) -> Callable[..., Any]:
    """Op `name`'s forward or backward as it was before any lesson patched it."""
    forward, backward = _PRISTINE.get(name, (None, None))
    found = forward if which == "forward" else backward
    if found is None:
        return getattr(sg.ops.get(name), which)
    return found.__func__ if isinstance(found, staticmethod) else found


def patched_ops() -> list[str]:
    """The ops whose forward or backward differs from what stepgrad shipped (now)."""
    return sorted(name for name, (forward, backward) in _PRISTINE.items()
                  if name in sg.ops.registry
                  and (sg.ops.registry[name].__dict__.get("forward") is not forward
                       or sg.ops.registry[name].__dict__.get("backward") is not backward))


def injected() -> bool:
    """True while any op is patched or any hooks block is active (a bug is in place)."""
    return bool(patched_ops()) or len(_hooks_stack) > 1


# -- results ------------------------------------------------------------------------------

@dataclass
class RunResult:
    """What one training run produced.

    losses    the training loss of every iteration, in order
    grad_norms  the gradient norm of every iteration (before the update), when recorded
    metrics   the final metrics (such as "test_accuracy"); lessons choose the names
    history   per-epoch metrics, in order
    stopped   why training stopped early ("loss became nan at iteration 12"), or None
    extra     anything a lesson's symptom checks need (gradients, dead-ReLU fractions...)
    """

    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    bug: str | None = None
    seed: int = 0
    stopped: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        """The last loss, or nan when there was none."""
        return self.losses[-1] if self.losses else math.nan

    @property
    def finite(self) -> bool:
        """True when every loss is a finite number (no NaN, no Inf)."""
        return all(math.isfinite(x) for x in self.losses)

    def metric(self, name: str, default: float = math.nan) -> float:
        return float(self.metrics.get(name, default))

    def loss_drop(self) -> float:
        """final loss / first loss (below 1 means the loss went down); nan if not finite."""
        if not self.losses or not self.finite or self.losses[0] == 0:
            return math.nan
        return self.final_loss / self.losses[0]


# -- bugs and lessons ---------------------------------------------------------------------

@dataclass(frozen=True)
class Bug:
    """One injected fault of a lesson, described as data.

    id           short and stable ("relu-times-activation"): used in progress and the CLI
    title        what the fault is, revealed only on `reveal` or once solved
    kind         "op" (an op's forward/backward), "loop", "init" or "data"
    inject       a zero-argument callable returning a context manager that puts the bug in
                 place and removes it on exit (`patch_op(...)`, `with_hooks(...)`)
    symptom      what the learner observes ("the loss stalls near 0.69", "NaN at epoch 1")
    hints        a ladder, each hint more specific than the last
    answers      accepted diagnoses (normalised: "relu backward"); any of them solves the bug
    explanation  what was wrong and what the fix is
    shows        the symptom check on a RunResult, used by tests (True when the bug shows)
    op           the op a kind="op" bug patches (so a test can check it is restored)
    concepts     what a right answer must name, in the learner's words (see
                 `stepgrad.lessons.diagnosis`); empty: an answer must contain one of `answers`
    evidence     op names or event kinds ("OptimizerStep") whose visit shows the learner looked
                 at the evidence; empty: the bug's op (op bugs), else any optimizer step
    """

    id: str
    title: str
    kind: BugKind
    inject: Injector
    symptom: str
    hints: tuple[str, ...]
    answers: tuple[str, ...]
    explanation: str
    shows: Callable[[RunResult], bool]
    op: str | None = None
    concepts: tuple[Concept, ...] = ()
    evidence: tuple[str, ...] = ()
    code: Any = None  # fixing.Code: the function at fault of a loop or init bug, for `fix`

    def __post_init__(self) -> None:
        if self.kind not in BUG_KINDS:
            raise ValueError(f"Bug {self.id!r}: kind must be one of {BUG_KINDS}, got {self.kind!r}")
        if not self.answers or not self.hints:
            raise ValueError(f"Bug {self.id!r}: give at least one hint and one answer")
        object.__setattr__(self, "answers", tuple(normalise(a) for a in self.answers))
        object.__setattr__(self, "hints", tuple(self.hints))

    def accepts(self, answer: str) -> bool:
        """True when `answer` names this bug: every one of its concepts, in any words (or,
        for a bug without concepts, one of its answers after normalising both)."""
        if self.concepts:
            return read(self.concepts, answer).accepted
        return normalise(answer) in self.answers


TrainFn = Callable[[Hooks, int], RunResult]


@dataclass(frozen=True)
class Lesson:
    """A numbered lesson: what it teaches, a training run, and the bugs to find in it.

    number, slug, title   identity ("3", "linear_layer", "One linear layer on a batch")
    text                  markdown: what it teaches, the math, the PyTorch equivalent (no
                          title heading: front ends show "Lesson N: title" themselves)
    goals                 what the learner will be able to do afterwards
    data, model, target   one-line descriptions (target: "test accuracy >= 95%")
    bugs                  the Bugs; at least two
    train                 `train(hooks, seed) -> RunResult`: the training loop; it reads the
                          hooks it is given, emits sg.mark_iteration / sg.mark_epoch
    reached               `reached(result) -> bool`: did a run reach the target?
    predict               True when the lesson plays the prediction game at backward steps
    questions             prediction questions (`stepgrad.lessons.quiz.Question`), each asked
                          at the first event it fits
    """

    number: int
    slug: str
    title: str
    text: str
    goals: tuple[str, ...]
    data: str
    model: str
    target: str
    bugs: tuple[Bug, ...]
    train: TrainFn
    reached: Callable[[RunResult], bool]
    predict: bool = False
    questions: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        ids = [b.id for b in self.bugs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"lesson {self.number}: bug ids must be unique, got {ids}")
        object.__setattr__(self, "goals", tuple(self.goals))
        object.__setattr__(self, "bugs", tuple(self.bugs))

    def bug(self, bug: Bug | str | None) -> Bug | None:
        """The Bug with this id (a Bug passes through, None stays None)."""
        if bug is None or isinstance(bug, Bug):
            return bug
        for candidate in self.bugs:
            if candidate.id == bug:
                return candidate
        raise KeyError(f"lesson {self.number} has no bug {bug!r}; its bugs are "
                       f"{', '.join(b.id for b in self.bugs)}")

    @contextlib.contextmanager
    def injected(self, bug: Bug | str | None) -> Iterator[Bug | None]:
        """Put `bug` in place inside the block (nothing when None); always removed after."""
        found = self.bug(bug)
        if found is None:
            yield None
            return
        with found.inject():
            yield found

    def run(self, bug: Bug | str | None = None, seed: int = 0) -> RunResult:
        """Train once with `bug` injected (None: the healthy lesson) and return the result."""
        found = self.bug(bug)
        start = time.perf_counter()
        with self.injected(found), np.errstate(over="ignore", invalid="ignore",
                                               divide="ignore"):
            sg.manual_seed(seed)  # NaN and Inf are symptoms to observe, not warnings to print
            result = self.train(current_hooks(), seed)
        result.seconds = time.perf_counter() - start
        result.bug, result.seed = (found.id if found else None), seed
        return result

    def program(self, bug: Bug | str | None = None, seed: int = 0) -> Callable[[], RunResult]:
        """A zero-argument callable for the debugger's worker thread: inject, run, un-inject."""
        self.bug(bug)  # an unknown id fails here, not in the worker thread

        def lesson_program() -> RunResult:
            return self.run(bug, seed)

        lesson_program.__name__ = f"lesson_{self.number:02d}_{self.slug}"
        return lesson_program

    def healthy(self, result: RunResult) -> bool:
        """True when `result` reached the lesson's target."""
        return bool(result.finite and self.reached(result))

    def diagnosis_choices(self) -> list[str]:
        """Completion words for `diagnose` (the vocabulary, never a bug's own words)."""
        return diagnosis_choices(self)

    def __str__(self) -> str:
        return f"Lesson {self.number}: {self.title}"


def diagnosis_choices(lesson: Lesson | None = None) -> list[str]:
    """Completion words for `diagnose`: op names, phases, parts of the training loop and of
    the initialisation. They are the same for every bug, so completing gives nothing away."""
    return vocabulary(list(sg.ops.names()))


__all__ = ["BUG_KINDS", "Bug", "BugKind", "Hooks", "Injector", "Lesson", "RunResult",
           "TrainFn", "combine", "current_hooks", "diagnosis_choices", "injected", "normalise",
           "patch_op", "patched_ops", "pristine", "use_hooks", "with_hooks"]
