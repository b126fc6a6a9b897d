"""Breakpoint matchers: one small callable per kind of place, in the style of rules.py.

A matcher is asked about an event (`matcher(event, previous, namespace)`) and answers
whether the breakpoint's place and tensor test hold there; conditions and ignore counts are
the breakpoint's business (breakpoints.py). `events` names the event types a matcher looks
at, so most events are turned away by one type check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug.expr import ExpressionError, evaluate
from stepgrad.ops.registry import registry

#: The namespace of the event, built only when a test needs it (see namespace.py).
Namespace = Callable[[], dict[str, Any]]
NODE_STEPS = (ev.ForwardStep, ev.BackwardStep)


class Matcher:
    """Matches every forward or backward step (`break forward`, `break backward`)."""

    kind = "phase"
    events: tuple[type, ...] = NODE_STEPS

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        return True


@dataclass
class Op(Matcher):
    """Every node of one op: `break relu`."""

    op: str
    kind = "op"

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        return bool(event.op == self.op)


@dataclass
class Name(Matcher):
    """A node, a module or a parameter by name: `break fc2`, `break fc1.weight`.

    A module stops where it is entered in the forward pass and where the backward pass
    first enters it."""

    name: str
    aliases: set[str] = field(default_factory=set)  # engine names of the variable's tensor
    kind = "name"
    events = (*NODE_STEPS, ev.ModuleEnter)

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        if isinstance(event, ev.ModuleEnter):
            return bool(event.path == self.name)
        if event.name == self.name or event.op == self.name:  # or an op stepgrad's registry
            return True  # lacks: torch's flatten, view, a custom Function (stepgrad.torchbridge)
        if self.name in event.input_names and not is_node_name(self.name):
            return True  # a leaf (parameter, input): it has no steps, so stop where it is used
        if self.aliases and not self.aliases.isdisjoint(event.input_names):
            return True  # a variable's tensor known to the engine as t17
        path = event.module_path
        inside = path == self.name or path.startswith(f"{self.name}.")
        entering = previous is None or getattr(previous, "module_path", None) != path
        return inside and isinstance(event, ev.BackwardStep) and entering


def is_node_name(name: str) -> bool:
    """Is `name` one the engine gives a node (`add_1`, `relu_12`)? Such a node has steps of
    its own, so `break add_1` stops there and not where add_1 is used."""
    op, _, number = name.rpartition("_")
    return number.isdigit() and op in registry


@dataclass
class OptimizerStep(Matcher):
    """An optimizer's step: `break step` (any optimizer), `break Adam` (by class name)."""

    optimizer: str | None = None
    kind = "optimizer"
    events = (ev.OptimizerStep,)

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        return self.optimizer is None or bool(event.optimizer == self.optimizer)


@dataclass
class Loop(Matcher):
    """A training-loop event: `break zero_grad`, `break iteration`, `break epoch`."""

    event_type: type
    kind = "loop"

    def __post_init__(self) -> None:
        self.events = (self.event_type,)


@dataclass
class Line(Matcher):
    """The first node made by a line of the user's program: `break train.py:12`,
    `break 12`. A line that makes several nodes in a row stops once, at the first."""

    line: int
    file: str | None = None  # None: any file
    kind = "line"
    events = (ev.ForwardStep,)

    def made_here(self, event: Any) -> bool:
        if not isinstance(event, ev.ForwardStep) or event.line != self.line:
            return False
        return self.file is None or same_file(event.file, self.file)

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        return self.made_here(event) and not self.made_here(previous)


def same_file(path: str, wanted: str) -> bool:
    """Does `path` name the file the user wrote as `wanted` (a full path or its tail)?"""
    path, wanted = path.replace("\\", "/"), wanted.replace("\\", "/")
    return path == wanted or path.endswith("/" + wanted.lstrip("./"))


def _has(array: np.ndarray | None, test: Any) -> bool:
    return array is not None and array.dtype.kind == "f" and bool(test(array).any())


def computed(event: Any) -> list[np.ndarray]:
    """The arrays a step computed: a forward step's output, a backward step's grads."""
    if isinstance(event, ev.ForwardStep):
        return [event.output]
    return [g for g in event.grads if g is not None]


class NaN(Matcher):
    """Any NaN in what a node computed: `break nan`."""

    kind = "nan"

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        return any(_has(a, np.isnan) for a in computed(event))


class Inf(Matcher):
    """Any infinity in what a node computed: `break inf`."""

    kind = "inf"

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        return any(_has(a, np.isinf) for a in computed(event))


@dataclass
class Dead(Matcher):
    """More than `threshold` of an op's outputs exactly zero: `break dead relu > 0.5`."""

    op: str
    threshold: float
    kind = "dead"
    events = (ev.ForwardStep,)

    def fraction(self, out: np.ndarray) -> float:
        return float((out == 0).mean())

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        if event.op != self.op or not event.output.size:
            return False
        return self.fraction(event.output) > self.threshold


@dataclass
class Saturated(Dead):
    """More than `threshold` of tanh/sigmoid outputs stuck near their limits."""

    kind = "saturated"

    def fraction(self, out: np.ndarray) -> float:
        if self.op == "sigmoid":
            return float(((out < 0.01) | (out > 0.99)).mean())
        return float((np.abs(out) > 0.99).mean())


@dataclass
class Test(Matcher):
    """Any expression over the node's tensors: `break grad.norm > 1e3`, `break if ...`."""

    code: Any
    kind = "expr"

    def __call__(self, event: Any, previous: ev.Event | None, namespace: Namespace) -> bool:
        return truth(evaluate_test(self.code, namespace()))


def evaluate_test(code: Any, names: dict[str, Any]) -> Any:
    """Evaluate a test; a comparison with a tensor the step lacks (grad at a forward step,
    where it is None) is simply false, not an error."""
    try:
        return evaluate(code, names)
    except ExpressionError as error:
        if "NoneType" in str(error):
            return False
        raise


def truth(value: Any) -> bool:
    """Is a test's value true? Arrays are true when any element is (`break out > 1`); a
    value that cannot be read as true or false raises ExpressionError saying so."""
    if value is None:
        return False
    if isinstance(value, (list, tuple, dict, set)):  # `break if ins`: true whenever non-empty
        raise ExpressionError(
            f"its value is a {type(value).__name__} ({_brief(value)}), which is not true or "
            f"false; compare something, for example: ins[0].mean() > 0"
        )
    try:
        array = np.asarray(value)
        return bool(array.any()) if array.dtype != object else bool(value)
    except BaseException as error:  # noqa: BLE001 (a user's __bool__ may raise anything)
        raise ExpressionError(
            f"its value {_brief(value)} is not true or false ({type(error).__name__}: {error})"
        ) from None


def _brief(value: Any) -> str:
    try:
        text = repr(value)
    except BaseException:  # noqa: BLE001 (a user's __repr__ may raise anything)
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."
