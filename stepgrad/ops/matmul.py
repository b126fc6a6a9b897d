"""Matrix products: matmul (1-D, 2-D and batched) and linear (x @ W.T + b)."""

from __future__ import annotations

import numpy as np

from stepgrad.function import Context, Function, ShapeError
from stepgrad.ops.registry import register


def _check_inner(a: np.ndarray, b: np.ndarray) -> None:
    """Raise a ShapeError that says why `a @ b` is impossible, if it is."""
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"{a.shape} @ {b.shape}: matmul needs at least 1-D inputs; use * "
                         f"for a scalar")
    inner_b = b.shape[-2 if b.ndim > 1 else 0]
    if a.shape[-1] != inner_b:
        raise ShapeError(f"{a.shape} @ {b.shape}: inner sizes {a.shape[-1]} and {inner_b} differ")


def _to_vector(grad: np.ndarray | None, like: np.ndarray) -> np.ndarray | None:
    """A vector input's gradient, back from its promoted (1, n) or (n, 1) matrix form."""
    if grad is None or like.ndim > 1:
        return grad
    if like.shape[0] == 0:  # (0,) @ (0, 8): an empty vector's gradient is empty
        return np.zeros(like.shape, dtype=grad.dtype)
    return grad.reshape(-1, like.shape[0]).sum(0)


@register
class MatMul(Function):
    """out = a @ b, numpy's matmul rules (a vector is promoted to a matrix and back).
    d out/d a = grad @ b^T,  d out/d b = a^T @ grad  (on the batched matrices).
    PyTorch: torch.matmul / `a @ b`.  TensorFlow: tf.linalg.matmul."""

    name = "matmul"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _check_inner(a, b)
        ctx.a, ctx.b = a, b
        return a @ b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        a = ctx.a[None, :] if ctx.a.ndim == 1 else ctx.a      # (n,) -> (1, n)
        b = ctx.b[:, None] if ctx.b.ndim == 1 else ctx.b      # (n,) -> (n, 1)
        g = grad[..., None] if ctx.b.ndim == 1 else grad       # grad with the axes promoted
        g = g[..., None, :] if ctx.a.ndim == 1 else g
        grad_a = g @ np.swapaxes(b, -1, -2) if ctx.needs_input_grad[0] else None
        grad_b = np.swapaxes(a, -1, -2) @ g if ctx.needs_input_grad[1] else None
        return _to_vector(grad_a, ctx.a), _to_vector(grad_b, ctx.b)


@register
class Linear(Function):
    """out = x @ W^T + b, with W shaped (out_features, in_features) as in PyTorch.
    d out/d x = grad @ W,   d out/d W = grad^T @ x,   d out/d b = grad summed over the batch
    (the bias was added to every row, so each row's gradient counts).
    PyTorch: F.linear / nn.Linear.  TensorFlow: tf.keras.layers.Dense (kernel is W^T)."""

    name = "linear"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
        if x.shape[-1] != weight.shape[1]:
            raise ShapeError(f"input {x.shape} @ weight.T {weight.shape[::-1]}: the input has "
                             f"{x.shape[-1]} features but the layer expects {weight.shape[1]}")
        ctx.x, ctx.weight = x, weight
        return x @ weight.T + bias

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        rows = grad.reshape(-1, grad.shape[-1])                       # (batch, out)
        grad_x = grad @ ctx.weight if ctx.needs_input_grad[0] else None
        grad_w = rows.T @ ctx.x.reshape(-1, ctx.x.shape[-1])          # (out, in)
        grad_b = rows.sum(axis=0)                                     # (out,)
        return grad_x, grad_w, grad_b
