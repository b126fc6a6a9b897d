"""History: every event the debugger saw, in order, within a memory limit.

Events are numbered from 0 in the order they happened (the `#K` the debugger shows);
the numbers never change, even when the oldest events are dropped to stay under the
limit (`first` is then the oldest number still kept).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from stepgrad import events as ev

DEFAULT_LIMIT = 256 * 2**20

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30}


def parse_size(text: str) -> int:
    """'256MB', '1GB', '500k' or a byte count -> bytes; ValueError with a clear message."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise ValueError(f"cannot read {text!r} as a size; write it like 256MB, 1GB or 500KB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


#: What an event costs beyond its arrays' data (the object, its tuples, names and dict), and
#: what each numpy array object costs beyond its data; measured with tracemalloc.
EVENT_OVERHEAD = 400
ARRAY_OVERHEAD = 112


def _arrays_bytes(arrays: Any) -> int:
    total = 0
    for a in arrays:
        if a is not None:
            total += ARRAY_OVERHEAD + a.nbytes
    return total


def _forward_bytes(event: ev.ForwardStep) -> int:
    total = ARRAY_OVERHEAD * (len(event.inputs) + 1) + event.output.nbytes
    for a in event.inputs:
        total += a.nbytes
    return total


def _backward_bytes(event: ev.BackwardStep) -> int:
    return ARRAY_OVERHEAD + event.upstream.nbytes + _arrays_bytes(event.grads)


def _optimizer_bytes(event: ev.OptimizerStep) -> int:
    return sum(200 + _arrays_bytes((p.update, p.grad)) for p in event.params)


_ARRAY_BYTES: dict[type, Callable[[Any], int]] = {
    ev.ForwardStep: _forward_bytes,
    ev.BackwardStep: _backward_bytes,
    ev.OptimizerStep: _optimizer_bytes,
}


def event_bytes(event: ev.Event) -> int:
    """The memory an event takes alone: its arrays and the Python objects around them.

    (History counts an array shared by several events once: see History.append.)"""
    sizer = _ARRAY_BYTES.get(type(event))
    return EVENT_OVERHEAD if sizer is None else EVENT_OVERHEAD + sizer(event)


def _forward_arrays(event: ev.ForwardStep) -> tuple[np.ndarray, ...]:
    return (*event.inputs, event.output)


def _backward_arrays(event: ev.BackwardStep) -> tuple[np.ndarray | None, ...]:
    return (event.upstream, *event.grads)


def _optimizer_arrays(event: ev.OptimizerStep) -> list[np.ndarray | None]:
    return [a for p in event.params for a in (p.update, p.grad)]


#: The arrays each kind of event holds (None where an input receives no gradient).
_ARRAYS: dict[type, Callable[[Any], Any]] = {
    ev.ForwardStep: _forward_arrays,
    ev.BackwardStep: _backward_arrays,
    ev.OptimizerStep: _optimizer_arrays,
}


