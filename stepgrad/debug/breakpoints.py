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

A condition that fails to evaluate is reported once and disables its breakpoint: it never
stops the program.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug.expr import ExpressionError, compile_expression, evaluate
from stepgrad.ops.registry import registry

PHASES = ("forward", "backward")
#: What a node, module or parameter name looks like: relu_3, fc1, encoder.0.weight
_NAME = re.compile(r"\w[\w.]*")
KEYWORDS = ("nan", "inf", "if", "dead", "saturated", "forward", "backward")


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
    kind: str  # op | name | nan | inf | expr | dead | saturated
    phase: str | None = None
    target: str | None = None
    threshold: float = 0.0
    code: Any = None  # compiled tensor expression (kind == "expr")
    condition: str | None = None
    condition_code: Any = None
    temporary: bool = False
    enabled: bool = True
    ignore: int = 0
    hits: int = 0
    broken: str | None = field(default=None)

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
        flags = [] if self.enabled else ["disabled"]
        if self.temporary:
            flags.append("temporary")
        if self.condition:
            flags.append(f"if {self.condition}")
        if self.ignore:
            flags.append(f"ignore next {self.ignore}")
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
    bp = Breakpoint(number, spec, kind="expr", phase=phase, temporary=temporary)
    if not words and condition:
        bp.code = compile_expression(condition)
        return bp
    if not words and phase is not None:  # `break backward`: every node's backward step
        bp.kind = "phase"
        return bp
    if not words:
        raise ValueError(
            "break what? Give an op (break relu), a node or module name (break fc2),"
            " nan, inf, or a condition (break grad.norm > 1e3)"
        )
    first = words[0]
    if first in ("nan", "inf") and len(words) == 1:
        bp.kind = first
    elif first in ("dead", "saturated"):
        bp.kind, bp.target, bp.threshold = first, *_op_threshold(first, words[1:])
        bp.phase = "forward"
    elif any(sym in head for sym in ("<", ">", "==", "!=")):
        bp.code = compile_expression(head if not phase else " ".join(words))
    elif len(words) == 1 and _NAME.fullmatch(first):
        bp.kind, bp.target = ("op" if first in registry else "name"), first
    else:
        raise ValueError(f"cannot read 'break {spec}'; see 'help break' for the forms")
    if condition:
        bp.condition, bp.condition_code = condition, compile_expression(condition)
    return bp


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


def _has(array: np.ndarray | None, test: Any) -> bool:
    return array is not None and array.dtype.kind == "f" and bool(test(array).any())


def _arrays(event: ev.Event) -> list[np.ndarray]:
    if isinstance(event, ev.ForwardStep):
        return [event.output]
    if isinstance(event, ev.BackwardStep):
        return [g for g in event.grads if g is not None]
    return []


def _saturation(op: str, out: np.ndarray) -> float:
    if op == "sigmoid":
        return float(((out < 0.01) | (out > 0.99)).mean())
    return float((np.abs(out) > 0.99).mean())


def matches(bp: Breakpoint, event: ev.Event, previous: ev.Event | None, namespace: Any) -> bool:
    """Does `event` meet the breakpoint's place and tensor test (before condition/ignore)?"""
    if not isinstance(event, (ev.ForwardStep, ev.BackwardStep, ev.ModuleEnter)):
        return False
    if bp.phase is not None and event.phase != bp.phase:
        return False
    if isinstance(event, ev.ModuleEnter):
        return bp.kind == "name" and event.path == bp.target
    if bp.kind == "phase":
        return not isinstance(event, ev.ModuleEnter)
    if bp.kind == "op":
        return event.op == bp.target
    if bp.kind == "name":
        if event.name == bp.target or bp.target in event.input_names:
            return True
        inside = event.module_path == bp.target or event.module_path.startswith(f"{bp.target}.")
        entering = previous is None or getattr(previous, "module_path", None) != event.module_path
        return inside and isinstance(event, ev.BackwardStep) and entering
    if bp.kind == "nan":
        return any(_has(a, np.isnan) for a in _arrays(event))
    if bp.kind == "inf":
        return any(_has(a, np.isinf) for a in _arrays(event))
    if bp.kind in ("dead", "saturated"):
        if not isinstance(event, ev.ForwardStep) or event.op != bp.target or not event.output.size:
            return False
        fraction = (
            float((event.output == 0).mean())
            if bp.kind == "dead"
            else _saturation(bp.target or "", event.output)
        )
        return fraction > bp.threshold
    if bp.kind == "expr":
        return _truth(_evaluate_test(bp.code, namespace()))
    return False


def _evaluate_test(code: Any, names: dict[str, Any]) -> Any:
    """Evaluate a test; a comparison with a tensor the step lacks (grad at a forward step,
    where it is None) is simply false, not an error."""
    try:
        return evaluate(code, names)
    except ExpressionError as error:
        if "NoneType" in str(error):
            return False
        raise


def _truth(value: Any) -> bool:
    if value is None:
        return False
    array = np.asarray(value)
    return bool(array.any()) if array.dtype != object else bool(value)


def should_stop(bp: Breakpoint, event: ev.Event, previous: ev.Event | None, namespace: Any) -> bool:
    """Apply place, tensor test, condition and ignore count; count the hit. May raise
    ExpressionError (the caller disables the breakpoint and reports it once)."""
    if not bp.enabled or not matches(bp, event, previous, namespace):
        return False
    if bp.condition_code is not None and not _truth(_evaluate_test(bp.condition_code, namespace())):
        return False
    bp.hits += 1
    if bp.ignore > 0:
        bp.ignore -= 1
        return False
    return True


__all__ = [
    "Breakpoint",
    "BreakpointInfo",
    "ExpressionError",
    "KEYWORDS",
    "matches",
    "parse",
    "should_stop",
]
