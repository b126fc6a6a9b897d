"""Breakpoints: when to stop while the program runs.

    break relu                 every node of an op (forward and backward)
    break backward             every node's backward step (or forward)
    break backward conv2d      only in one phase
    break fc2                  a node or module by name (also a parameter: fc1.weight)
    break nan / break inf      any NaN or Inf in what a node computed
    break grad.norm > 1e3      a condition over the node's tensors (see expr.py)
    break dead relu > 0.5      the fraction of a ReLU's outputs that are exactly zero
    break saturated tanh > 0.9 the fraction of tanh/sigmoid outputs stuck near their limits
    break if out.std() < 1e-6  any expression
    break relu if out.mean() > 1   a target and a condition together
    break step / break Adam    an optimizer step (any, or one optimizer class)
    break zero_grad / iteration / epoch   a training-loop event
    break train.py:12 / break 12   the first node made by a line of your program

A condition that fails to evaluate is reported once and disables its breakpoint: it never
stops the program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stepgrad import events as ev
from stepgrad.debug import matchers
from stepgrad.debug.expr import ExpressionError, compile_expression
from stepgrad.ops.registry import registry

PHASES = ("forward", "backward")
#: What a node, module or parameter name looks like: relu_3, fc1, encoder.0.weight
_NAME = re.compile(r"\w[\w.]*")
#: Training-loop events by the word that breaks at them.
LOOP_EVENTS = {"zero_grad": ev.ZeroGrad, "iteration": ev.Iteration, "epoch": ev.Epoch}
KEYWORDS = (
    "nan", "inf", "if", "dead", "saturated", "forward", "backward", "step", *LOOP_EVENTS
)
#: `break 12`, `break train.py:12`, `break src/train.py:12`
_LINE = re.compile(r"(?:(?P<file>[^:]+\.py):)?(?P<line>\d+)")


@dataclass(frozen=True)
class BreakpointInfo:
    """What a front end shows of a breakpoint."""

    number: int
    spec: str
    enabled: bool
    hits: int
    temporary: bool
    condition: str | None
    ignore: int


@dataclass
class Breakpoint:
    number: int
    spec: str
    matcher: matchers.Matcher = field(default_factory=matchers.Matcher)
    phase: str | None = None
    condition: str | None = None
    condition_code: Any = None
    temporary: bool = False
    enabled: bool = True
    ignore: int = 0
    hits: int = 0
    broken: str | None = field(default=None)
    pending: str | None = None  # why it may never stop: nothing of that name seen yet

    @property
    def kind(self) -> str:
        """op | name | nan | inf | expr | dead | saturated | phase (see matchers.py)"""
        return self.matcher.kind

    def matches(self, event: ev.Event, previous: ev.Event | None, namespace: Any) -> bool:
        """Does `event` meet the place and tensor test (before condition and ignore)?"""
        if not isinstance(event, self.matcher.events):
            return False
        if self.phase is not None and event.phase != self.phase:
            return False
        return self.matcher(event, previous, namespace)

    def info(self) -> BreakpointInfo:
        return BreakpointInfo(
            self.number,
            self.spec,
            self.enabled,
            self.hits,
            self.temporary,
            self.condition,
            self.ignore,
        )

    def describe(self) -> str:
        flags = [] if self.enabled else [f"disabled: {self.broken}" if self.broken else "disabled"]
        if self.temporary:
            flags.append("temporary")
        if self.condition:
            flags.append(f"if {self.condition}")
        if self.ignore:
            flags.append(f"ignore next {self.ignore}")
        if self.pending:
            flags.append("pending")
        extra = f" ({', '.join(flags)})" if flags else ""
        return f"{self.number:>3}  {self.spec}{extra}  hit {self.hits} time{'s' * (self.hits != 1)}"


def parse(number: int, text: str, temporary: bool = False) -> Breakpoint:
    """Read a breakpoint spec (see the module docstring); ValueError says what is wrong."""
    spec = " ".join(text.split())
    head, _, condition = (
        spec.partition(" if ") if not spec.startswith("if ") else ("", "", spec[3:])
    )
    words = head.split()
    phase = words.pop(0) if words and words[0] in PHASES else None
    bp = Breakpoint(number, spec, phase=phase, temporary=temporary)
    if not words and condition:
        bp.matcher = matchers.Test(compile_expression(condition))
        return bp
    if not words and phase is not None:  # `break backward`: every node's backward step
        return bp
    bp.matcher = _place(words, head if not phase else " ".join(words))
    if bp.kind in ("dead", "saturated"):
        bp.phase = "forward"
    if condition:
        bp.condition, bp.condition_code = condition, compile_expression(condition)
    return bp


def _place(words: list[str], test: str) -> matchers.Matcher:
    """The matcher for the words after `break [phase]`."""
    if not words:
        raise ValueError(
            "break what? Give an op (break relu), a node or module name (break fc2),"
            " nan, inf, or a condition (break grad.norm > 1e3)"
        )
    first = words[0]
    if first == "nan" and len(words) == 1:
        return matchers.NaN()
    if first == "inf" and len(words) == 1:
        return matchers.Inf()
    if first in ("dead", "saturated"):
        op, threshold = _op_threshold(first, words[1:])
        return (matchers.Dead if first == "dead" else matchers.Saturated)(op, threshold)
    if any(sym in test for sym in ("<", ">", "==", "!=")):
        return matchers.Test(compile_expression(test))
    if len(words) == 1:
        special = _training_event(first) or _line(first)
        if special is not None:
            return special
    if len(words) == 1 and _NAME.fullmatch(first):
        return matchers.Op(first) if first in registry else matchers.Name(first)
    raise ValueError(f"cannot read 'break {' '.join(words)}'; see 'help break' for the forms")


def optimizer_names() -> list[str]:
    """The optimizer classes `break NAME` knows (Adam, SGD, ...)."""
    from stepgrad import optim

    base = optim.Optimizer
    return sorted(
        name
        for name, value in vars(optim).items()
        if isinstance(value, type) and issubclass(value, base) and value is not base
    )


def _training_event(word: str) -> matchers.Matcher | None:
    """`break step` / `break Adam` / `break zero_grad` / `break iteration` / `break epoch`."""
    if word in ("step", "optimizer"):
        return matchers.OptimizerStep()
    if word in LOOP_EVENTS:
        return matchers.Loop(LOOP_EVENTS[word])
    if word in optimizer_names():
        return matchers.OptimizerStep(word)
    return None


def _line(word: str) -> matchers.Line | None:
    """`break 12` (the current file) or `break train.py:12` (pdb's forms)."""
    match = _LINE.fullmatch(word)
    if match is None:
        return None
    if int(match["line"]) < 1:
        raise ValueError(f"break {word}: line numbers start at 1")
    return matchers.Line(int(match["line"]), match["file"])


def _op_threshold(kind: str, words: list[str]) -> tuple[str, float]:
    default_op = "relu" if kind == "dead" else "tanh"
    if not words:
        return default_op, 0.5
    op = words[0] if not words[0].startswith((">", "0", ".")) else default_op
    rest = words[1:] if op == words[0] else words
    text = " ".join(rest).lstrip("> ").strip() or "0.5"
    try:
        threshold = float(text)
    except ValueError:
        raise ValueError(
            f"break {kind}: expected a fraction such as '{kind} {op} > 0.5', "
            f"got {' '.join(words)!r}"
        ) from None
    if op not in registry:
        raise ValueError(f"break {kind}: no op named {op!r}")
    return op, threshold


def should_stop(bp: Breakpoint, event: ev.Event, previous: ev.Event | None, namespace: Any) -> bool:
    """Apply place, tensor test, condition and ignore count; count the hit. May raise
    ExpressionError (the caller disables the breakpoint and reports it once)."""
    if not bp.enabled or not bp.matches(event, previous, namespace):
        return False
    if bp.condition_code is not None and not matchers.truth(
        matchers.evaluate_test(bp.condition_code, namespace())
    ):
        return False
    bp.hits += 1
    if bp.ignore > 0:
        bp.ignore -= 1
        return False
    return True


def first_hit(
    breakpoints: list[Breakpoint],
    event: ev.Event,
    previous: ev.Event | None,
    namespace: Any,
    count: bool = True,
) -> tuple[Breakpoint | None, list[Breakpoint]]:
    """The first enabled breakpoint that stops at `event`, and those whose test or condition
    failed there (now disabled, with `broken` saying why). With `count=False` (walking
    recorded history) only the place and tensor test are asked, and nothing is counted."""
    broken = []
    for bp in breakpoints:
        if not bp.enabled:
            continue
        try:
            hit = should_stop(bp, event, previous, namespace) if count else bp.matches(
                event, previous, namespace
            )
        except ExpressionError as error:
            bp.enabled, bp.broken = False, str(error)
            broken.append(bp)
            continue
        if hit:
            return bp, broken
    return None, broken


__all__ = [
    "Breakpoint",
    "BreakpointInfo",
    "ExpressionError",
    "KEYWORDS",
    "first_hit",
    "parse",
    "should_stop",
]
