"""Events: what the engine tells the outside world, one frozen object per step.

The engine emits events from exactly two kinds of place: the forward funnel
(`Function.apply`) and the backward loop (`autograd.backward`), plus the boundaries
that modules, optimizers and training loops mark. Nothing here knows about any user
interface: a debugger, a recorder or a printer *subscribes* a callable and receives
every event in the thread that produced it.

    import stepgrad as sg
    unsubscribe = sg.events.subscribe(print)   # any callable taking one Event
    ...
    unsubscribe()

With no subscriber, the engine's only cost is one truth test of `listeners` per node:
no event object is built.

Arrays inside events keep the values they had when the event was emitted: an op's output
and the gradients are arrays the engine never writes again (in-place tensor updates rebind
`.data` to a new array), so events share them; leaves, which may be the user's own numpy
memory, are copied. Only a write straight into an op output's numpy array (`y.data[0] = 1`,
bypassing the tensor API) would reach an event.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

Listener = Callable[["Event"], None]

#: The subscribed callables. The engine tests `if listeners:` before building an event.
listeners: list[Listener] = []

#: The dotted paths of the modules being called, outermost first ("" for an unnamed root):
#: ["", "encoder", "encoder.fc1"] while encoder.fc1 runs inside the model.
module_stack: list[str] = []

_seq = itertools.count(1)


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call `listener(event)` for every event from now on; returns the unsubscribe function."""
    listeners.append(listener)

    def unsubscribe() -> None:
        if listener in listeners:
            listeners.remove(listener)

    return unsubscribe


#: The next sequence number (itertools.count's own __next__: no Python call in between).
next_seq: Callable[[], int] = _seq.__next__


def emit(event: Event) -> None:
    """Hand `event` to every listener (a listener may raise to stop the program)."""
    # one listener (the usual case) is called straight from the list: iterating a list that
    # shrinks meanwhile just ends early; with several, a copy keeps the order stable
    for listener in listeners if len(listeners) < 2 else tuple(listeners):
        listener(event)


def module_path() -> str:
    """The dotted path of the module being called, such as `encoder.fc1`."""
    return module_stack[-1] if module_stack else ""


