"""Tensor casts and devices with PyTorch's names: .float() .double() .long() .to(...) .cpu().

A mixin of `Tensor` (see tensor.py). A float-to-float cast is the registered op `cast`, so
the gradient flows back (cast back to the input's dtype); a cast to an integer or bool
dtype makes a constant, as in PyTorch (such tensors cannot require a gradient). Devices:
only the CPU (see device.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.tensor_base import TensorBase

_ops: Any = None  # the stepgrad.ops module, set by stepgrad.tensor once the ops exist


class CastMethods(TensorBase):
    """dtype and device conversions of Tensor."""

    __slots__ = ()

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """`.to(dtype)`, `.to("cpu")`, `.to(device, dtype)`, `.to(other)`: a float-to-float
        cast is an op (the gradient flows back, cast back); other casts make constants."""
        from stepgrad.device import parse_to

        dtype = parse_to(args, kwargs)
        return self if dtype is None else self.type(dtype)

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            return str(self.data.dtype)
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind == "f" and self.data.dtype.kind == "f":
            return _ops.Cast.apply(self, dtype=dtype)
        return type(self)(self.data.astype(dtype))

    def type_as(self, other: Any) -> Any:
        return self.type(other.data.dtype)

    def float(self) -> Any:
        return self.type(np.float32)

    def double(self) -> Any:
        return self.type(np.float64)

    def half(self) -> Any:
        return self.type(np.float16)

    def long(self) -> Any:
        return self.type(np.int64)

    def int(self) -> Any:
        return self.type(np.int32)

    def bool(self) -> Any:
        return self.type(np.bool_)

    def cpu(self) -> Any:
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> Any:
        from stepgrad.device import no_gpu

        raise no_gpu(".cuda()")

    @property
    def device(self) -> Any:
        from stepgrad.device import CPU

        return CPU

    is_cuda = False
