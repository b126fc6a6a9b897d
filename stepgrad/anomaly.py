"""Anomaly mode: stop at the first node whose forward or backward made NaN or Inf.

    with sg.detect_anomaly():
        loss = model(x); loss.backward()      # raises AnomalyError naming the node

It is a listener like any other (so with it off the engine pays nothing).
PyTorch: `torch.autograd.detect_anomaly()`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import numpy as np

from stepgrad import events


class AnomalyError(FloatingPointError):
    """A node produced NaN or Inf."""


def _bad(array: np.ndarray | None) -> str:
    if array is None or array.dtype.kind != "f" or np.isfinite(array).all():
        return ""
    nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    return ", ".join(part for part in (f"{nan} NaN" if nan else "", f"{inf} Inf" if inf else "")
                     if part)


def _check(event: events.Event) -> None:
    if isinstance(event, events.ForwardStep):
        found = _bad(event.output)
        if found and not any(_bad(a) for a in event.inputs):
            raise AnomalyError(f"forward of {event.name} ({event.op}) produced {found} from "
                               f"finite inputs, at {os.path.basename(event.file)}:{event.line}")
    elif isinstance(event, events.BackwardStep) and not _bad(event.upstream):
        for i, grad in enumerate(event.grads):
            found = _bad(grad)
            if found:
                where = f"{os.path.basename(event.file)}:{event.line}"
                raise AnomalyError(f"backward of {event.name} ({event.op}) sent {found} to input "
                                   f"{i} ({event.input_names[i]}) from a finite upstream gradient; "
                                   f"the node was made at {where}")


@contextlib.contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise AnomalyError at the first node that turns finite values into NaN or Inf."""
    unsubscribe = events.subscribe(_check)
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        unsubscribe()