def snapshot(array: Any) -> Any:
    """A copy of `array` that later in-place changes cannot reach (None stays None)."""
    return None if array is None else np.array(array, copy=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event: a sequence number (global, increasing) and a phase.

    `depth` is how many modules were being called when the event happened (0 outside
    any module); the debugger's `next` and `finish` step over whole modules with it.
    """

    seq: int
    depth: int = 0
    kind: ClassVar[str] = "event"
    phase: ClassVar[str] = "run"
    #: The fast positional constructor of the classes the engine makes per node (_positional)
    make: ClassVar[Callable[..., Any]]

    def summary(self) -> str:
        """One line describing the event (what `STEPGRAD_DEBUG=1` prints)."""
        return f"#{self.seq} {self.kind}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardStep(Event):
    """A node computed its output from its inputs (emitted by `Function.apply`)."""

    kind: ClassVar[str] = "forward"
    phase: ClassVar[str] = "forward"
    node_id: int
    op: str
    name: str
    inputs: tuple[np.ndarray, ...]
    input_ids: tuple[int, ...]
    input_names: tuple[str, ...]
    input_requires_grad: tuple[bool, ...]
    output: np.ndarray
    attrs: dict[str, Any]
    module_path: str
    depth: int
    file: str
    line: int
    requires_grad: bool

    def summary(self) -> str:
        shapes = ", ".join(str(tuple(a.shape)) for a in self.inputs)
        where = f" in {self.module_path}" if self.module_path else ""
        return (f"#{self.seq} forward  {self.name} = {self.op}({shapes}) -> "
                f"{tuple(self.output.shape)}{where} at {_short(self.file)}:{self.line}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BackwardStep(Event):
    """A node received its upstream gradient and sent one gradient to each input.

    `grads[i]` is what input i receives (already reduced to its shape; None when it
    needs no gradient), `summed_axes[i]` the broadcast axes that were summed to get
    there, and `accumulated[i]` is True when input i already held a gradient that this
    one is added to (a value used more than once).
    """

    kind: ClassVar[str] = "backward"
    phase: ClassVar[str] = "backward"
    node_id: int
    op: str
    name: str
    upstream: np.ndarray
    grads: tuple[np.ndarray | None, ...]
    input_ids: tuple[int, ...]
    input_names: tuple[str, ...]
    accumulated: tuple[bool, ...]
    summed_axes: tuple[tuple[int, ...], ...]
    module_path: str
    depth: int
    file: str
    line: int

    def summary(self) -> str:
        sent = ", ".join("-" if g is None else str(tuple(g.shape)) for g in self.grads)
        where = f" in {self.module_path}" if self.module_path else ""
        return (f"#{self.seq} backward {self.name} ({self.op}) grad {tuple(self.upstream.shape)}"
                f" -> [{sent}]{where}")


@dataclass(frozen=True, slots=True, kw_only=True)
class BackwardBegin(Event):
    kind: ClassVar[str] = "backward_begin"
    phase: ClassVar[str] = "backward"
    root_id: int
    root_name: str
    nodes: int

    def summary(self) -> str:
        return f"#{self.seq} backward begins at {self.root_name} ({self.nodes} nodes)"


@dataclass(frozen=True, slots=True, kw_only=True)
class BackwardEnd(Event):
    kind: ClassVar[str] = "backward_end"
    phase: ClassVar[str] = "backward"
    root_id: int
    root_name: str

    def summary(self) -> str:
        return f"#{self.seq} backward ends at {self.root_name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleEnter(Event):
    kind: ClassVar[str] = "module_enter"
    phase: ClassVar[str] = "forward"
    path: str
    module: str
    depth: int

    def summary(self) -> str:
        return f"#{self.seq} enter {self.path or '<model>'} ({self.module})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleExit(Event):
    kind: ClassVar[str] = "module_exit"
    phase: ClassVar[str] = "forward"
    path: str
    module: str
    depth: int

    def summary(self) -> str:
        return f"#{self.seq} exit  {self.path or '<model>'} ({self.module})"


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamUpdate:
    """One parameter's share of an optimizer step: its gradient, the change the step made
    to it, and the norm of the weight before the change (for the update-to-weight ratio)."""

    name: str
    grad: np.ndarray | None
    update: np.ndarray
    weight_norm: float
    make: ClassVar[Callable[..., ParamUpdate]]

    @property
    def ratio(self) -> float:
        """||update|| / ||weight before the update|| (a healthy step is around 1e-3); worked
        out when asked, so recording a step costs one norm per parameter, not two."""
        if self.weight_norm <= 0:
            return float("inf")
        update = self.update.ravel()
        return float(np.sqrt(np.dot(update, update))) / self.weight_norm


@dataclass(frozen=True, slots=True, kw_only=True)
class OptimizerStep(Event):
    kind: ClassVar[str] = "optimizer_step"
    phase: ClassVar[str] = "optimizer"
    optimizer: str
    lr: float
    step: int
    params: tuple[ParamUpdate, ...]

    def summary(self) -> str:
        worst = max((p.ratio for p in self.params), default=0.0)
        return (f"#{self.seq} {self.optimizer}.step() #{self.step} lr={self.lr:g}: "
                f"{len(self.params)} parameters, max update/weight {worst:.2e}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ZeroGrad(Event):
    kind: ClassVar[str] = "zero_grad"
    phase: ClassVar[str] = "optimizer"
    owner: str
    params: int

    def summary(self) -> str:
        return f"#{self.seq} {self.owner}.zero_grad() on {self.params} parameters"


@dataclass(frozen=True, slots=True, kw_only=True)
class Iteration(Event):
    """A training loop finished an iteration (emitted by `sg.mark_iteration`)."""

    kind: ClassVar[str] = "iteration"
    phase: ClassVar[str] = "loop"
    iteration: int
    epoch: int | None
    loss: float | None
    metrics: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        extra = "".join(f" {k}={v:.4g}" for k, v in self.metrics.items())
        loss = "" if self.loss is None else f" loss={self.loss:.4g}"
        epoch = "" if self.epoch is None else f" epoch {self.epoch}"
        return f"#{self.seq} iteration {self.iteration}{epoch}{loss}{extra}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Epoch(Event):
    """A training loop finished an epoch (emitted by `sg.mark_epoch`)."""

    kind: ClassVar[str] = "epoch"
    phase: ClassVar[str] = "loop"
    epoch: int
    metrics: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        extra = "".join(f" {k}={v:.4g}" for k, v in self.metrics.items())
        return f"#{self.seq} epoch {self.epoch}{extra}"


def _positional(cls: type[Any]) -> None:
    """Give the frozen event class `cls` a fast positional constructor, `cls.make(*values)`
    (every field, in declaration order), for the engine's hot paths; `cls(**fields)` stays the
    ordinary dataclass constructor.

    Why: a frozen dataclass's __init__ must set each field through object.__setattr__ (the
    class refuses plain assignment). Measured with tests/bench/test_engine_bench.py's chain
    (two events a node): recording cost 18.3 µs a node through the ordinary constructor and
    10.3 µs through a `make` like this one (ForwardStep alone: 3.0 µs vs 0.34 µs).
    How, with no generated code of our own: `make` is an unfrozen twin of `cls` (same slots,
    so Python allows an object to switch between them) whose __init__ is the one `dataclasses`
    writes for an unfrozen class with the same fields: plain assignments. Its __post_init__
    turns the finished object into a `cls`, frozen like any other.
    """
    def become_frozen(self: Any) -> None:
        object.__setattr__(self, "__class__", cls)

    spec = [(f.name, Any) for f in dataclasses.fields(cls)]
    # __post_init__ given here too, so the __init__ dataclasses writes ends by calling it
    fields = dataclasses.make_dataclass(f"_{cls.__name__}Fields", spec,
                                        namespace={"__post_init__": become_frozen})
    assign = fields.__dict__["__init__"]  # the function itself
    cls.make = type(f"{cls.__name__}Maker", (cls,), {
        "__slots__": (), "__init__": assign, "__post_init__": become_frozen,
        # both, or Python keeps the frozen class's setattr slot (they share one C slot)
        "__setattr__": object.__setattr__, "__delattr__": object.__delattr__})


for _cls in (ForwardStep, BackwardStep, ModuleEnter, ModuleExit, ParamUpdate):
    _positional(_cls)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (ForwardStep, BackwardStep, BackwardBegin, BackwardEnd, ModuleEnter, ModuleExit,
                OptimizerStep, ZeroGrad, Iteration, Epoch)
}


def _short(path: str) -> str:
    return os.path.basename(path) if path else "?"


def _print_event(event: Event) -> None:
    print(event.summary(), file=sys.stderr)


if os.environ.get("STEPGRAD_DEBUG", "") not in ("", "0"):
    subscribe(_print_event)
