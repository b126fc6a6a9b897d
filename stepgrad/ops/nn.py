"""Ops of neural networks: softmax, losses, dropout and batch normalisation.

Losses are single ops (as PyTorch's are) so their backward can use the simple fused
form, for example cross-entropy's (softmax - one_hot) / N.
"""

from __future__ import annotations

import numpy as np

from stepgrad.function import Context, Function, ShapeError
from stepgrad.ops.registry import register


def reduce_loss(losses: np.ndarray, reduction: str) -> np.ndarray:
    """The losses per element, averaged ("mean"), added ("sum") or kept ("none")."""
    if reduction == "mean":
        return np.asarray(losses.mean())
    if reduction == "sum":
        return np.asarray(losses.sum())
    if reduction == "none":
        return losses
    raise ValueError(f"{reduction} is not a valid value for reduction; use 'mean', 'sum' or "
                     f"'none'")


@register
class Softmax(Function):
    """out_i = e**(a_i - max a) / sum_j e**(a_j - max a)   (subtracting the max keeps e**x finite).
    d out/d a: grad_a = out * (grad - sum(grad * out)) along `axis`.
    PyTorch: torch.softmax(a, dim).  TensorFlow: tf.nn.softmax."""

    name = "softmax"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: int = -1) -> np.ndarray:
        e = np.exp(a - a.max(axis=axis, keepdims=True))
        ctx.out, ctx.axis = e / e.sum(axis=axis, keepdims=True), axis
        return ctx.out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        out = ctx.out
        return (out * (grad - (grad * out).sum(axis=ctx.axis, keepdims=True)),)


@register
class LogSoftmax(Function):
    """out_i = a_i - max a - log sum_j e**(a_j - max a)   (stable log of softmax).
    d out/d a: grad_a = grad - softmax(a) * sum(grad) along `axis`.
    PyTorch: torch.log_softmax(a, dim).  TensorFlow: tf.nn.log_softmax."""

    name = "log_softmax"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, axis: int = -1) -> np.ndarray:
        shifted = a - a.max(axis=axis, keepdims=True)
        out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        ctx.out, ctx.axis = out, axis
        return out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad - np.exp(ctx.out) * grad.sum(axis=ctx.axis, keepdims=True),)


@register
class CrossEntropy(Function):
    """loss = mean over the batch of -log softmax(logits)[target]   (integer class targets).
    d loss/d logits = (softmax(logits) - one_hot(target)) / N.
    PyTorch: F.cross_entropy / nn.CrossEntropyLoss.
    TensorFlow: tf.nn.sparse_softmax_cross_entropy_with_logits + reduce_mean."""

    name = "cross_entropy"
    differentiable = 1

    @staticmethod
    def forward(ctx: Context, logits: np.ndarray, target: np.ndarray) -> np.ndarray:
        if logits.ndim != 2 or target.shape != logits.shape[:1]:
            raise ShapeError(f"logits {logits.shape} and target {target.shape}: expected logits "
                             f"(batch, classes) and integer targets (batch,)")
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        rows = np.arange(len(target))
        ctx.probs, ctx.target = np.exp(log_probs), target
        # sum / n is what .mean() computes (the same pairwise sum, in float32 for float16),
        # without numpy's Python-level mean wrapper (3 µs of a 150 µs MLP step)
        picked = log_probs[rows, target]
        total = picked.sum(dtype=np.float32 if picked.dtype == np.float16 else None)
        return np.asarray(-(total / len(target)), dtype=logits.dtype)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        n = len(ctx.target)
        grad_logits = ctx.probs.copy()
        grad_logits[np.arange(n), ctx.target] -= 1
        return grad_logits * (grad / n), None


