"""Rounding: floor, ceil, round, trunc and sign as one step-function op, and division that
rounds: remainder (`a % b`), fmod, and the rounded quotient (`a // b`,
`div(rounding_mode=...)`), with PyTorch's semantics: integer tensors stay integer, an
integer division by zero is refused (numpy would give 0 and a warning), and the quotient's
gradient is 0 (a step function), or refused for `//` as PyTorch refuses it.

As in elementwise.py, each backward returns the gradient with the broadcast shape and
autograd.unbroadcast sums it back to each input's shape.
"""

from __future__ import annotations

import numpy as np

from stepgrad.function import Context, Function
from stepgrad.ops.registry import register

_STEPS = {"floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "sign": np.sign}


@register
class Step(Function):
    """out = floor(a), ceil(a), round(a, decimals) (halves to even), trunc(a) or sign(a).
    d out/d a = 0: a step function is flat between its jumps. PyTorch keeps such a node in
    the graph with a zero gradient (`x.floor()` requires grad), and so does stepgrad.
    PyTorch: torch.floor / ceil / round / trunc / sign.  TensorFlow: tf.floor, tf.round."""

    name = "step"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, how: str = "floor", decimals: int = 0) -> np.ndarray:
        return np.round(a, decimals) if how == "round" else _STEPS[how](a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (np.zeros_like(grad),)


@register
class Remainder(Function):
    """out = a - b * floor(a / b), the sign of b (Python's %).
    d out/d a = 1,  d out/d b = -floor(a / b).
    PyTorch: torch.remainder / `a % b`.  TensorFlow: tf.math.floormod."""

    name = "remainder"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _refuse_integer_zero(b, "remainder")
        ctx.quotient = np.floor_divide(a, b)
        return np.remainder(a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad, -grad * ctx.quotient


@register
class Fmod(Function):
    """out = a - b * trunc(a / b), the sign of a (C's fmod).
    d out/d a = 1,  d out/d b = -trunc(a / b).
    PyTorch: torch.fmod.  TensorFlow: tf.math.truncatemod."""

    name = "fmod"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        _refuse_integer_zero(b, "fmod")
        ctx.quotient = _truncated_quotient(a, b)
        return np.fmod(a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad, -grad * ctx.quotient


@register
class RoundedDiv(Function):
    """out = a / b rounded down (`rounding` "floor") or toward zero ("trunc").
    d out/d a = d out/d b = 0 (a step function): PyTorch's choice for div with a rounding
    mode; `a // b` (floor_divide) has no derivative at all in PyTorch, so its backward refuses.
    PyTorch: torch.div(a, b, rounding_mode=...) / torch.floor_divide / `a // b`.
    TensorFlow: tf.math.floordiv."""

    name = "rounded_div"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray, rounding: str = "floor",
                differentiable: bool = True) -> np.ndarray:
        _refuse_integer_zero(b, "division")
        ctx.differentiable = differentiable
        return np.floor_divide(a, b) if rounding == "floor" else _truncated_quotient(a, b)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        if not ctx.differentiable:
            raise RuntimeError("derivative for floor_divide is not implemented (as in PyTorch): "
                               "use torch.div(a, b, rounding_mode='floor'), whose gradient is 0")
        return np.zeros_like(grad), np.zeros_like(grad)


def _refuse_integer_zero(b: np.ndarray, what: str) -> None:
    if b.dtype.kind in "iub" and not np.all(b):  # numpy would give 0 and a warning
        raise ZeroDivisionError(f"integer {what} by zero (PyTorch: ZeroDivisionError)")


def _truncated_quotient(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b rounded toward zero, in a's and b's dtype (exact for integers)."""
    if np.result_type(a, b).kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.trunc(a / b).astype(np.result_type(a, b), copy=False)
    floor = np.floor_divide(a, b)
    return floor + ((floor < 0) & (floor * b != a))
