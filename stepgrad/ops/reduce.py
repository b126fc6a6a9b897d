"""Reductions: sum, mean, max, min over some axes (all axes when `axis` is None).

The backward of a reduction *spreads* the gradient back over the reduced axes. To do
that the gradient first gets its reduced axes back as size-1 axes (`_expand`), then
numpy broadcasting stretches it over the input's shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.function import Context, Function
from stepgrad.ops.registry import register


def _expand(grad: np.ndarray, shape: tuple[int, ...], axis: Any, keepdims: bool) -> np.ndarray:
    """Give `grad` the reduced axes back as size-1 axes, so it broadcasts against `shape`."""
    if axis is None:
        return grad.reshape((1,) * len(shape))
    if keepdims:
        return grad
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return np.expand_dims(grad, tuple(a % len(shape) for a in axes))


def _count(shape: tuple[int, ...], axis: Any) -> int:
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return int(np.prod([shape[a] for a in axes]))


@register
class Sum(Function):
    """out = sum of a over `axis`.   d out/d a_i = 1 for every element summed.
    PyTorch: torch.sum(a, dim, keepdim).  TensorFlow: tf.reduce_sum(a, axis, keepdims)."""

    name = "sum"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None,
                keepdims: bool = False) -> np.ndarray:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return np.asarray(a.sum(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (np.broadcast_to(_expand(grad, ctx.shape, ctx.axis, ctx.keepdims), ctx.shape),)


@register
class Mean(Function):
    """out = sum of a over `axis` / n.   d out/d a_i = 1 / n.
    PyTorch: torch.mean(a, dim, keepdim).  TensorFlow: tf.reduce_mean(a, axis, keepdims)."""

    name = "mean"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None,
                keepdims: bool = False) -> np.ndarray:
        ctx.shape, ctx.axis, ctx.keepdims = a.shape, axis, keepdims
        return np.asarray(a.mean(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        n = _count(ctx.shape, ctx.axis)
        return (np.broadcast_to(_expand(grad, ctx.shape, ctx.axis, ctx.keepdims) / n, ctx.shape),)


@register
class Max(Function):
    """out = max of a over `axis`.   d out/d a_i = 1 for the maximum, 0 elsewhere
    (shared equally among ties, like torch.amax).
    PyTorch: torch.amax(a, dim, keepdim).  TensorFlow: tf.reduce_max."""

    name = "max"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None,
                keepdims: bool = False) -> np.ndarray:
        out = np.asarray(a.max(axis=axis, keepdims=keepdims))
        ctx.hit = a == _expand(out, a.shape, axis, keepdims)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        ties = ctx.hit.sum(axis=ctx.axis, keepdims=True)
        return (_expand(grad, ctx.hit.shape, ctx.axis, ctx.keepdims) * ctx.hit / ties,)


@register
class Min(Function):
    """out = min of a over `axis`.   d out/d a_i = 1 for the minimum, 0 elsewhere
    (shared equally among ties, like torch.amin).
    PyTorch: torch.amin(a, dim, keepdim).  TensorFlow: tf.reduce_min."""

    name = "min"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None,
                keepdims: bool = False) -> np.ndarray:
        out = np.asarray(a.min(axis=axis, keepdims=keepdims))
        ctx.hit = a == _expand(out, a.shape, axis, keepdims)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        ties = ctx.hit.sum(axis=ctx.axis, keepdims=True)
        return (_expand(grad, ctx.hit.shape, ctx.axis, ctx.keepdims) * ctx.hit / ties,)