@register
class MSELoss(Function):
    """loss = mean((a - b)**2).   d loss/d a = 2 (a - b) / N,  d loss/d b = -2 (a - b) / N.
    reduction="sum" leaves out the / N; "none" gives each (a - b)**2.
    PyTorch: F.mse_loss / nn.MSELoss.  TensorFlow: tf.keras.losses.MeanSquaredError."""

    name = "mse_loss"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray, reduction: str = "mean") -> np.ndarray:
        if a.shape != b.shape:
            raise ShapeError(f"input {a.shape} and target {b.shape} differ; mse_loss compares "
                             f"them element by element")
        ctx.diff, ctx.reduction = a - b, reduction
        return reduce_loss(ctx.diff * ctx.diff, reduction).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        n = ctx.diff.size if ctx.reduction == "mean" else 1
        g = 2 * ctx.diff * (grad / n)
        return g, -g


@register
class BCEWithLogits(Function):
    """loss = mean(max(x, 0) - x*y + log(1 + e**-|x|))   (binary cross-entropy on logits x).
    d loss/d x = (sigmoid(x) - y) / N.   d loss/d y = -x / N.
    PyTorch: F.binary_cross_entropy_with_logits.
    TensorFlow: tf.nn.sigmoid_cross_entropy_with_logits + reduce_mean."""

    name = "binary_cross_entropy_with_logits"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, y: np.ndarray, reduction: str = "mean") -> np.ndarray:
        if x.shape != y.shape:
            raise ShapeError(f"logits {x.shape} and targets {y.shape} differ")
        ctx.x, ctx.y, ctx.reduction = x, y, reduction
        loss = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        return reduce_loss(loss, reduction).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        e = np.exp(-np.abs(ctx.x))
        sigmoid = np.where(ctx.x >= 0, 1 / (1 + e), e / (1 + e))
        scale = grad / (ctx.x.size if ctx.reduction == "mean" else 1)
        return (sigmoid - ctx.y) * scale, -ctx.x * scale


@register
class Dropout(Function):
    """out = a * keep / (1 - p), keep a 0/1 mask drawn outside (so a rerun is the same).
    d out/d a = keep / (1 - p)   (the kept units are scaled up so the mean is unchanged).
    PyTorch: F.dropout / nn.Dropout.  TensorFlow: tf.nn.dropout."""

    name = "dropout"
    differentiable = 1

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, keep: np.ndarray, p: float = 0.5) -> np.ndarray:
        ctx.scale = keep.astype(a.dtype) / (1 - p)
        return a * ctx.scale

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad * ctx.scale, None


@register
class BatchNorm(Function):
    """out = gamma * (x - mean) / sqrt(var + eps) + beta, statistics per channel (axis 1).
    Training: mean and var of this batch, and the gradient flows through them too:
      d out/d x = gamma / std * (g - mean(g) - x_hat * mean(g * x_hat))   (g = grad).
    Evaluation: the running mean and var given as inputs, constants for the gradient.
    PyTorch: F.batch_norm / nn.BatchNorm1d/2d.  TensorFlow: tf.nn.batch_normalization."""

    name = "batch_norm"
    differentiable = 3

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                running_mean: np.ndarray, running_var: np.ndarray, training: bool = True,
                eps: float = 1e-5) -> np.ndarray:
        axes = (0,) + tuple(range(2, x.ndim))                     # every axis but channels
        shape = (1, -1) + (1,) * (x.ndim - 2)                     # per-channel broadcast
        mean = x.mean(axis=axes, keepdims=True) if training else running_mean.reshape(shape)
        var = x.var(axis=axes, keepdims=True) if training else running_var.reshape(shape)
        ctx.std, ctx.gamma, ctx.axes = np.sqrt(var + eps), gamma.reshape(shape), axes
        ctx.x_hat, ctx.training = (x - mean) / ctx.std, training
        return ctx.gamma * ctx.x_hat + beta.reshape(shape)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        x_hat, axes = ctx.x_hat, ctx.axes
        grad_gamma, grad_beta = (grad * x_hat).sum(axis=axes), grad.sum(axis=axes)
        g = grad * ctx.gamma / ctx.std
        if ctx.training:  # mean and var depend on x: two more paths for the gradient
            mean_g, mean_gx = (np.mean(v, axis=axes, keepdims=True) for v in (g, g * x_hat))
            g = g - mean_g - x_hat * mean_gx
        return g, grad_gamma, grad_beta, None, None
