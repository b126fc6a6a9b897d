"""`torch.unique`, `torch.bincount` and the legacy typed constructors (`torch.FloatTensor`).

unique and bincount count values: their results are integer tensors (or the input's own
values) with no gradient, as in PyTorch, where neither is differentiable. The typed
constructors are PyTorch's legacy way to make a tensor of a dtype, `torch.LongTensor([1, 2])`,
and also answer `isinstance(t, torch.FloatTensor)` by the tensor's dtype, as PyTorch does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.tensor import Tensor
from stepgrad.tensor_logic import torch_name


def _values(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def unique(input: Any, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim: int | None = None) -> Any:
    """The distinct values, in increasing order (PyTorch sorts them even when sorted=False on
    the CPU); with return_inverse, each element's place among them; with return_counts, how
    often each occurs. With dim, the distinct slices along that axis."""
    x = _values(input)
    values, inverse, counts = np.unique(x._data, return_inverse=True, return_counts=True,
                                        axis=dim)
    out = [Tensor(values)]
    if return_inverse:
        shape = x._data.shape if dim is None else (x._data.shape[dim],)
        out.append(Tensor(np.asarray(inverse, dtype=np.int64).reshape(shape)))
    if return_counts:
        out.append(Tensor(np.asarray(counts, dtype=np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(input: Any, weights: Any = None, minlength: int = 0) -> Tensor:  # noqa: A002
    """How often each of 0, 1, ..., max(input) occurs (summing `weights` instead of counting
    when given): an int64 tensor, or the weights' float dtype (float64 for integer weights)."""
    x = _values(input)
    if x._data.dtype.kind not in "iub":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for "
                                  f"'{torch_name(x._data.dtype)}'")
    if x._data.ndim != 1 or (x._data.size and x._data.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is None:
        return Tensor(np.bincount(x._data, minlength=minlength).astype(np.int64))
    w = _values(weights)._data
    if w.shape != x._data.shape:
        raise RuntimeError("weights should be 1-d and have the same length as input")
    dtype = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    return Tensor(np.bincount(x._data, weights=w, minlength=minlength).astype(dtype))


class _TypedTensor(type):
    """The metaclass of FloatTensor and its kin: `isinstance(t, torch.FloatTensor)` asks
    whether t is a tensor of that dtype, as in PyTorch."""

    dtype: np.dtype[Any]

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype


class _Legacy(metaclass=_TypedTensor):
    dtype: np.dtype[Any] = np.dtype(np.float32)

    def __new__(cls, *data: Any) -> Any:  # a Tensor, not an instance: PyTorch makes one too
        """`torch.FloatTensor([1, 2])`, `torch.LongTensor(2, 3)`: a tensor of this dtype
        (floats to an integer type are truncated toward zero, as in PyTorch)."""
        if len(data) == 1 and not isinstance(data[0], int):  # the values, straight to dtype
            values = data[0]._data if isinstance(data[0], Tensor) else data[0]
            return Tensor(np.array(values, dtype=cls.dtype))
        return Tensor(Tensor(*data)._data.astype(cls.dtype))  # a size: zeros, or empty


class FloatTensor(_Legacy):
    dtype = np.dtype(np.float32)


class DoubleTensor(_Legacy):
    dtype = np.dtype(np.float64)


class LongTensor(_Legacy):
    dtype = np.dtype(np.int64)


class IntTensor(_Legacy):
    dtype = np.dtype(np.int32)


class BoolTensor(_Legacy):
    dtype = np.dtype(np.bool_)


__all__ = ["BoolTensor", "DoubleTensor", "FloatTensor", "IntTensor", "LongTensor", "bincount",
           "unique"]
