"""Convolution and pooling on images shaped (batch, channels, height, width).

The convolution is written as im2col + one matrix product, the way most libraries do it:

1. `im2col` cuts every kernel-sized window out of the (padded) input and lays each one
   out as a row: (N, C, H, W) -> (N * OH * OW, C * KH * KW).
2. One matmul with the weight, reshaped to (O, C * KH * KW), gives every output pixel.

Backward runs the same path in reverse; `col2im` puts the window gradients back onto
the image and *adds* where windows overlap (an input pixel seen by several windows
gets a gradient from each).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from stepgrad.function import Context, Function, ShapeError
from stepgrad.ops.registry import register


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Every (kh, kw) window of x, as a view shaped (N, C, OH, OW, KH, KW)."""
    view = sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, :: stride[0], :: stride[1]]


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Windows as rows: (N, C, H, W) -> (N * OH * OW, C * KH * KW)."""
    win = windows(x, kernel, stride)
    n, c, oh, ow, kh, kw = win.shape
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * kh * kw)


def col2im(cols: np.ndarray, shape: tuple[int, ...], kernel: tuple[int, int],
           stride: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """The inverse path of im2col for gradients: add each window's values back in place."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    patches = cols.reshape(n, oh, ow, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)  # (N,C,KH,KW,OH,OW)
    image = np.zeros(shape, dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):  # kernel offset (i, j) touches a strided grid of pixels
            image[:, :, i: i + sh * oh: sh, j: j + sw * ow: sw] += patches[:, :, i, j]
    return image


@register
class Conv2d(Function):
    """out[n, o] = sum over c, i, j of w[o, c, i, j] * x_padded[n, c, s*y + i, s*x + j] + b[o].
    d out/d w = grad (as rows) ^T @ im2col(x);  d out/d x = col2im(grad (as rows) @ w);
    d out/d b = grad summed over batch, height and width.
    PyTorch: F.conv2d / nn.Conv2d.  TensorFlow: tf.nn.conv2d (NHWC by default)."""

    name = "conv2d"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                stride: int = 1, padding: int = 0) -> np.ndarray:
        if x.ndim != 4 or x.shape[1] != weight.shape[1]:
            raise ShapeError(f"input {x.shape} and weight {weight.shape}: expected input "
                             f"(batch, {weight.shape[1]}, height, width)")
        (ph, pw), ctx.stride = _pair(padding), _pair(stride)
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
        ctx.kernel, ctx.padded_shape, ctx.pad = weight.shape[2:], xp.shape, (ph, pw)
        ctx.cols, ctx.weight = im2col(xp, ctx.kernel, ctx.stride), weight
        oh = (xp.shape[2] - ctx.kernel[0]) // ctx.stride[0] + 1
        ow = (xp.shape[3] - ctx.kernel[1]) // ctx.stride[1] + 1
        ctx.out_hw = (oh, ow)
        rows = ctx.cols @ weight.reshape(weight.shape[0], -1).T + bias        # (N*OH*OW, O)
        return rows.reshape(x.shape[0], oh, ow, -1).transpose(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        rows = grad.transpose(0, 2, 3, 1).reshape(-1, grad.shape[1])          # (N*OH*OW, O)
        grad_w = (rows.T @ ctx.cols).reshape(ctx.weight.shape)
        grad_b = rows.sum(axis=0)
        grad_x = None
        if ctx.needs_input_grad[0]:
            cols = rows @ ctx.weight.reshape(ctx.weight.shape[0], -1)
            padded = col2im(cols, ctx.padded_shape, ctx.kernel, ctx.stride, ctx.out_hw)
            (ph, pw), (h, w) = ctx.pad, ctx.padded_shape[2:]
            grad_x = padded[:, :, ph: h - ph, pw: w - pw]
        return grad_x, grad_w, grad_b


@register
class MaxPool2d(Function):
    """out = the largest value of each (k x k) window (stride defaults to k).
    d out/d x = 1 at the window's maximum (the first one, as PyTorch picks), 0 elsewhere.
    PyTorch: F.max_pool2d / nn.MaxPool2d.  TensorFlow: tf.nn.max_pool2d."""

    name = "max_pool2d"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel_size: int = 2, stride: int | None = None) -> np.ndarray:
        kernel, step = _pair(kernel_size), _pair(stride or kernel_size)
        win = windows(x, kernel, step)
        flat = win.reshape(win.shape[:4] + (-1,))                              # (N,C,OH,OW,K*K)
        ctx.argmax, ctx.shape, ctx.kernel, ctx.stride = flat.argmax(-1), x.shape, kernel, step
        return flat.max(-1)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (kh, kw), (sh, sw), (oh, ow) = ctx.kernel, ctx.stride, grad.shape[2:]
        grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
        for i in range(kh):
            for j in range(kw):  # pixels at window offset (i, j) that were the maximum
                grad_x[:, :, i: i + sh * oh: sh, j: j + sw * ow: sw] += grad * (ctx.argmax == i * kw + j)
        return (grad_x,)


@register
class AvgPool2d(Function):
    """out = the mean of each (k x k) window (stride defaults to k).
    d out/d x = 1 / (k * k) for every pixel of the window.
    PyTorch: F.avg_pool2d / nn.AvgPool2d.  TensorFlow: tf.nn.avg_pool2d."""

    name = "avg_pool2d"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel_size: int = 2, stride: int | None = None) -> np.ndarray:
        ctx.kernel, ctx.stride, ctx.shape = _pair(kernel_size), _pair(stride or kernel_size), x.shape
        return windows(x, ctx.kernel, ctx.stride).mean(axis=(-2, -1))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        (kh, kw), (sh, sw), (oh, ow) = ctx.kernel, ctx.stride, grad.shape[2:]
        grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
        for i in range(kh):
            for j in range(kw):
                grad_x[:, :, i: i + sh * oh: sh, j: j + sw * ow: sw] += grad / (kh * kw)
        return (grad_x,)
