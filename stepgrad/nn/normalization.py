"""Normalisation layers: BatchNorm (statistics over the batch, per channel) and LayerNorm
(statistics over each sample's last axes). PyTorch: `nn.BatchNorm1d/2d`, `nn.LayerNorm`."""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.nn import functional as F
from stepgrad.nn.layers import new_weight, outside_subset
from stepgrad.nn.module import Module
from stepgrad.tensor import Tensor


class _BatchNorm(Module):
    expected_dims: tuple[int, ...] = ()
    running_mean: np.ndarray  # buffers (register_buffer sets them)
    running_var: np.ndarray
    num_batches_tracked: np.ndarray

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if not affine or not track_running_stats or momentum is None:
            raise outside_subset(f"{type(self).__name__}(affine=False, track_running_stats="
                                 f"False, momentum=None)", "use the defaults")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = True, True
        self.weight = new_weight(num_features, dtype=dtype, device=device)
        self.bias = new_weight(num_features, dtype=dtype)
        self.weight.data = np.ones_like(self.weight.data)
        self.register_buffer("running_mean", np.zeros_like(self.weight.data))
        self.register_buffer("running_var", np.ones_like(self.weight.data))
        # counted as in PyTorch, so state dicts load both ways (only momentum=None would use it)
        self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input with "
                             f"{' or '.join(map(str, self.expected_dims))} dimensions and "
                             f"{self.num_features} channels on axis 1, got shape "
                             f"{tuple(x.shape)}")
        if self.training:
            self.num_batches_tracked += 1
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine=True, " \
               f"bias=True, track_running_stats=True"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs. PyTorch: nn.BatchNorm1d."""

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs. PyTorch: nn.BatchNorm2d."""

    expected_dims = (4,)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, the mean and (biased) variance over
    the last len(normalized_shape) axes of each sample; weight ones, bias zeros."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape, self.eps = tuple(shape), eps
        self.elementwise_affine, self.has_bias = elementwise_affine, bias
        if elementwise_affine:
            self.weight = new_weight(*self.normalized_shape, dtype=dtype, device=device)
            self.weight.data = np.ones_like(self.weight.data)
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = new_weight(*self.normalized_shape, dtype=dtype)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, " \
               f"elementwise_affine={self.elementwise_affine}, bias={self.has_bias}"
