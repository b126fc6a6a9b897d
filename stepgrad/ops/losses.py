"""More losses: negative log-likelihood over class scores, and binary cross-entropy on
probabilities. (Cross-entropy on logits, MSE and BCE on logits are in nn.py.)

Class scores come shaped (N, C) or (N, C, d1, d2, ...) as in PyTorch: the class axis is
axis 1. `_rows` lays every position out as a row of C scores so the op bodies stay short.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.function import Context, Function, ShapeError
from stepgrad.ops.nn import reduce_loss
from stepgrad.ops.registry import register


def _rows(scores: np.ndarray) -> np.ndarray:
    """(N, C, d...) -> (N * d..., C): one row of class scores per position."""
    if scores.ndim == 1:
        return scores[None, :]
    return np.moveaxis(scores, 1, -1).reshape(-1, scores.shape[1])


def _unrows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of _rows."""
    if len(shape) == 1:
        return rows[0]
    moved = (shape[0],) + shape[2:] + (shape[1],)
    return np.moveaxis(rows.reshape(moved), -1, 1)


def _targets(scores: np.ndarray, target: np.ndarray, ignore: int) -> tuple:
    """Score rows, one target per row (ignored ones as class 0) and which rows count."""
    rows, t = _rows(scores), target.reshape(-1).astype(np.int64)
    if len(rows) != len(t):
        raise ShapeError(f"scores {scores.shape} and target {target.shape} do not fit: "
                         f"expected target {scores.shape[:1] + scores.shape[2:]}")
    kept = t != ignore
    return rows, np.where(kept, t, 0), kept


@register
class NLLLoss(Function):
    """loss = -sum_i w[t_i] * scores[i, t_i] / sum_i w[t_i]   (scores: log-probabilities,
    t: class indices; w: class weights, 1 by default; targets equal to ignore_index count 0).
    d loss/d scores[i, t_i] = -w[t_i] / sum w; every other score gets 0.
    PyTorch: F.nll_loss / nn.NLLLoss.  TensorFlow: -tf.gather(scores, t, batch_dims=1)."""

    name = "nll_loss"
    differentiable = 1

    @staticmethod
    def forward(ctx: Context, scores: np.ndarray, target: np.ndarray, weight: Any = None,
                ignore_index: int = -100, reduction: str = "mean") -> np.ndarray:
        rows, t, kept = _targets(scores, target, ignore_index)
        w = (np.ones(rows.shape[1]) if weight is None else np.asarray(weight))[t] * kept
        ctx.shape, ctx.t, ctx.target_shape = scores.shape, t, target.shape
        ctx.w = w / w.sum() if reduction == "mean" else w
        losses = -(ctx.w * rows[np.arange(len(t)), t])
        out = losses.sum() if reduction != "none" else losses.reshape(target.shape)
        return np.asarray(out, dtype=scores.dtype)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        rows = np.zeros((len(ctx.t), ctx.shape[1] if len(ctx.shape) > 1 else ctx.shape[0]))
        rows[np.arange(len(ctx.t)), ctx.t] = -ctx.w * np.broadcast_to(grad, ctx.target_shape) \
            .reshape(-1)
        return _unrows(rows, ctx.shape).astype(grad.dtype), None


@register
class BCELoss(Function):
    """loss = -(y ln p + (1 - y) ln(1 - p)), each log clamped at -100 as PyTorch does.
    d loss/d p = (p - y) / (p (1 - p))   (p (1 - p) kept above 1e-12).
    PyTorch: F.binary_cross_entropy / nn.BCELoss.
    TensorFlow: tf.keras.losses.BinaryCrossentropy."""

    name = "binary_cross_entropy"
    differentiable = 1

    @staticmethod
    def forward(ctx: Context, p: np.ndarray, y: np.ndarray, weight: Any = None,
                reduction: str = "mean") -> np.ndarray:
        if p.shape != y.shape:
            raise ShapeError(f"input {p.shape} and target {y.shape} differ")
        if np.any((p < 0) | (p > 1)):
            raise ValueError("binary_cross_entropy: all input values must be between 0 and 1 "
                             "(apply sigmoid first, or use binary_cross_entropy_with_logits)")
        with np.errstate(divide="ignore"):
            loss = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
        ctx.w = 1.0 if weight is None else np.asarray(weight)
        ctx.p, ctx.y, ctx.reduction = p, y, reduction
        return reduce_loss(loss * ctx.w, reduction).astype(p.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        p, n = ctx.p, ctx.p.size if ctx.reduction == "mean" else 1
        slope = (p - ctx.y) / np.maximum(p * (1 - p), 1e-12)
        return grad * slope * ctx.w / n, None
