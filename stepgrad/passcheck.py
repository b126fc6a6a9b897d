"""Gradient checks of recorded nodes and of one whole backward pass, as the debugger's
`gradcheck` and `gradcheck all` report them.

`gradcheck all` checks one named backward pass: the one the cursor is in, else the last
complete one before the cursor (else the first after it), so the verdict does not depend
on where in a forward pass the program happens to be paused. Each op of the pass is checked
at its nodes' recorded inputs and recorded upstream gradients (see nodecheck.py).

Only recorded events are read (anything with `len` and indexing by event number, such as
stepgrad.debug.history.History or a sg.trace() Trace): no debugger or user-interface import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from stepgrad import events as ev
from stepgrad.nodecheck import MISMATCH, NOT_DIFFERENTIABLE, OK, NodeCheck, check_node
from stepgrad.probe import GradcheckInterrupted

#: How far `gradcheck all` looks for a backward pass, in events, either side of the cursor.
SEARCH = 200_000
#: Nodes checked per op in a pass (the latest made first), and seconds of element search each.
NODES_PER_OP, SECONDS_PER_NODE = 2, 0.2

Progress = Callable[[str], Any]
Cancel = Callable[[], bool]


class Recorded(Protocol):
    """Recorded events by number (a History also has `first`, its oldest kept number)."""

    def __len__(self) -> int: ...
    def __getitem__(self, number: int) -> ev.Event: ...


def _first(history: Recorded) -> int:
    return int(getattr(history, "first", 0))


def node_report(forward: ev.ForwardStep, upstream: Any = None, progress: Progress | None = None,
                cancel: Cancel | None = None, seconds: float = 0.5) -> str:
    """`gradcheck` at one node: its verdict and how it was reached."""
    try:
        result = check_node(forward.op, forward.inputs, forward.attrs, upstream,
                            seconds=seconds, progress=progress, cancel=cancel)
    except GradcheckInterrupted:
        return f"gradcheck {forward.name} ({forward.op}): gradcheck interrupted"
    return f"gradcheck {forward.name} ({forward.op}): {result.verdict}\n{result.message}"


def backward_pass(history: Recorded, cursor: int) -> tuple[range, str] | None:
    """The event numbers of the backward pass to check (BackwardBegin to BackwardEnd) and
    which one it is, relative to the cursor; None when no backward pass is recorded."""
    last = len(history) - 1
    cursor = min(max(cursor, _first(history)), last)
    for number in range(cursor, max(_first(history), cursor - SEARCH) - 1, -1):
        event = history[number]
        if isinstance(event, ev.BackwardEnd):
            start = _begin_before(history, number)
            if start is not None:
                which = "the pass the cursor is at" if number == cursor else \
                    "the last complete pass before the cursor"
                return range(start, number + 1), which
        elif isinstance(event, ev.BackwardBegin):
            end = _end_after(history, number)
            done = isinstance(history[end], ev.BackwardEnd)
            return range(number, end + 1), "the pass the cursor is in" + (
                "" if done else ": the nodes it has reached so far")
    for number in range(cursor + 1, min(last, cursor + SEARCH) + 1):
        if isinstance(history[number], ev.BackwardBegin):
            return range(number, _end_after(history, number) + 1), \
                "the first pass after the cursor (none before it)"
    return None


def _begin_before(history: Recorded, end: int) -> int | None:
    for number in range(end - 1, max(_first(history), end - SEARCH) - 1, -1):
        if isinstance(history[number], ev.BackwardBegin):
            return number
    return None


def _end_after(history: Recorded, begin: int) -> int:
    last = len(history) - 1
    for number in range(begin + 1, min(last, begin + SEARCH) + 1):
        if isinstance(history[number], ev.BackwardEnd):
            return number
    return last  # not finished yet (or cut): what has been recorded of it


def pass_nodes(history: Recorded, events: range) -> dict[str, list[tuple[ev.ForwardStep,
                                                                         ev.BackwardStep]]]:
    """The pass's nodes by op, each with its forward and backward step, in backward order."""
    by_op: dict[str, list[tuple[ev.ForwardStep, ev.BackwardStep]]] = {}
    forward_of = getattr(history, "forward_of", None)
    if forward_of is None:  # a plain list of events: look the forward steps up once
        made = {e.node_id: e for number in range(_first(history), len(history))
                if isinstance(e := history[number], ev.ForwardStep)}
        forward_of = made.get
    for number in events:
        event = history[number]
        if isinstance(event, ev.BackwardStep):
            forward = forward_of(event.node_id)
            if forward is not None:
                by_op.setdefault(event.op, []).append((forward, event))
    return by_op


def pass_report(history: Recorded, cursor: int, progress: Progress | None = None,
                cancel: Cancel | None = None) -> str:
    """`gradcheck all`: every op of one backward pass, one row each (see the module doc)."""
    found = backward_pass(history, cursor)
    if found is None:
        return ("gradcheck all: no backward pass recorded yet; continue until the program "
                "calls backward (break backward, then continue)")
    events, which = found
    begin = history[events[0]]
    root = begin.root_name if isinstance(begin, ev.BackwardBegin) else "?"
    by_op = pass_nodes(history, events)
    rows = [f"gradcheck all: the backward pass from {root} at events #{events[0]}-#{events[-1]}"
            f" ({which}); each op at up to {NODES_PER_OP} of its nodes, on the recorded "
            f"inputs and upstream gradients"]
    if not by_op:
        return rows[0] + "\n  (no node of this pass is still in the history)"
    verdicts = set()
    for done, op in enumerate(sorted(by_op)):
        if progress is not None:
            progress(f"gradcheck all: {op} ({done + 1} of {len(by_op)} ops)")
        try:
            verdict, row = _op_row(op, by_op[op][:NODES_PER_OP], cancel)
        except GradcheckInterrupted:
            rows.append(f"gradcheck interrupted ({done} of {len(by_op)} ops checked)")
            return "\n".join(rows)
        verdicts.add(verdict)
        rows.append(row)
    if NOT_DIFFERENTIABLE in verdicts:
        rows.append("(not differentiable: backward agrees with finite differences except at "
                    "kinks, such as a ReLU at 0 or a tie in a max, where no derivative exists)")
    return "\n".join(rows)


def _op_row(op: str, nodes: list[tuple[ev.ForwardStep, ev.BackwardStep]],
            cancel: Cancel | None) -> tuple[str, str]:
    """One op's row: the worst verdict among its checked nodes, naming that node."""
    rank = {MISMATCH: 0, NOT_DIFFERENTIABLE: 1, OK: 2}
    results: list[tuple[ev.ForwardStep, NodeCheck]] = []
    for forward, backward in nodes:
        results.append((forward, check_node(op, forward.inputs, forward.attrs, backward.upstream,
                                            seconds=SECONDS_PER_NODE, cancel=cancel)))
    forward, result = min(results, key=lambda pair: rank[pair[1].verdict])
    detail = "  " + result.message.splitlines()[0] if result.verdict == MISMATCH else ""
    return result.verdict, f"  {result.verdict:<18} {forward.name:<18} {op}{detail}"
