"""Layers with weights or shapes: Modules around the functions of nn.functional, with
PyTorch's weight layouts, default initialisation and printed form (so a PyTorch state
dict can be copied in, and `print(model)` reads the same).
PyTorch: `torch.nn.Linear`, `Conv2d`, `MaxPool2d`, `AvgPool2d`, `Embedding`, ...
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stepgrad.nn import functional as F
from stepgrad.nn import init
from stepgrad.nn.module import Module, Parameter
from stepgrad.nn.module_state import check_device, dtype_or_none
from stepgrad.tensor import Tensor, default_dtype


def outside_subset(what: str, instead: str = "") -> NotImplementedError:
    """The error for a PyTorch option stepgrad's course subset does not have."""
    return NotImplementedError(f"{what} is outside stepgrad's course subset"
                               + (f"; {instead}" if instead else ""))


def new_weight(*shape: int, dtype: Any = None, device: Any = None) -> Parameter:
    """An uninitialised Parameter of `shape` (`reset_parameters` fills it)."""
    check_device(device, "nn layer")
    dtype = dtype_or_none(dtype) if dtype is not None else default_dtype()
    return Parameter(np.zeros(shape, dtype=dtype))


def pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)  # type: ignore[return-value]


def compact(value: tuple[int, int]) -> int | tuple[int, int]:
    """(2, 2) -> 2: the functional forms take one int for a square setting."""
    return value[0] if value[0] == value[1] else value


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Linear(Module):
    """y = x @ weight.T + bias; weight (out_features, in_features). PyTorch: nn.Linear."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = new_weight(out_features, in_features, dtype=dtype, device=device)
        if bias:
            self.bias = new_weight(out_features, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)), which is U(-1/sqrt(in), 1/sqrt(in)),
        and the bias from the same range."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, " \
               f"bias={self.bias is not None}"


class Conv2d(Module):
    """2-D convolution; weight (out_channels, in_channels, kh, kw). PyTorch: nn.Conv2d.
    `padding` is an int, a pair, "valid" (0) or "same" (odd kernels, stride 1)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: Any = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if pair(dilation) != (1, 1) or groups != 1 or padding_mode != "zeros":
            raise outside_subset(f"Conv2d(dilation={dilation}, groups={groups}, padding_mode="
                                 f"{padding_mode!r})", "use dilation=1, groups=1, 'zeros'")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = pair(kernel_size), pair(stride)
        self.padding = _conv_padding(padding, self.kernel_size, self.stride)
        self.dilation, self.groups, self.padding_mode = (1, 1), 1, padding_mode
        self.weight = new_weight(out_channels, in_channels, *self.kernel_size, dtype=dtype,
                                 device=device)
        if bias:
            self.bias = new_weight(out_channels, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)); bias U(-1/sqrt(fan_in), ...)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, compact(self.stride), compact(self.padding))

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
               f"stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        return text + (", bias=False" if self.bias is None else "")


def _conv_padding(padding: Any, kernel: tuple[int, int],
                  stride: tuple[int, int]) -> tuple[int, int]:
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        if stride != (1, 1) or kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
            raise outside_subset("Conv2d(padding='same') with stride > 1 or an even kernel",
                                 "give the padding as numbers")
        return (kernel[0] // 2, kernel[1] // 2)
    if isinstance(padding, str):
        raise ValueError(f"Conv2d: padding must be a number, a pair, 'valid' or 'same', "
                         f"got {padding!r}")
    return pair(padding)


class MaxPool2d(Module):
    """The largest value of each kernel_size window (stride defaults to kernel_size)."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: Any = None, padding: Any = 0,
                 dilation: int = 1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        if dilation != 1 or return_indices or ceil_mode:
            raise outside_subset("MaxPool2d(dilation, return_indices, ceil_mode)",
                                 "use the defaults")
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride
        self.dilation, self.return_indices, self.ceil_mode = 1, False, False

    def forward(self, x: Tensor) -> Tensor:
        if self.padding:
            return F.max_pool2d(x, self.kernel_size, self.stride, padding=self.padding)
        return F.max_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, " \
               f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"


class AvgPool2d(Module):
    """The mean of each kernel_size window (padding counts as zeros, as in PyTorch)."""

    def __init__(self, kernel_size: int | tuple[int, int], stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        if ceil_mode or not count_include_pad or divisor_override is not None:
            raise outside_subset("AvgPool2d(ceil_mode, count_include_pad, divisor_override)",
                                 "use the defaults")
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride

    def forward(self, x: Tensor) -> Tensor:
        if self.padding:
            return F.avg_pool2d(x, self.kernel_size, self.stride, padding=self.padding)
        return F.avg_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Flatten(Module):
    """Join axes start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W). PyTorch: nn.Flatten."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        return x.reshape(*x.shape[:start], -1, *x.shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis `dim` into `unflattened_size`: (N, 784) -> (N, 1, 28, 28)."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim % x.ndim
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """Zero each element with probability p while training (and scale the rest by 1/(1-p))."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table: row i of `weight` (num_embeddings, embedding_dim) is the vector of
    index i; weight ~ N(0, 1) as in PyTorch, the padding_idx row zero and never trained."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if max_norm is not None or scale_grad_by_freq or sparse:
            raise outside_subset("Embedding(max_norm, scale_grad_by_freq, sparse)",
                                 "use the defaults")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings "
                                 f"({num_embeddings}), got {padding_idx}")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = new_weight(num_embeddings, embedding_dim, dtype=dtype, device=device)
        if _weight is not None:
            self.weight.data = np.asarray(getattr(_weight, "data", _weight), self.weight.dtype)
        else:
            self.reset_parameters()
        self.weight.requires_grad = not _freeze

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True,
                        padding_idx: int | None = None) -> Embedding:
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, _weight=embeddings, _freeze=freeze)

    def forward(self, x: Any) -> Tensor:
        return F.embedding(x, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
