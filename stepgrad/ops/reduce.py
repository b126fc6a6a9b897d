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


def _scalar_axis(a: np.ndarray, axis: Any) -> Any:
    """PyTorch lets a 0-d tensor be reduced over dim 0 or -1 (it has no axes): all of it."""
    return None if a.ndim == 0 else axis


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
        axis = _scalar_axis(a, axis)
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
        axis = _scalar_axis(a, axis)
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
        axis = _scalar_axis(a, axis)
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
        axis = _scalar_axis(a, axis)
        out = np.asarray(a.min(axis=axis, keepdims=keepdims))
        ctx.hit = a == _expand(out, a.shape, axis, keepdims)
        ctx.axis, ctx.keepdims = axis, keepdims
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        ties = ctx.hit.sum(axis=ctx.axis, keepdims=True)
        return (_expand(grad, ctx.hit.shape, ctx.axis, ctx.keepdims) * ctx.hit / ties,)


@register
class Prod(Function):
    """out = product of a over `axis`.   d out/d a_i = product of the other elements
    (= out / a_i when a_i != 0; computed without dividing, so zeros are handled).
    PyTorch: torch.prod(a, dim, keepdim).  TensorFlow: tf.reduce_prod."""

    name = "prod"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None,
                keepdims: bool = False) -> np.ndarray:
        axis = _scalar_axis(a, axis)
        ctx.a, ctx.axis, ctx.keepdims = a, axis, keepdims
        return np.asarray(a.prod(axis=axis, keepdims=keepdims))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        a, axis = ctx.a, ctx.axis
        moved = np.moveaxis(a.reshape(-1) if axis is None else a, -1 if axis is None else axis, -1)
        before = np.cumprod(np.concatenate([np.ones_like(moved[..., :1]), moved[..., :-1]], -1), -1)
        after = np.cumprod(np.concatenate([np.ones_like(moved[..., :1]), moved[..., :0:-1]], -1),
                           -1)[..., ::-1]  # products left and right of each element
        others = np.moveaxis(before * after, -1, -1 if axis is None else axis).reshape(a.shape)
        return (_expand(grad, a.shape, axis, ctx.keepdims) * others,)


@register
class LogSumExp(Function):
    """out = log sum_i e**(a_i) over `axis`, computed as m + log sum e**(a_i - m), m = max a.
    d out/d a_i = e**(a_i - out) = softmax(a)_i.
    PyTorch: torch.logsumexp(a, dim, keepdim).  TensorFlow: tf.reduce_logsumexp."""

    name = "logsumexp"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: Any = None,
                keepdims: bool = False) -> np.ndarray:
        axis = _scalar_axis(a, axis)
        m = a.max(axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)  # all -inf stays -inf instead of nan
        out = m + np.log(np.exp(a - m).sum(axis=axis, keepdims=True))
        ctx.softmax, ctx.axis, ctx.keepdims = np.exp(a - out), axis, keepdims
        return out if keepdims else np.asarray(np.squeeze(out, axis=axis))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (_expand(grad, ctx.softmax.shape, ctx.axis, ctx.keepdims) * ctx.softmax,)


@register
class CumSum(Function):
    """out_i = a_0 + ... + a_i along `axis` (the running total).
    d out_j/d a_i = 1 for every j >= i, so grad_a is the running total of grad from the end.
    PyTorch: torch.cumsum(a, dim).  TensorFlow: tf.math.cumsum."""

    name = "cumsum"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: int = 0) -> np.ndarray:
        ctx.axis = None if a.ndim == 0 else axis
        return np.cumsum(a, axis=ctx.axis).reshape(a.shape)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        if ctx.axis is None:
            return (grad,)
        return (np.flip(np.cumsum(np.flip(grad, ctx.axis), axis=ctx.axis), ctx.axis),)
