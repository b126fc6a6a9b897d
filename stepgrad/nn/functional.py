"""Functional forms of the layers (PyTorch: `torch.nn.functional`, imported as F).

Each function checks and prepares its arguments, then calls registered ops (one, or a
short composite where that teaches better, such as layer_norm): the math lives in the
ops, not here. Names, arguments and defaults are PyTorch's; a name F lacks fails with an
error that names it (see `__getattr__` at the end).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from stepgrad import ops
from stepgrad.random import generator
from stepgrad.tensor import Tensor
from stepgrad.tensor_methods import reduce_args


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{reduction} is not a valid value for reduction")  # PyTorch's words


def _labels(target: Any, what: str) -> np.ndarray:
    labels = np.asarray(target.data if isinstance(target, Tensor) else target)
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
            return labels.astype(np.int64)
        raise TypeError(f"{what}: targets must be integer class indices, got dtype "
                        f"{labels.dtype}; use mse_loss or BCE for real-valued targets")
    return labels.astype(np.int64, copy=False)


# -- activations ---------------------------------------------------------------------------
def relu(x: Tensor, inplace: bool = False) -> Tensor:
    return ops.ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return ops.LeakyReLU.apply(x, negative_slope=negative_slope)


def sigmoid(x: Tensor) -> Tensor:
    return x.sigmoid()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return ops.GELU.apply(x) if approximate == "none" else ops.GELU.apply(x, approximate="tanh")


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    return ops.SiLU.apply(x)


def normalize(x: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x divided by its p-norm along dim (at least eps)."""
    return x / x.norm(p, dim=dim, keepdim=True).clamp(min=eps)


def cosine_similarity(a: Tensor, b: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(a * b) / (|a| |b|) along dim, each norm at least eps."""
    norms = a.norm(dim=dim).clamp(min=eps) * b.norm(dim=dim).clamp(min=eps)
    return (a * b).sum(dim=dim) / norms


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """The p-norm of x1 - x2 + eps along the last axis (eps keeps the norm's gradient finite
    where x1 == x2), PyTorch's formula."""
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)


def softmax(x: Tensor, dim: int | None = None, **words: Any) -> Tensor:
    """Softmax along dim (dim= or axis=, as every reduction; -1 when not given)."""
    axis = reduce_args(dim, **words)["axis"]
    return x.softmax(-1 if axis is None else axis)


def log_softmax(x: Tensor, dim: int | None = None, **words: Any) -> Tensor:
    axis = reduce_args(dim, **words)["axis"]
    return x.log_softmax(-1 if axis is None else axis)


# -- layers --------------------------------------------------------------------------------
def linear(x: Tensor, weight: Tensor, bias: Any = None) -> Tensor:
    """x @ weight.T + bias, weight shaped (out_features, in_features)."""
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=weight.dtype)
    return ops.Linear.apply(x, weight, bias)


def _padding2d(padding: Any) -> Any:
    """PyTorch's conv/pool padding: an int or a pair; anything else is refused."""
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r}: string padding ('same', 'valid') is outside "
                         f"stepgrad's course subset; give the number of pixels")
    if isinstance(padding, (int, np.integer)):
        pair = (int(padding), int(padding))
    elif isinstance(padding, (tuple, list)) and len(padding) == 2:
        pair = (int(padding[0]), int(padding[1]))
    else:
        raise RuntimeError(f"expected padding to be a single integer value or a list of 2 "
                           f"values to match the convolution dimensions, but got "
                           f"padding={list(padding) if isinstance(padding, tuple) else padding}")
    if min(pair) < 0:
        raise RuntimeError(f"negative padding is not supported, got padding={padding}")
    return pair


def conv2d(x: Tensor, weight: Tensor, bias: Any = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in every framework) of (N, C, H, W) images."""
    if groups != 1 or dilation not in (1, (1, 1)):
        raise NotImplementedError("conv2d: groups and dilation other than 1 are outside "
                                  "stepgrad's course subset")
    if bias is None:
        bias = np.zeros(weight.shape[0], dtype=weight.dtype)
    return ops.Conv2d.apply(x, weight, bias, stride=stride, padding=_padding2d(padding))


def _pool_input(x: Tensor, padding: Any, value: float) -> Tensor:
    ph, pw = _padding2d(padding)
    if not ph and not pw:
        return x
    return ops.Pad.apply(x, pad_width=((0, 0), (0, 0), (ph, ph), (pw, pw)), value=value)


def max_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               **_: Any) -> Tensor:
    """Max of each window; padding adds -inf borders (never the maximum), as PyTorch does."""
    return ops.MaxPool2d.apply(_pool_input(x, padding, -np.inf), kernel_size=kernel_size,
                               stride=stride or kernel_size)


def avg_pool2d(x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               **_: Any) -> Tensor:
    """Mean of each window; padding adds zeros that count (count_include_pad=True)."""
    return ops.AvgPool2d.apply(_pool_input(x, padding, 0.0), kernel_size=kernel_size,
                               stride=stride or kernel_size)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p while training and scale the rest by 1/(1-p)."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    keep = generator().random(x.data.shape) >= p
    return ops.Dropout.apply(x, keep, p=p)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False) -> Tensor:
    """Zero whole channels (an (H, W) plane of (N, C, H, W)) with probability p while
    training and scale the rest by 1/(1-p): neighbouring pixels are too alike for pixel
    dropout to regularise. A 3-D input is (N, C, L), as PyTorch reads it (with its warning)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      f"deprecated and will result in an error in a future release. To retain "
                      f"the behavior and silence this warning, please use dropout instead.",
                      stacklevel=2)
    elif input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim.", stacklevel=2)
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0.0
    mask_shape = input.shape[:2] + (1,) * (input.ndim - 2)
    keep = np.broadcast_to(generator().random(mask_shape) >= p, input.shape)
    return ops.Dropout.apply(input, keep, p=p)


