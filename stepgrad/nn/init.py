"""Weight initialisation, drawing from `sg.manual_seed`'s generator. Each function fills a
tensor and returns it (`init.zeros_(layer.bias)`); the trailing underscore is PyTorch's mark
of an in-place function. The fill gives the tensor a new array, so anything the debugger
recorded from the old values stays true. PyTorch: `torch.nn.init`.

The same distributions as PyTorch's (same bounds and standard deviations), drawn from
numpy's generator: the same seed does not give PyTorch's numbers, only their statistics.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stepgrad.random import generator
from stepgrad.tensor import Tensor


def _fans(tensor: Tensor) -> tuple[int, int]:
    """fan_in and fan_out: inputs and outputs per unit (times the kernel size for convs)."""
    shape = tensor.shape
    if len(shape) < 2:
        raise ValueError(f"init: fan in and fan out need at least 2 dimensions, got {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance through a nonlinearity: 1 for linear
    layers and sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for
    leaky_relu (slope 0.01 unless given), 3/4 for selu."""
    if nonlinearity in _LINEAR:
        return 1.0
    gains = {"tanh": 5 / 3, "relu": math.sqrt(2.0), "selu": 3 / 4}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity not in gains:
        raise ValueError(f"init: unknown nonlinearity {nonlinearity!r}; use one of "
                         f"{sorted([*_LINEAR, *gains, 'leaky_relu'])}")
    return gains[nonlinearity]


def _gain(nonlinearity: str, a: float = 0.0) -> float:
    return calculate_gain(nonlinearity, a)


def _fill(tensor: Tensor, values: Any) -> Tensor:
    tensor.data = np.broadcast_to(np.asarray(values, dtype=tensor.data.dtype),
                                  tensor.data.shape).copy()
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    return _fill(tensor, generator().uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    return _fill(tensor, generator().normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    return _fill(tensor, value)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """U(-bound, bound), bound = gain * sqrt(3 / fan): keeps activations' variance through ReLUs."""
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    bound = _gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """N(0, std**2), std = gain / sqrt(fan)."""
    fan = _fans(tensor)[0 if mode == "fan_in" else 1]
    return normal_(tensor, 0.0, _gain(nonlinearity, a) / math.sqrt(fan))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio)."""
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (2-D tensors): a layer that starts by passing its input through."""
    if tensor.ndim != 2:
        raise ValueError(f"init.eye_: expected a 2-D tensor, got shape {tuple(tensor.shape)}")
    return _fill(tensor, np.eye(*tensor.shape))


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
