"""Adaptive 2-D pooling and 1-D pooling layers: Modules around nn/functional_pooling.py with
PyTorch's arguments and printed form. An adaptive pool names the output size, not the window
(`nn.AdaptiveAvgPool2d((1, 1))` is global average pooling, and `(7, 7)` gives torchvision's
classifier its fixed input whatever the image size).
PyTorch: `torch.nn.AdaptiveAvgPool2d`, `AdaptiveMaxPool2d`, `AvgPool1d`, `MaxPool1d`.
"""

from __future__ import annotations

from typing import Any

from stepgrad.nn import functional as F
from stepgrad.nn.layers import outside_subset
from stepgrad.nn.module import Module
from stepgrad.tensor import Tensor


class AdaptiveAvgPool2d(Module):
    """The mean of each of output_size[0] x output_size[1] windows that tile the image (an int
    is square; None keeps that input size). Input (N, C, H, W) or (C, H, W)."""

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 (PyTorch's name)
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(AdaptiveAvgPool2d):
    """The largest value of each adaptive window; return_indices=True also returns where
    each was (an index into the flattened H * W plane, as PyTorch's)."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:  # noqa: A002
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


def _one(value: Any) -> tuple[int]:
    return (value,) if isinstance(value, int) else tuple(value)


class AvgPool1d(Module):
    """The mean of each kernel_size window along the last axis of (N, C, L) or (C, L)
    (stride defaults to kernel_size; padding adds zeros that count, PyTorch's default)."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:
        super().__init__()
        if ceil_mode or not count_include_pad:
            raise outside_subset("AvgPool1d(ceil_mode, count_include_pad)", "use the defaults")
        self.kernel_size = _one(kernel_size)
        self.stride = self.kernel_size if stride is None else _one(stride)
        self.padding = _one(padding)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(Module):
    """The largest value of each kernel_size window along the last axis of (N, C, L) or
    (C, L); padding adds -inf, never the maximum."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 dilation: Any = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        if dilation != 1 or return_indices or ceil_mode:
            raise outside_subset("MaxPool1d(dilation, return_indices, ceil_mode)",
                                 "use the defaults")
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.dilation, self.return_indices, self.ceil_mode = 1, False, False

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
