"""Markers a training loop calls so the debugger knows where iterations and epochs end.

    for step, (x, y) in enumerate(batches):
        ...
        optimizer.step()
        sg.mark_iteration(step, epoch=epoch, loss=loss.item(), accuracy=acc)
    sg.mark_epoch(epoch, test_accuracy=test_acc)

With no debugger or recorder listening they only check that each value is one number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.function import reset_names


def mark_iteration(iteration: int, epoch: int | None = None, loss: Any = None,
                   **metrics: float) -> None:
    """Mark the end of training iteration `iteration` (with its loss and any metrics)."""
    reset_names()
    # checked whether or not anyone listens, so a program fails alike with and without the
    # debugger (one number each: a Python number, numpy scalar or one-element tensor)
    value = None if loss is None else _number("mark_iteration", "loss", loss)
    numbers = _numbers("mark_iteration", metrics) if metrics else {}
    if events.listeners:
        events.emit(events.Iteration(
            seq=events.next_seq(), iteration=int(iteration),
            epoch=None if epoch is None else int(epoch), loss=value, metrics=numbers))


def mark_epoch(epoch: int, **metrics: float) -> None:
    """Mark the end of epoch `epoch` (with metrics such as test accuracy)."""
    reset_names()
    numbers = _numbers("mark_epoch", metrics) if metrics else {}
    if events.listeners:
        events.emit(events.Epoch(seq=events.next_seq(), epoch=int(epoch), metrics=numbers))


def _number(marker: str, name: str, value: Any) -> float:
    """One number from a Python number, a numpy scalar, or a one-element tensor or array."""
    array = np.asarray(value._data if hasattr(value, "_data") else value)
    try:
        if array.size == 1:
            return float(array.reshape(-1)[0])
    except (TypeError, ValueError):
        pass
    raise TypeError(f"{marker}: {name} must be one number (such as loss.item()), got "
                    f"{type(value).__name__} of shape {array.shape} and dtype {array.dtype}")


def _numbers(marker: str, metrics: dict[str, Any]) -> dict[str, float]:
    return {key: _number(marker, key, value) for key, value in metrics.items()}
