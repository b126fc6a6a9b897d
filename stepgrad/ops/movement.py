"""Movement ops: they move or copy values without arithmetic, so their backward moves
the gradient back to where each value came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.function import Context, Function, ShapeError
from stepgrad.ops.registry import register


@register
class Reshape(Function):
    """out = a viewed with a new shape (same values, same order).
    d out/d a: the gradient reshaped back to a's shape.
    PyTorch: torch.reshape / Tensor.view.  TensorFlow: tf.reshape."""

    name = "reshape"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
        ctx.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ShapeError(f"cannot reshape {a.shape} ({a.size} values) into {shape}") from None

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad.reshape(ctx.shape),)


@register
class Transpose(Function):
    """out = a with its axes permuted (reversed when `axes` is None).
    d out/d a: the gradient permuted back by the inverse permutation.
    PyTorch: torch.permute / Tensor.T.  TensorFlow: tf.transpose."""

    name = "transpose"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axes: tuple[int, ...] | None = None) -> np.ndarray:
        ctx.axes = axes
        return np.transpose(a, axes)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        # axes may be negative (permute(0, -1, 1)): number them from 0 before inverting
        inverse = None if ctx.axes is None else tuple(np.argsort([a % grad.ndim
                                                                  for a in ctx.axes]))
        return (np.transpose(grad, inverse),)


def _is_basic(index: Any) -> bool:
    """True for slices and integers only: then no element is picked twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (slice, int, type(None), type(Ellipsis))) for p in parts)


@register
class GetItem(Function):
    """out = a[index] (slices, integer arrays with repeats, boolean masks).
    d out/d a: zeros with the gradient added at the picked places (np.add.at, so an
    element picked twice gets both contributions).
    PyTorch: `a[index]`.  TensorFlow: tf.gather / strided_slice / boolean_mask."""

    name = "getitem"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, index: Any = None) -> np.ndarray:
        ctx.shape, ctx.index = a.shape, index
        try:
            return np.array(a[index])
        except IndexError as error:
            raise ShapeError(f"index {index!r} does not fit shape {a.shape} ({error})") from None

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        full = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic(ctx.index):
            full[ctx.index] = grad
        else:
            np.add.at(full, ctx.index, grad)
        return (full,)


@register
class Concat(Function):
    """out = the inputs joined along `axis`.
    d out/d input k: the slice of the gradient that input k filled.
    PyTorch: torch.cat.  TensorFlow: tf.concat."""

    name = "concat"

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        ctx.axis = axis
        ctx.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return tuple(np.split(grad, ctx.bounds, axis=ctx.axis))


@register
class Stack(Function):
    """out = the inputs stacked along a new axis `axis`.
    d out/d input k: the gradient at position k of that axis.
    PyTorch: torch.stack.  TensorFlow: tf.stack."""

    name = "stack"

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return tuple(np.moveaxis(grad, ctx.axis, 0))


@register
class Pad(Function):
    """out = a surrounded by `value` (pad_width as in np.pad: ((before, after), ...)).
    d out/d a: the gradient with the padding cut off.
    PyTorch: F.pad (its pad order is reversed).  TensorFlow: tf.pad."""

    name = "pad"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, pad_width: Any = 0, value: float = 0.0) -> np.ndarray:
        ctx.pad = np.broadcast_to(np.asarray(pad_width, dtype=int).reshape(-1, 2)
                                  if np.ndim(pad_width) else pad_width, (a.ndim, 2))
        return np.pad(a, ctx.pad, constant_values=value)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        inside = tuple(slice(before, n - after) for (before, after), n in zip(ctx.pad, grad.shape))
        return (grad[inside],)


@register
class Expand(Function):
    """out = a stretched along its length-1 axes (and new leading axes) to `shape`.
    d out/d a: the gradient summed over the stretched axes (each value was used that often).
    PyTorch: Tensor.expand / torch.broadcast_to.  TensorFlow: tf.broadcast_to."""

    name = "expand"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, shape: tuple[int, ...] = ()) -> np.ndarray:
        try:
            return np.array(np.broadcast_to(a, shape))
        except ValueError:
            raise ShapeError(f"cannot expand {a.shape} to {shape}: only axes of length 1 "
                             f"stretch") from None

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad,)  # autograd.unbroadcast sums it back to a's shape


@register
class Repeat(Function):
    """out = a tiled `repeats` times along each axis (np.tile).
    d out/d a: the sum of the gradient over every tile (each value appears once per tile).
    PyTorch: Tensor.repeat.  TensorFlow: tf.tile."""

    name = "repeat"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, repeats: tuple[int, ...] = ()) -> np.ndarray:
        if len(repeats) < a.ndim:
            raise ShapeError(f"repeat: {len(repeats)} repeats for {a.ndim} dimensions; give "
                             f"at least one per dimension")
        ctx.shape = (1,) * (len(repeats) - a.ndim) + a.shape
        ctx.repeats = repeats
        return np.tile(a.reshape(ctx.shape), repeats)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        split = [n for pair in zip(ctx.repeats, ctx.shape) for n in pair]  # (r0, n0, r1, n1..)
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (summed,)  # shaped ctx.shape; unbroadcast drops the added leading axes
