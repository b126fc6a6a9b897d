"""`sg.no_grad()` and `sg.enable_grad()`: switch graph building off and on (per thread)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from stepgrad.function import grad_mode


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Inside this block ops build no graph: evaluation, or updating weights by hand.
    PyTorch: `torch.no_grad()`."""
    previous, grad_mode.enabled = grad_mode.enabled, False
    try:
        yield
    finally:
        grad_mode.enabled = previous


@contextlib.contextmanager
def enable_grad() -> Iterator[None]:
    """Turn graph building back on inside a `no_grad` block. PyTorch: `torch.enable_grad()`."""
    previous, grad_mode.enabled = grad_mode.enabled, True
    try:
        yield
    finally:
        grad_mode.enabled = previous


def is_grad_enabled() -> bool:
    return grad_mode.enabled