def batch_norm(x: Tensor, running_mean: Any, running_var: Any, weight: Any = None,
               bias: Any = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Normalise each channel (axis 1); in training, also update the running statistics
    in place (PyTorch's rule: running = (1 - momentum) * running + momentum * batch, with
    the unbiased batch variance)."""
    channels = x.data.shape[1]
    weight = np.ones(channels, x.data.dtype) if weight is None else weight
    bias = np.zeros(channels, x.data.dtype) if bias is None else bias
    if running_mean is None:
        running_mean, running_var = np.zeros(channels), np.ones(channels)
    if training:
        axes = (0,) + tuple(range(2, x.ndim))
        n = x.data.size // channels
        mean, var = x.data.mean(axis=axes), x.data.var(axis=axes)
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * n / max(n - 1, 1)
    return ops.BatchNorm.apply(x, weight, bias, np.asarray(running_mean),
                               np.asarray(running_var), training=training, eps=eps)


def layer_norm(x: Tensor, normalized_shape: Any, weight: Any = None, bias: Any = None,
               eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) over the last len(normalized_shape) axes, then * weight
    + bias. A composite of registered ops: the debugger shows each step."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.data.shape[-len(shape):]) != shape:
        raise RuntimeError(f"layer_norm: input {tuple(x.data.shape)} does not end with "
                           f"normalized_shape {shape}")
    axes = tuple(range(-len(shape), 0))
    centred = x - x.mean(dim=axes, keepdim=True)
    out = centred / ((centred * centred).mean(dim=axes, keepdim=True) + eps).sqrt()
    if weight is not None:
        out = out * weight
    return out if bias is None else out + bias


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              **_: Any) -> Tensor:
    """The rows of `weight` picked by integer `input` (any shape): weight[input]. Rows picked
    for `padding_idx` keep their value but send no gradient (the padding row never trains)."""
    labels = _labels(input, "embedding")
    rows = weight[labels]
    if padding_idx is None:
        return rows
    padding_idx %= weight.shape[0]
    trains = np.broadcast_to((labels != padding_idx)[..., None], rows.shape)
    return ops.Where.apply(rows, rows.detach(), condition=trains)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Integer classes -> rows of 0s with a 1 at the class (int64, no gradient)."""
    labels = _labels(tensor, "one_hot")
    classes = int(labels.max()) + 1 if num_classes < 0 else num_classes
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise RuntimeError(f"one_hot: class values must be in 0..{classes - 1}")
    return Tensor(np.eye(classes, dtype=np.int64)[labels])


def flatten(x: Tensor, start_dim: int = 1, end_dim: int = -1) -> Tensor:
    return x.flatten(start_dim, end_dim)


def pad(x: Tensor, pad: Any, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad with a constant. `pad` is PyTorch's order: (left, right) of the last axis first,
    then (top, bottom) of the one before, and so on."""
    if mode != "constant":
        raise NotImplementedError(f"F.pad mode={mode!r}: only 'constant' is in stepgrad's subset")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * x.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {x.ndim}")
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    widths = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    if min(min(pair) for pair in widths) < 0:  # a negative width crops, as in PyTorch
        x = x[tuple(slice(max(-a, 0), n - max(-b, 0)) for (a, b), n in zip(widths, x.shape))]
        widths = [(max(a, 0), max(b, 0)) for a, b in widths]
    return ops.Pad.apply(x, pad_width=tuple(widths), value=0.0 if value is None else value)


from stepgrad.nn.functional_activations import (  # noqa: E402 (in their own files)
    celu,
    elu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    prelu,
    relu6,
    selu,
    softmin,
    softplus,
    softsign,
    tanhshrink,
)
from stepgrad.nn.functional_losses import (  # noqa: E402
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from stepgrad.nn.functional_pooling import (  # noqa: E402
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    max_pool1d,
)

__all__ = [
    "adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "batch_norm",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "celu", "conv2d",
    "cosine_similarity", "cross_entropy", "dropout", "dropout2d", "elu", "embedding", "flatten",
    "gelu", "glu", "hardsigmoid", "hardswish", "hardtanh", "huber_loss", "kl_div", "l1_loss",
    "layer_norm", "leaky_relu", "linear", "log_softmax", "logsigmoid", "max_pool1d",
    "max_pool2d", "mish", "mse_loss", "nll_loss", "normalize", "one_hot", "pad",
    "pairwise_distance", "prelu", "relu", "relu6", "selu", "sigmoid", "silu", "smooth_l1_loss",
    "softmax", "softmin", "softplus", "softsign", "tanh", "tanhshrink",
]


def __getattr__(name: str) -> Any:
    """`F.some_function` that stepgrad lacks fails here, naming it."""
    if name.startswith("__"):
        raise AttributeError(name)
    from stepgrad import NotInCourseSubset

    raise NotInCourseSubset(f"torch.nn.functional.{name} is a PyTorch API outside stepgrad's "
                            f"course subset (README: 'Coming from PyTorch')")
