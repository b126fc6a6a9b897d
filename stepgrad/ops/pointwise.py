"""More elementwise ops: sin, cos, clamp, maximum, minimum, where, casts, GELU and SiLU.

As in elementwise.py, each backward returns the gradient with the broadcast shape and
autograd.unbroadcast sums it back to each input's shape.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stepgrad.function import Context, Function
from stepgrad.ops.registry import register

_erf = np.frompyfunc(math.erf, 1, 1)  # numpy has no erf; math.erf is exact, one value at a time


@register
class Sin(Function):
    """out = sin a.   d out/d a = cos a.
    PyTorch: torch.sin.  TensorFlow: tf.sin."""

    name = "sin"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.a = a
        return np.sin(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * np.cos(ctx.a),)


@register
class Cos(Function):
    """out = cos a.   d out/d a = -sin a.
    PyTorch: torch.cos.  TensorFlow: tf.cos."""

    name = "cos"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.a = a
        return np.cos(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (-grad * np.sin(ctx.a),)


@register
class Clamp(Function):
    """out = min(max(a, low), high)   (either bound may be None).
    d out/d a = 1 where low <= a <= high, else 0 (the bounds themselves pass, as in PyTorch).
    PyTorch: torch.clamp / torch.clip.  TensorFlow: tf.clip_by_value."""

    name = "clamp"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, low: Any = None, high: Any = None) -> np.ndarray:
        ctx.inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            ctx.inside &= a >= low
        if high is not None:
            ctx.inside &= a <= high
        return np.clip(a, low, high).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * ctx.inside,)


@register
class Maximum(Function):
    """out = the larger of a and b, element by element.
    d out/d a = 1 where a > b, d out/d b = 1 where b > a; a tie gives each half (PyTorch).
    PyTorch: torch.maximum.  TensorFlow: tf.maximum."""

    name = "maximum"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.share_a = np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad * ctx.share_a, grad * (1 - ctx.share_a)


@register
class Minimum(Function):
    """out = the smaller of a and b, element by element.
    d out/d a = 1 where a < b, d out/d b = 1 where b < a; a tie gives each half (PyTorch).
    PyTorch: torch.minimum.  TensorFlow: tf.minimum."""

    name = "minimum"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.share_a = np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0))
        return np.minimum(a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad * ctx.share_a, grad * (1 - ctx.share_a)


@register
class Where(Function):
    """out = a where `condition` holds, else b   (condition: a boolean array, no gradient).
    d out/d a = condition,  d out/d b = not condition (the gradient goes where the value came from).
    PyTorch: torch.where(condition, a, b).  TensorFlow: tf.where."""

    name = "where"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray, condition: Any = True) -> np.ndarray:
        ctx.condition = np.asarray(condition, dtype=bool)
        out = np.where(ctx.condition, a, b)
        return out.astype(np.result_type(a, b), copy=False)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad * ctx.condition, grad * ~ctx.condition


@register
class Cast(Function):
    """out = a converted to another float dtype (float32 <-> float64).
    d out/d a = 1: the gradient is cast back to a's dtype.
    PyTorch: Tensor.to(dtype) / .float() / .double().  TensorFlow: tf.cast."""

    name = "cast"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
        ctx.dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad.astype(ctx.dtype),)


@register
class GELU(Function):
    """out = a * Phi(a), Phi the standard normal CDF = (1 + erf(a / sqrt 2)) / 2
    (approximate="tanh": Phi ~ (1 + tanh(sqrt(2/pi) (a + 0.044715 a**3))) / 2).
    d out/d a = Phi(a) + a * phi(a), phi the normal density (the tanh form: its derivative).
    PyTorch: F.gelu / nn.GELU.  TensorFlow: tf.nn.gelu."""

    name = "gelu"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, approximate: str = "none") -> np.ndarray:
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (a + 0.044715 * a**3)
            t = np.tanh(inner)
            ctx.slope = 0.5 * (1 + t) + 0.5 * a * (1 - t * t) * math.sqrt(2 / math.pi) * (
                1 + 3 * 0.044715 * a * a)
            return (0.5 * a * (1 + t)).astype(a.dtype)
        cdf = (0.5 * (1 + np.asarray(_erf(a / math.sqrt(2)), dtype=a.dtype))).astype(a.dtype)
        ctx.slope = cdf + a * np.exp(-0.5 * a * a) / math.sqrt(2 * math.pi)
        return a * cdf

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * ctx.slope,)


@register
class SiLU(Function):
    """out = a * sigmoid(a)   (also called swish).
    d out/d a = s + a * s * (1 - s),  s = sigmoid(a).
    PyTorch: F.silu / nn.SiLU.  TensorFlow: tf.nn.silu."""

    name = "silu"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(a))  # the stable sigmoid of elementwise.Sigmoid
        s = np.where(a >= 0, 1 / (1 + e), e / (1 + e))
        ctx.slope = s + a * s * (1 - s)
        return a * s

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * ctx.slope,)
