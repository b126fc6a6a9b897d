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


def legacy_array(args: tuple[Any, ...], dtype: Any) -> np.ndarray | None:
    """The array PyTorch's legacy constructor `torch.Tensor(...)` makes, or None when `args`
    is one array or tensor (stepgrad's own `Tensor(array)`, which keeps its dtype).

    `torch.Tensor(2, 3)` is a float tensor of that shape (uninitialised in PyTorch, zeros
    here), `torch.Tensor([1, 2])` a float tensor of those values: always the default float
    dtype, where `torch.tensor([1, 2])` infers int64.
    """
    if len(args) == 1 and isinstance(args[0], (np.ndarray, np.generic, TensorBase)):
        return None
    from stepgrad.tensor import _to_array, default_dtype

    if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
        if any(a < 0 for a in args):
            raise RuntimeError(f"Trying to create tensor with negative dimension "
                               f"{min(args)}: {list(args)}")
        shape = tuple(int(a) for a in args) or (0,)  # torch.Tensor() is empty, not 0-d
        return np.zeros(shape, dtype or default_dtype())
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        return _to_array(args[0], dtype or default_dtype())
    raise TypeError(f"new(): data must be a sequence (got {type(args[0]).__name__}); "
                    f"torch.tensor({args[0]!r}) makes a tensor of a number")


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
            return str(self._data.dtype)
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        if dtype.kind == "f" and self._data.dtype.kind == "f":
            return _ops.Cast.apply(self, dtype=dtype)
        return type(self)(self._data.astype(dtype))

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
