"""Functional forms of the layers (PyTorch: `torch.nn.functional`, imported as F).

Each function checks and prepares its arguments, then calls one op from stepgrad.ops:
the math lives in the op, not here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad import ops
from stepgrad.random import generator
from stepgrad.tensor import Tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias, weight shaped (out_features, in_features)."""
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=weight.dtype)
    return ops.Linear.apply(x, weight, bias)


def relu(x: Tensor) -> Tensor:
    return ops.ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return ops.LeakyReLU.apply(x, negative_slope=negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return ops.Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    return ops.Tanh.apply(x)


def softmax(x: Tensor, dim: int = -1) -> Tensor:
    return ops.Softmax.apply(x, axis=dim)


def log_softmax(x: Tensor, dim: int = -1) -> Tensor:
    return ops.LogSoftmax.apply(x, axis=dim)


def cross_entropy(logits: Tensor, target: Any) -> Tensor:
    """Mean cross-entropy of logits (batch, classes) against integer class targets (batch,)."""
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            labels = labels.astype(np.int64)
        else:
            raise TypeError(f"cross_entropy: targets must be integer class indices, got dtype "
                            f"{labels.dtype}; use mse_loss or BCE for real-valued targets")
    classes = logits.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"cross_entropy: targets must lie in 0..{classes - 1} for {classes} "
                         f"classes, got values from {labels.min()} to {labels.max()}")
    return ops.CrossEntropy.apply(logits, labels.astype(np.int64, copy=False))


def mse_loss(input: Tensor, target: Any) -> Tensor:  # noqa: A002 (PyTorch's name)
    """Mean of the squared differences."""
    return ops.MSELoss.apply(input, target)


def binary_cross_entropy_with_logits(input: Tensor, target: Any) -> Tensor:  # noqa: A002
    """Mean binary cross-entropy of logits against targets in [0, 1]."""
    return ops.BCEWithLogits.apply(input, target)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
           padding: int = 0) -> Tensor:
    """2-D convolution (cross-correlation, as in every framework) of (N, C, H, W) images."""
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=weight.dtype)
    return ops.Conv2d.apply(x, weight, bias, stride=stride, padding=padding)


def max_pool2d(x: Tensor, kernel_size: int, stride: int | None = None) -> Tensor:
    return ops.MaxPool2d.apply(x, kernel_size=kernel_size, stride=stride)


def avg_pool2d(x: Tensor, kernel_size: int, stride: int | None = None) -> Tensor:
    return ops.AvgPool2d.apply(x, kernel_size=kernel_size, stride=stride)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p while training and scale the rest by 1/(1-p)."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    keep = generator().random(x.shape) >= p
    return ops.Dropout.apply(x, keep, p=p)


def batch_norm(x: Tensor, running_mean: np.ndarray, running_var: np.ndarray,
               weight: Tensor, bias: Tensor, training: bool = True, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1); in training, also update the running statistics
    in place (PyTorch's rule: running = (1 - momentum) * running + momentum * batch, with
    the unbiased batch variance)."""
    if training:
        axes = (0,) + tuple(range(2, x.ndim))
        n = x.size // x.shape[1]
        mean, var = x.data.mean(axis=axes), x.data.var(axis=axes)
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * n / max(n - 1, 1)
    return ops.BatchNorm.apply(x, weight, bias, running_mean, running_var, training=training,
                               eps=eps)


def flatten(x: Tensor, start_dim: int = 1) -> Tensor:
    return x.reshape(*x.shape[:start_dim], -1)
