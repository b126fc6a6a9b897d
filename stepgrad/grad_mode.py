"""`no_grad`, `enable_grad`, `set_grad_enabled`, `inference_mode`: switch graph building off
and on (per thread). Each works as a `with` block and as a function decorator, as in PyTorch.
"""

from __future__ import annotations

import contextlib

from stepgrad.function import grad_mode


class no_grad(contextlib.ContextDecorator):  # noqa: N801 (PyTorch's name)
    """Inside this block ops build no graph: evaluation, or updating weights by hand.
    PyTorch: `torch.no_grad()`."""

    _mode = False

    def __new__(cls, *args: object) -> no_grad:
        """`@torch.no_grad` without parentheses decorates too, as in PyTorch 2."""
        if cls in (no_grad, enable_grad) and len(args) == 1 and callable(args[0]):
            return cls()(args[0])  # type: ignore[return-value]
        return super().__new__(cls)

    def __enter__(self) -> None:
        if "_previous" not in self.__dict__:
            self._previous: list[bool] = []  # a stack: a decorated function may recurse
        self._previous.append(grad_mode.enabled)
        grad_mode.enabled = self._mode

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self._previous.pop()


class enable_grad(no_grad):  # noqa: N801
    """Turn graph building back on inside a `no_grad` block. PyTorch: `torch.enable_grad()`."""

    _mode = True


class inference_mode(no_grad):  # noqa: N801
    """`no_grad` by another name (PyTorch's faster variant; here they are the same).
    `inference_mode(False)` leaves graph building as it is."""

    def __init__(self, mode: bool = True) -> None:
        self._mode = not mode and grad_mode.enabled


class set_grad_enabled(no_grad):  # noqa: N801
    """`set_grad_enabled(False)` is no_grad, `(True)` is enable_grad; as a call outside a
    `with`, it switches the mode for the rest of the thread, as in PyTorch."""

    def __init__(self, mode: bool) -> None:
        self._mode = bool(mode)
        self._before = grad_mode.enabled
        grad_mode.enabled = self._mode

    def __enter__(self) -> None:
        grad_mode.enabled = self._before  # __enter__ restores it on exit
        super().__enter__()


def is_grad_enabled() -> bool:
    return grad_mode.enabled


def is_inference_mode_enabled() -> bool:
    return not grad_mode.enabled
