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

from stepgrad.function import Context, Function, ShapeError
from stepgrad.ops.registry import register


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def out_size(hw: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int]) -> tuple:
    """How many windows fit along height and width: (H - KH) // stride + 1."""
    return tuple((n - k) // s + 1 for n, k, s in zip(hw, kernel, stride))


def pad2d(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """x with ph rows of zeros above and below, pw columns of zeros left and right."""
    if not ph and not pw:
        return x
    n, c, h, w = x.shape
    padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype)
    padded[:, :, ph: ph + h, pw: pw + w] = x
    return padded


def unpad2d(x: np.ndarray, ph: int, pw: int) -> np.ndarray:
    """The inverse of pad2d: x without its ph outer rows and pw outer columns (a view)."""
    return x[:, :, ph: x.shape[2] - ph, pw: x.shape[3] - pw]


def _check_conv(x: np.ndarray, weight: np.ndarray) -> None:
    if x.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ShapeError(f"input {x.shape} and weight {weight.shape}: expected input "
                         f"(batch, {weight.shape[1]}, height, width)")


def offset_views(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
                 out_hw: tuple[int, int]) -> list[np.ndarray]:
    """For each kernel offset (i, j), row by row, the view x[:, :, i + s*y, j + s*x] over
    every output position (y, x): the (i, j)-th pixel of all windows at once.
    Writing into a view writes into x. Looping over the KH*KW offsets (not over the many
    windows) keeps every numpy call large."""
    (kh, kw), (sh, sw), (oh, ow) = kernel, stride, out_hw
    return [x[:, :, i: i + sh * (oh - 1) + 1: sh, j: j + sw * (ow - 1) + 1: sw]
            for i in range(kh) for j in range(kw)]


def im2col(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """Windows as rows: (N, C, H, W) -> (N * OH * OW, C * KH * KW)."""
    (n, c), (oh, ow) = x.shape[:2], out_size(x.shape[2:], kernel, stride)
    cols = np.empty((n, oh, ow, c, kernel[0] * kernel[1]), dtype=x.dtype)
    for k, view in enumerate(offset_views(x, kernel, stride, (oh, ow))):
        cols[..., k] = view.transpose(0, 2, 3, 1)
    return cols.reshape(n * oh * ow, -1)


def col2im(cols: np.ndarray, shape: tuple[int, ...], kernel: tuple[int, int],
           stride: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """The inverse path of im2col for gradients: add each window's values back in place.

    Windows overlap, so a pixel gets the sum of the gradients of every window that saw it.
    The image is laid out (H, W, N, C) while adding, so each add moves long contiguous runs.
    """
    n, c, h, w = shape
    patches = cols.reshape(n, out_hw[0], out_hw[1], c, -1).transpose(4, 1, 2, 0, 3)
    patches = np.ascontiguousarray(patches)                              # (KH*KW, OH, OW, N, C)
    image = np.zeros((h, w, n, c), dtype=cols.dtype)
    nchw = image.transpose(2, 3, 0, 1)
    for view, patch in zip(offset_views(nchw, kernel, stride, out_hw), patches):
        view += patch.transpose(2, 3, 0, 1)
    return np.ascontiguousarray(nchw)


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
        _check_conv(x, weight)
        (ph, pw), ctx.stride = _pair(padding), _pair(stride)
        xp = pad2d(x, ph, pw)
        ctx.kernel, ctx.padded_shape, ctx.pad = weight.shape[2:], xp.shape, (ph, pw)
        ctx.cols, ctx.weight = im2col(xp, ctx.kernel, ctx.stride), weight
        ctx.out_hw = oh, ow = out_size(xp.shape[2:], ctx.kernel, ctx.stride)
        rows = ctx.cols @ weight.reshape(weight.shape[0], -1).T + bias        # (N*OH*OW, O)
        return np.ascontiguousarray(rows.reshape(len(x), oh, ow, -1).transpose(0, 3, 1, 2))

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        rows = grad.transpose(0, 2, 3, 1).reshape(-1, grad.shape[1])          # (N*OH*OW, O)
        grad_w, grad_b = (rows.T @ ctx.cols).reshape(ctx.weight.shape), rows.sum(axis=0)
        grad_x = None
        if ctx.needs_input_grad[0]:
            cols = rows @ ctx.weight.reshape(ctx.weight.shape[0], -1)
            padded = col2im(cols, ctx.padded_shape, ctx.kernel, ctx.stride, ctx.out_hw)
            grad_x = unpad2d(padded, *ctx.pad)
        return grad_x, grad_w, grad_b


@register
class MaxPool2d(Function):
    """out = the largest value of each (k x k) window (stride defaults to k).
    d out/d x = 1 at the window's maximum (the first one, as PyTorch picks), 0 elsewhere.
    PyTorch: F.max_pool2d / nn.MaxPool2d.  TensorFlow: tf.nn.max_pool2d."""

    name = "max_pool2d"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel_size: int = 2,
                stride: int | None = None) -> np.ndarray:
        kernel, step = _pair(kernel_size), _pair(stride or kernel_size)
        views = offset_views(x, kernel, step, out_size(x.shape[2:], kernel, step))
        stacked = np.stack(views)                      # (KH*KW, N, C, OH, OW)
        ctx.winner = stacked.argmax(axis=0)            # the offset of the first maximum
        ctx.shape, ctx.kernel, ctx.stride = x.shape, kernel, step
        return stacked.max(axis=0)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
        for k, view in enumerate(offset_views(grad_x, ctx.kernel, ctx.stride, grad.shape[2:])):
            view += grad * (ctx.winner == k)      # windows may overlap: add
        return (grad_x,)


@register
class AvgPool2d(Function):
    """out = the mean of each (k x k) window (stride defaults to k).
    d out/d x = 1 / (k * k) for every pixel of the window.
    PyTorch: F.avg_pool2d / nn.AvgPool2d.  TensorFlow: tf.nn.avg_pool2d."""

    name = "avg_pool2d"

    @staticmethod
    def forward(ctx: Context, x: np.ndarray, kernel_size: int = 2,
                stride: int | None = None) -> np.ndarray:
        kernel, step = _pair(kernel_size), _pair(stride or kernel_size)
        ctx.kernel, ctx.stride, ctx.shape = kernel, step, x.shape
        views = offset_views(x, kernel, step, out_size(x.shape[2:], kernel, step))
        return sum(views[1:], views[0].copy()) / len(views)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
        share = grad / (ctx.kernel[0] * ctx.kernel[1])   # each pixel's share of its window
        for view in offset_views(grad_x, ctx.kernel, ctx.stride, grad.shape[2:]):
            view += share
        return (grad_x,)
