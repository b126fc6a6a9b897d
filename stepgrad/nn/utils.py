"""Gradient clipping, applied between `loss.backward()` and `optimizer.step()`.
PyTorch: `torch.nn.utils.clip_grad_norm_`, `clip_grad_value_`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad.optim.optimizer import grad_array
from stepgrad.tensor import Tensor


def _with_grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in params if p.grad is not None]


def _set_grad(p: Tensor, array: np.ndarray) -> None:
    """Replace a gradient's values: a new array (recorded gradients stay true), the same
    Tensor object when `.grad` is a Tensor (as PyTorch's in-place mul_ keeps it)."""
    if isinstance(p.grad, Tensor):
        p.grad.data = array
    else:
        p.grad = array  # type: ignore[assignment]  # a numpy .grad (older stepgrad code)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: Any = None) -> Tensor:
    """Scale all gradients together so their joint norm is at most max_norm.

    total = ||(||g_1||, ..., ||g_n||)||  (the norm of all gradients as one long vector);
    every g is multiplied by min(1, max_norm / (total + 1e-6)). Returns the total norm
    from before the clipping (watch it: a spike is an exploding gradient).
    """
    params = _with_grads(parameters)
    norm_type = float(norm_type)
    if not params:
        return Tensor(np.array(0.0, dtype=np.float32))
    grads = [grad_array(p) for p in params]
    if math.isinf(norm_type):
        norms = [np.abs(g).max() if g.size else 0.0 for g in grads]
        total = float(max(norms))
    else:
        norms = [np.sum(np.abs(g) ** norm_type) ** (1 / norm_type) for g in grads]
        total = float(np.sum(np.asarray(norms) ** norm_type) ** (1 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}, so they cannot be clipped; pass "
                           f"error_if_nonfinite=False to clip anyway")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for p, g in zip(params, grads):
        _set_grad(p, (g * coef).astype(g.dtype, copy=False))
    return Tensor(np.array(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: Any = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value]."""
    for p in _with_grads(parameters):
        _set_grad(p, np.clip(grad_array(p), -clip_value, clip_value))


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
