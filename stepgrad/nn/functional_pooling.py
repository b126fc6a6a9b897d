"""Adaptive and 1-D pooling of `torch.nn.functional` (re-exported by stepgrad.nn.functional).

Adaptive pooling fixes the output size instead of the window: output cell i of an axis of
length n pooled to m covers inputs floor(i n / m) up to ceil((i + 1) n / m), PyTorch's
windows, which may differ in length and overlap when m does not divide n. Here that is two
steps the debugger shows: pick every window's pixels with one index (`getitem`), then take
their mean or max (a `sum` or `max` along the last axis). Windows shorter than the longest are
padded with their own first pixel, weighted 0 in the mean and never beating it in the max.

The 1-D pools are the 2-D ones on a (N, C, 1, L) view.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stepgrad.tensor import Tensor
from stepgrad.tensor_methods import ValuesIndices


def _window(i: int, size_in: int, size_out: int) -> range:
    """The inputs output cell i pools (PyTorch's start/end index formula)."""
    return range(i * size_in // size_out, math.ceil((i + 1) * size_in / size_out))


def window_table(height: int, width: int, out_h: int, out_w: int) -> tuple[np.ndarray, ...]:
    """For each output cell (row-major), the flat indices y * width + x of its window, padded
    with the first one to a common length, and a mask of which entries are real."""
    windows = [[r * width + c for r in _window(i, height, out_h) for c in _window(j, width, out_w)]
               for i in range(out_h) for j in range(out_w)]
    longest = max((len(w) for w in windows), default=1)
    index = np.array([w + w[:1] * (longest - len(w)) for w in windows], dtype=np.int64)
    real = np.arange(longest) < np.array([len(w) for w in windows])[:, None]
    return index.reshape(len(windows), longest), real.reshape(len(windows), longest)


def _output_size(output_size: Any, shape: tuple[int, ...], name: str) -> tuple[int, int]:
    """An int or a pair (None keeps that input size) -> (out_h, out_w), PyTorch's checks."""
    if output_size is None:
        raise TypeError(f"{name}: output_size must be an int or a pair, got None")
    sizes = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    if len(sizes) != 2:
        raise RuntimeError(f"{name}: output_size must be 2")
    sizes = tuple(shape[k - 2] if s is None else int(s) for k, s in enumerate(sizes))
    if min(sizes) < 0:
        raise RuntimeError(f"{name}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{sizes[0]}, {sizes[1]}}}")
    return sizes


def _windows_of(input: Tensor, output_size: Any, name: str) -> tuple:  # noqa: A002
    """Every window's pixels of a (C, H, W) or (N, C, H, W) input: (..., cells, longest)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{name}(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    if 0 in input.shape[-2:]:
        raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch "
                           f"dimensions, but input has sizes {list(input.shape)}")
    height, width = input.shape[-2:]
    out_h, out_w = _output_size(output_size, tuple(input.shape), name)
    index, real = window_table(height, width, out_h, out_w)
    pixels = input.reshape(*input.shape[:-2], height * width)[..., index]
    return pixels, index, real, (out_h, out_w)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:  # noqa: A002
    """The mean of each adaptive window. d/dx = 1 / (window size) for each pixel of each
    window it is in."""
    pixels, _, real, out = _windows_of(input, output_size, "adaptive_avg_pool2d")
    weights = (real / real.sum(axis=1, keepdims=True)).astype(input.dtype)
    return (pixels * weights).sum(dim=-1).reshape(*input.shape[:-2], *out)


def adaptive_max_pool2d(input: Tensor, output_size: Any,  # noqa: A002
                        return_indices: bool = False) -> Any:
    """The largest value of each adaptive window (the gradient goes to the first maximum);
    with return_indices, also where it was, as an index into the flattened H * W plane."""
    pixels, index, _, out = _windows_of(input, output_size, "adaptive_max_pool2d")
    values, picked = pixels.max(dim=-1)
    values = values.reshape(*input.shape[:-2], *out)
    if not return_indices:
        return values
    cells = np.arange(index.shape[0])
    where = index[cells, picked.data].reshape(*input.shape[:-2], *out)
    return ValuesIndices(values, Tensor(where))


def _single(value: Any, name: str, what: str) -> int:
    """PyTorch's 1-D pool settings: an int or a 1-tuple."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise RuntimeError(f"{name}: {what} must be an int or a 1-tuple, got {value}")
        value = value[0]
    return int(value)


def _pool1d(pool: Any, input: Tensor, kernel_size: Any, stride: Any,  # noqa: A002
            padding: Any, name: str, limit: str) -> Tensor:
    kernel = _single(kernel_size, name, "kernel_size")
    step = kernel if stride is None or stride == () else _single(stride, name, "stride")
    pad = _single(padding, name, "padding")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor "
                           f"for argument #1 'self' (while checking arguments for {name})")
    if pad > kernel // 2:
        raise RuntimeError(limit.format(pad=pad, kernel=kernel))
    flat = input.ndim == 2
    x = (input.unsqueeze(0) if flat else input).unsqueeze(-2)  # (N, C, L) -> (N, C, 1, L)
    out = pool(x, (1, kernel), (1, step), padding=(0, pad)).squeeze(-2)
    return out.squeeze(0) if flat else out


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """The mean of each window along the last axis of (N, C, L) or (C, L); padding adds zeros
    that count, as PyTorch's default."""
    from stepgrad.nn.functional import avg_pool2d

    if ceil_mode or not count_include_pad:
        raise NotImplementedError("avg_pool1d(ceil_mode=True, count_include_pad=False) is "
                                  "outside stepgrad's course subset")
    return _pool1d(avg_pool2d, input, kernel_size, stride, padding, "avg_pool1d",
                   "pad should be at most half of effective kernel size, but got pad={pad}, "
                   "kernel_size={kernel} and dilation=1")


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,  # noqa: A002
               dilation: Any = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """The largest value of each window along the last axis of (N, C, L) or (C, L)."""
    from stepgrad.nn.functional import max_pool2d

    if _single(dilation, "max_pool1d", "dilation") != 1 or ceil_mode or return_indices:
        raise NotImplementedError("max_pool1d(dilation, ceil_mode, return_indices) is outside "
                                  "stepgrad's course subset; use the defaults")
    return _pool1d(max_pool2d, input, kernel_size, stride, padding, "max_pool1d",
                   "max_pool1d() padding should be at most half of kernel size, but got "
                   "padding={pad} and kernel_size={kernel}")


__all__ = ["adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool1d", "max_pool1d"]
