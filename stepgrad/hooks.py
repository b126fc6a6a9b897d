"""Gradient hooks: `t.register_hook(fn)` and `t.retain_grad()` (PyTorch's names).

A hook sees a tensor's gradient during backward and may replace it (return a tensor or
array) or only look (return None). A non-leaf's hooks run when its whole gradient has
arrived, before its op sends it on; a leaf's run once per backward on its total, before
it is added into `.grad`. Backward looks for hooks only once one was ever registered
(`count`), so programs without hooks pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from stepgrad.tensor import Tensor

count = 0  # hooks ever registered: backward checks for hooks only when this is not 0
_deferred: dict[int, tuple[Tensor, np.ndarray]] = {}  # leaves with hooks, this backward


class RemovableHandle:
    """What register_hook returns: `handle.remove()` takes the hook off again."""

    def __init__(self, tensor: Tensor, hook: Callable[[Any], Any]) -> None:
        self.tensor, self.hook = tensor, hook

    def remove(self) -> None:
        hooks = getattr(self.tensor, "_hooks", [])
        if self.hook in hooks:
            hooks.remove(self.hook)


def register_hook(tensor: Tensor, hook: Callable[[Any], Any]) -> RemovableHandle:
    """Call `hook(grad)` whenever `tensor`'s gradient is computed."""
    global count
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if getattr(tensor, "_hooks", None) is None:
        tensor._hooks = []
    tensor._hooks.append(hook)
    count += 1
    return RemovableHandle(tensor, hook)


def retain_grad(tensor: Tensor) -> None:
    """Keep a non-leaf's gradient in its `.grad` (a leaf keeps it anyway)."""
    if tensor._ctx is None:
        return

    def keep(grad: Tensor) -> None:
        if tensor.grad is None:
            tensor.grad = Tensor._constant(np.array(grad.data), grad.data.dtype)
        else:
            tensor.grad.data = tensor.grad.data + grad.data

    keep.retains_grad = True  # type: ignore[attr-defined]
    if not any(getattr(h, "retains_grad", False) for h in getattr(tensor, "_hooks", None) or []):
        register_hook(tensor, keep)


def run(tensor: Tensor, grad: np.ndarray) -> np.ndarray:
    """`grad` after the tensor's hooks (each may replace it)."""
    for hook in getattr(tensor, "_hooks", None) or ():
        replaced = hook(Tensor._constant(grad, grad.dtype))
        if replaced is not None:
            replaced = np.asarray(replaced, dtype=grad.dtype)
            if replaced.shape != grad.shape:
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned a "
                                   f"gradient of shape {replaced.shape}, expected {grad.shape}")
            grad = replaced
    return grad


def defer_leaf(leaf: Tensor, grad: np.ndarray) -> bool:
    """Hold a hooked leaf's gradient until backward ends (its hooks see the total)."""
    from stepgrad.autograd import _accumulate_leaf

    if not getattr(leaf, "_hooks", None):
        return _accumulate_leaf(leaf, grad, force=True)
    previous = _deferred.get(leaf._id)
    _deferred[leaf._id] = (leaf, grad if previous is None else previous[1] + grad)
    return previous is not None or leaf.grad is not None


def flush() -> None:
    """At the end of backward: run the held leaves' hooks, then add into their .grad."""
    from stepgrad.autograd import _accumulate_leaf

    held = list(_deferred.values())
    _deferred.clear()
    for leaf, grad in held:
        _accumulate_leaf(leaf, run(leaf, grad), force=True)
