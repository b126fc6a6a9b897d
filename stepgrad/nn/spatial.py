"""Layers for the spatial axes of images besides convolution and pooling: constant padding
and channel dropout. PyTorch: `torch.nn.ZeroPad2d`, `ConstantPad2d`, `Dropout2d`."""

from __future__ import annotations

from typing import Any

from stepgrad.nn import functional as F
from stepgrad.nn.module import Module
from stepgrad.tensor import Tensor


def _quadruple(padding: Any) -> tuple[int, ...]:
    """An int pads all four sides; a tuple is (left, right, top, bottom), F.pad's order."""
    return (padding,) * 4 if isinstance(padding, int) else tuple(padding)


class ConstantPad2d(Module):
    """Surround the last two axes with `value`: padding (left, right, top, bottom) or one int.
    A negative width crops, as in PyTorch."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__()
        self.padding, self.value = _quadruple(padding), value

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 (PyTorch's name)
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ZeroPad2d(ConstantPad2d):
    """Surround the last two axes with zeros (see ConstantPad2d)."""

    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class Dropout2d(Module):
    """While training, zero each whole channel of (N, C, H, W) with probability p and scale
    the others by 1/(1-p); in eval mode, the identity. Neighbouring pixels are so alike that
    dropping single ones barely regularises a conv net; dropping feature maps does."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.dropout2d(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
