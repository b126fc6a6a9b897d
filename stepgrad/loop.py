"""Markers a training loop calls so the debugger knows where iterations and epochs end.

    for step, (x, y) in enumerate(batches):
        ...
        optimizer.step()
        sg.mark_iteration(step, epoch=epoch, loss=loss.item(), accuracy=acc)
    sg.mark_epoch(epoch, test_accuracy=test_acc)

They cost nothing when no debugger or recorder listens.
"""

from __future__ import annotations

from typing import Any

from stepgrad import events
from stepgrad.function import reset_names


def mark_iteration(iteration: int, epoch: int | None = None, loss: Any = None,
                   **metrics: float) -> None:
    """Mark the end of training iteration `iteration` (with its loss and any metrics)."""
    reset_names()
    if events.listeners:
        events.emit(events.Iteration(
            seq=events.next_seq(), iteration=int(iteration),
            epoch=None if epoch is None else int(epoch),
            loss=None if loss is None else float(getattr(loss, "data", loss)),
            metrics={k: float(v) for k, v in metrics.items()}))


def mark_epoch(epoch: int, **metrics: float) -> None:
    """Mark the end of epoch `epoch` (with metrics such as test accuracy)."""
    reset_names()
    if events.listeners:
        events.emit(events.Epoch(seq=events.next_seq(), epoch=int(epoch),
                                 metrics={k: float(v) for k, v in metrics.items()}))
