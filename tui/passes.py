"""The tape's model: the events of one pass (forward, backward, optimizer step) as rows.

A *pass* is the stretch of history the cursor is in: it starts after an iteration or
epoch mark, or where a forward follows a backward or an optimizer step, so a training
loop shows one iteration's graph at a time. Every ForwardStep is a node row, grouped
under a header per module; a BackwardStep lands on its node's row (the row then shows
the gradient's magnitude); begin/end of backward, optimizer steps and loop marks are
marker rows. `row_for(index)` says which row to highlight for any event of the pass.
Where a pass starts is decided once, in the core (`stepgrad.debug.passes`), for the tape,
the `graph` command and the graph view alike.

No textual here: the model is built and tested without a screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug.passes import MAX_PASS, HistoryLike, pass_start, starts_pass

__all__ = ["MAX_PASS", "Pass", "Row", "build", "marker_text", "pass_start", "starts_pass"]


@dataclass(eq=False)
class Row:
    """One line of the tape: a module header, a node or a marker."""

    kind: str                      # "group" | "node" | "mark"
    index: int                     # history index of the event the row stands for
    label: str                     # node name, module path or marker text
    op: str = ""
    shape: str = ""
    depth: int = 0
    group: int = -1                # row number of the node's module header (-1: none)
    node_id: int | None = None
    backward: int | None = None    # history index of the node's BackwardStep
    grad_norm: float | None = None
    count: int = 0                 # nodes under a header
    search: str = ""               # lower-case text the filter matches against


def _norm(array: np.ndarray | None) -> float | None:
    if array is None:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.sqrt(np.sum(np.square(array, dtype=np.float64))))


def _shape(array: Any) -> str:
    shape = getattr(array, "shape", None)
    return "" if shape is None else "(" + ",".join(str(n) for n in shape) + ")"


def marker_text(event: ev.Event) -> str:
    if isinstance(event, ev.BackwardBegin):
        return f"backward from {event.root_name} ({event.nodes} nodes)"
    if isinstance(event, ev.BackwardEnd):
        return f"backward done at {event.root_name}"
    if isinstance(event, ev.OptimizerStep):
        return f"{event.optimizer}.step() #{event.step} lr={event.lr:g}"
    if isinstance(event, ev.ZeroGrad):
        return f"{event.owner}.zero_grad()"
    if isinstance(event, ev.Iteration):
        loss = "" if event.loss is None else f" loss={event.loss:.4g}"
        return f"iteration {event.iteration}{loss}"
    if isinstance(event, ev.Epoch):
        return f"epoch {event.epoch}"
    return event.kind


class Pass:
    """The rows of one pass, extended event by event as the program runs."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.end = start - 1            # last history index added
        self.rows: list[Row] = []
        self.event_rows: list[int] = []  # per event of the pass: the row to highlight
        self.node_rows: dict[int, int] = {}
        self.version = 0                 # bumped when rows are added or changed
        self._modules: dict[str, tuple[str, int]] = {}   # path -> (class name, enter index)
        self._group_of_path: dict[str, int] = {}
        self._open_group = -1
        self._open_path: str | None = None

    def __contains__(self, index: int) -> bool:
        return self.start <= index <= self.end

    def row_for(self, index: int) -> int:
        """The row to highlight when the cursor is at history index `index` (-1: none)."""
        if not self.start <= index <= self.end:
            return -1
        return self.event_rows[index - self.start]

    def extend(self, history: HistoryLike, head: int) -> bool:
        """Add events up to `head` while they belong to this pass; False when one does not."""
        index = self.end + 1
        previous = history[self.end] if self.end >= self.start else None
        while index <= head:
            event = history[index]
            if previous is not None and starts_pass(previous, event):
                return False
            self.add(index, event)
            previous = event
            index += 1
        return True

    def add(self, index: int, event: ev.Event) -> None:
        """Add history event `index` (the next one after `end`)."""
        self.end = index
        row = len(self.rows) - 1
        if isinstance(event, ev.ForwardStep):
            row = self._add_forward(index, event)
        elif isinstance(event, ev.BackwardStep):
            row = self._add_backward(index, event)
        elif isinstance(event, ev.ModuleEnter):
            self._modules[event.path] = (event.module, index)
        elif isinstance(event, ev.ModuleExit):
            row = self._group_of_path.get(event.path, row)
            if self._open_path == event.path:
                self._open_path = None
        else:
            row = self._add_row(Row("mark", index, marker_text(event), op=event.kind))
            self._open_path = None
        self.event_rows.append(row)

    def _add_row(self, row: Row) -> int:
        row.search = f"{row.label} {row.op} {row.shape}".lower()
        self.rows.append(row)
        self.version += 1
        return len(self.rows) - 1

    def _group_for(self, path: str, depth: int, index: int) -> int:
        """The header row of module `path`, opening a new group when the module changes."""
        if path == self._open_path:
            return self._open_group
        known = depth > 0 and path in self._modules
        module, enter = self._modules[path] if known else ("", index)
        label = path or ("(model)" if depth > 0 else "(top level)")
        header = Row("group", enter, label, op=module, depth=path.count(".") if path else 0)
        self._open_group = self._add_row(header)
        self._open_path = path
        self._group_of_path[path] = self._open_group
        if known and self.start <= enter < index:
            self.event_rows[enter - self.start] = self._open_group
        return self._open_group

    def _add_forward(self, index: int, event: ev.ForwardStep) -> int:
        group = self._group_for(event.module_path, event.depth, index)
        self.rows[group].count += 1
        row = self._add_row(Row("node", index, event.name, op=event.op, shape=_shape(event.output),
                                depth=self.rows[group].depth + 1, group=group,
                                node_id=event.node_id))
        self.node_rows[event.node_id] = row
        return row

    def _add_backward(self, index: int, event: ev.BackwardStep) -> int:
        row = self.node_rows.get(event.node_id)
        if row is None:
            row = self._add_row(Row("node", index, event.name, op=event.op,
                                    shape=_shape(event.upstream), node_id=event.node_id))
            self.node_rows[event.node_id] = row
        target = self.rows[row]
        target.backward = index
        target.grad_norm = _norm(event.upstream)
        self.version += 1
        return row


def build(history: HistoryLike, index: int, head: int) -> Pass:
    """The pass holding history event `index`, with every recorded event of it up to `head`."""
    model = Pass(pass_start(history, index))
    model.extend(history, head)
    return model

