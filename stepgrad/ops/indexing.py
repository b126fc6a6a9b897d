"""Indexing ops beyond `a[index]` (movement.GetItem): gather along an axis, and writing
into positions (`x[index] = v`, the op behind Tensor.__setitem__)."""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.function import Context, Function, ShapeError
from stepgrad.ops.registry import register


@register
class Gather(Function):
    """out[i][j] = a[i][indices[i][j]] along `axis` (indices shaped like out).
    d out/d a: zeros with the gradient added back at the gathered places (np.add.at:
    an element gathered twice gets both contributions).
    PyTorch: torch.gather(a, dim, index).  TensorFlow: tf.gather(batch_dims=...)."""

    name = "gather"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, indices: Any = None, axis: int = 0) -> np.ndarray:
        indices = np.asarray(indices)
        if indices.ndim != a.ndim:
            raise ShapeError(f"index {indices.shape} and input {a.shape} need the same number "
                             f"of dimensions")
        ctx.shape, ctx.indices, ctx.axis = a.shape, indices, axis
        return np.take_along_axis(a, indices, axis=axis)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        full = np.zeros(ctx.shape, dtype=grad.dtype)
        axis = ctx.axis % len(ctx.shape)
        places = list(np.indices(ctx.indices.shape, sparse=True))
        places[axis] = ctx.indices
        np.add.at(full, tuple(places), grad)
        return (full,)


@register
class SetItem(Function):
    """out = a with out[index] = b   (b broadcast to the indexed shape).
    d out/d a: the gradient with zeros where b was written (those values of a are gone).
    d out/d b: the gradient at the written places, out[index].
    PyTorch: `a[index] = b` (index_put_).  TensorFlow: tf.tensor_scatter_nd_update."""

    name = "setitem"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray, index: Any = None) -> np.ndarray:
        out = a.copy()  # a new array: the old value stays true where it was recorded
        try:
            out[index] = b
        except (IndexError, ValueError) as error:
            raise ShapeError(f"cannot set {b.shape} values at {index!r} of {a.shape} "
                             f"({error})") from None
        ctx.index, ctx.b_shape = index, b.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        grad_a = grad.copy()
        grad_a[ctx.index] = 0
        grad_b = np.asarray(grad[ctx.index])  # the written shape; unbroadcast brings it to b's
        return grad_a, grad_b