class History:
    """The recorded events, indexed by their number; bounded by `limit` bytes.

    `nbytes` counts each array once however many events hold it: events share arrays (a
    node's output is the next node's input, and the gradient a node sends is the next one's
    upstream), so counting them at each use took lesson 9's 8 epochs for 370 MB when they
    hold 188 MB. An array's count of holders is kept by its id (alive while held)."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.first = 0
        self.nbytes = 0
        self.dropped = 0
        self._events: deque[ev.Event] = deque()
        self._holders: dict[int, int] = {}  # id(array) -> how many kept events hold it
        self._forward: dict[int, int] = {}  # node id -> number of its latest ForwardStep
        self._backward: dict[int, int] = {}  # node id -> number of its latest BackwardStep
        #: Iteration boundaries dropped with their events (tiny: a number and a loss each),
        #: so the learner can still see what was evicted.
        self.evicted_iterations: list[ev.Iteration] = []

    def __len__(self) -> int:
        """The number the next event will get (events 0 .. len-1 happened)."""
        return self.first + len(self._events)

    @property
    def last(self) -> int:
        return len(self) - 1

    def __contains__(self, number: int) -> bool:
        return self.first <= number < len(self)

    def __getitem__(self, number: int) -> ev.Event:
        if number < self.first:
            raise IndexError(
                f"event #{number} was dropped to keep the history under "
                f"{format_size(self.limit)}; the oldest kept is #{self.first}"
            )
        if number >= len(self):
            raise IndexError(f"event #{number} has not happened yet (the newest is #{self.last})")
        return self._events[number - self.first]

    def __iter__(self) -> Iterator[ev.Event]:
        return iter(self._events)

    def numbered(
        self, start: int | None = None, stop: int | None = None
    ) -> Iterator[tuple[int, ev.Event]]:
        start = self.first if start is None else max(start, self.first)
        stop = len(self) if stop is None else min(stop, len(self))
        for number in range(start, stop):
            yield number, self._events[number - self.first]

    def append(self, event: ev.Event) -> int:
        """Record `event`; returns its number. Drops the oldest events past the limit."""
        kept = self._events
        number = self.first + len(kept)
        arrays = _ARRAYS.get(type(event))
        size = EVENT_OVERHEAD
        if arrays is not None:
            holders = self._holders
            for array in arrays(event):  # an array already held by a kept event costs nothing
                if array is not None:
                    key = id(array)
                    count = holders.get(key, 0)
                    holders[key] = count + 1
                    if not count:
                        size += ARRAY_OVERHEAD + array.nbytes
        kept.append(event)
        self.nbytes += size
        if arrays is _forward_arrays:
            self._forward[event.node_id] = number  # type: ignore[attr-defined]
        elif arrays is _backward_arrays:
            self._backward[event.node_id] = number  # type: ignore[attr-defined]
        if self.nbytes > self.limit:
            while self.nbytes > self.limit and len(kept) > 1:
                self._drop_oldest()
        return number

    def set_limit(self, limit: int) -> None:
        self.limit = limit
        while self.nbytes > self.limit and len(self._events) > 1:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        old = self._events.popleft()
        self.nbytes -= EVENT_OVERHEAD
        arrays = _ARRAYS.get(type(old))
        if arrays is not None:
            holders = self._holders
            for array in arrays(old):  # freed when no kept event holds it any more
                if array is not None:
                    key = id(array)
                    count = holders[key] - 1
                    if count:
                        holders[key] = count
                    else:
                        del holders[key]
                        self.nbytes -= ARRAY_OVERHEAD + array.nbytes
        if isinstance(old, ev.ForwardStep) and self._forward.get(old.node_id) == self.first:
            del self._forward[old.node_id]
        elif isinstance(old, ev.BackwardStep) and self._backward.get(old.node_id) == self.first:
            del self._backward[old.node_id]
        elif type(old) is ev.Iteration:
            self.evicted_iterations.append(old)
        self.first += 1
        self.dropped += 1

    def forward_of(self, node_id: int) -> ev.ForwardStep | None:
        """The ForwardStep that made node `node_id`, if still recorded."""
        number = self._forward.get(node_id)
        return None if number is None or number < self.first else self[number]  # type: ignore[return-value]

    def forward_number(self, node_id: int) -> int | None:
        number = self._forward.get(node_id)
        return None if number is None or number < self.first else number

    def backward_of(self, node_id: int) -> ev.BackwardStep | None:
        """The latest BackwardStep of node `node_id`, if recorded."""
        number = self._backward.get(node_id)
        return None if number is None or number < self.first else self[number]  # type: ignore[return-value]

    def tensors(self, number: int) -> dict[str, np.ndarray]:
        """The arrays of event `number` by the names expressions use (out, ins[i], grads[i])."""
        event = self[number]
        found: dict[str, np.ndarray] = {}
        forward = event if isinstance(event, ev.ForwardStep) else None
        if isinstance(event, ev.BackwardStep):
            forward = self.forward_of(event.node_id)
            found["grad"] = event.upstream
            for i, grad in enumerate(event.grads):
                if grad is not None:
                    found[f"grads[{i}]"] = grad
        if forward is not None:
            for i, array in enumerate(forward.inputs):
                found[f"ins[{i}]"] = array
            found["out"] = forward.output
        return found


def evicted_summary(history: History) -> str:
    """What eviction took, in the learner's words: `iterations 0..9 (loss 2.3 -> 1.95)`."""
    gone = history.evicted_iterations
    if not gone:
        return ""
    span = f"iteration {gone[0].iteration}" if len(gone) == 1 else (
        f"iterations {gone[0].iteration}..{gone[-1].iteration}"
    )
    losses = [i.loss for i in gone if i.loss is not None]
    if not losses:
        return span
    trend = f"{losses[0]:.4g}" if len(losses) == 1 else f"{losses[0]:.4g} -> {losses[-1]:.4g}"
    return f"{span} (loss {trend})"


def budget_text(history: History) -> str:
    """`info history`: the budget, what is kept, and what was dropped."""
    used = history.nbytes / history.limit if history.limit else 0.0
    kept = (
        f"events #{history.first}..#{history.last} ({history.last - history.first + 1} kept)"
        if len(history) and history.last >= history.first
        else "no events kept"
    )
    lines = [f"history: {format_size(history.nbytes)} of {format_size(history.limit)} "
             f"({used:.0%}), {kept}"]
    if history.dropped:
        summary = evicted_summary(history)
        what = f", including {summary}" if summary else ""
        lines.append(f"dropped: the {history.dropped} oldest events{what}")
    else:
        lines.append("dropped: nothing yet")
    lines.append("'set history SIZE' changes the budget; 'save FILE' writes the kept events "
                 "to a trace file")
    return "\n".join(lines)
