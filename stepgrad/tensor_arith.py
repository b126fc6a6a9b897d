"""Tensor arithmetic methods with PyTorch's names and result dtypes: add, sub, mul, div
(with `rounding_mode`), pow, remainder, fmod, floor_divide, maximum, minimum, where.

A mixin of `Tensor` (see tensor.py). Each method goes through `_promote`, as the operators
`+ - * / ** // %` do, so `x.pow(p)` of a float32 x and an int64 p is float32 as in PyTorch
(numpy's own promotion gives float64) and `-` with a bool tensor is refused as PyTorch
refuses it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.tensor_base import TensorBase

_ops: Any = None  # the stepgrad.ops module, set by stepgrad.tensor once the ops exist
_promote: Any = None  # stepgrad.tensor._promote, set with _ops


class ArithmeticMethods(TensorBase):
    """The binary arithmetic methods of Tensor."""

    __slots__ = ()

    def maximum(self, other: Any) -> Any:
        return _ops.Maximum.apply(*_promote(self, other))

    def minimum(self, other: Any) -> Any:
        return _ops.Minimum.apply(*_promote(self, other))

    def pow(self, exponent: Any) -> Any:
        return _ops.Pow.apply(*_promote(self, exponent))

    def add(self, other: Any, alpha: float = 1) -> Any:
        return _ops.Add.apply(*_promote(self, other if alpha == 1 else other * alpha))

    def sub(self, other: Any, alpha: float = 1) -> Any:
        return _ops.Sub.apply(*_promote(self, other if alpha == 1 else other * alpha,
                                        subtract=True))

    subtract = sub

    def mul(self, other: Any) -> Any:
        return _ops.Mul.apply(*_promote(self, other))

    multiply = mul

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Any:
        """a / b; `rounding_mode="floor"` or `"trunc"` rounds the quotient (its gradient is
        0, as in PyTorch) and keeps integer tensors integer."""
        if rounding_mode is None:
            return _ops.Div.apply(*_promote(self, other, divide=True))
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or "
                             f"'floor' but found '{rounding_mode}'")
        return _ops.RoundedDiv.apply(*_promote(self, other), rounding=rounding_mode)

    true_divide = divide = div

    def floor_divide(self, other: Any) -> Any:
        """a // b, rounded down; as in PyTorch it has no derivative (backward refuses)."""
        return self // other

    def remainder(self, other: Any) -> Any:
        return self % other

    def fmod(self, other: Any) -> Any:
        return _ops.Fmod.apply(*_promote(self, other))

    def where(self, condition: Any, other: Any) -> Any:
        """`x.where(cond, y)`: x where cond holds, else y (PyTorch's argument order)."""
        return _ops.Where.apply(*_promote(self, other), condition=np.asarray(condition, dtype=bool))
