"""What front ends read: plain frozen snapshots of the session, made fresh at each stop.

A front end never reaches into the session's moving parts; it reads a `State` (where the
cursor is, the program's status, the training progress) and, for one node, a `NodeView`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug.breakpoints import BreakpointInfo


@dataclass(frozen=True)
class LineState:
    """Where `step into` is: line `lineno` of an op's forward or backward, with its locals."""

    op: str
    phase: str
    lineno: int
    position: int
    steps: int
    locals_text: str


@dataclass(frozen=True)
class State:
    """A snapshot of the session for front ends."""

    status: str
    cursor: int
    head: int
    event: ev.Event | None
    total: int
    first: int
    iteration: int | None
    epoch: int | None
    losses: tuple[tuple[int, float], ...]
    metrics: tuple[tuple[int, dict[str, float]], ...]
    ratios: dict[str, float]
    reason: str
    error: str | None
    breakpoints: tuple[BreakpointInfo, ...]
    displays: tuple[str, ...]
    line: LineState | None
    history_bytes: int
    history_limit: int


@dataclass(frozen=True)
class NodeView:
    """Everything recorded about the node of event `number`."""

    number: int
    event: ev.Event
    forward: ev.ForwardStep | None
    backward: ev.BackwardStep | None
    tensors: dict[str, np.ndarray]


def snapshot(session: Any) -> State:
    """The State of a Session now (read by front ends after each stop)."""
    history, progress = session.history, session.progress
    cursor = session.cursor
    return State(
        status=session.status,
        cursor=cursor,
        head=history.last,
        event=history[cursor] if cursor in history else None,
        total=len(history),
        first=history.first,
        iteration=progress.iteration,
        epoch=progress.epoch,
        losses=tuple(progress.losses),
        metrics=tuple(progress.metrics),
        ratios=progress.ratios,
        reason=session._reason,
        error=session._error,
        breakpoints=tuple(bp.info() for bp in session.breakpoints),
        displays=tuple(session.displays),
        line=session.stepper.line,
        history_bytes=history.nbytes,
        history_limit=history.limit,
    )
