"""The default float dtype, and `Size`, the type of a tensor's shape (PyTorch's names).

Python numbers and lists become float32 tensors unless `set_default_dtype(np.float64)`
(as in PyTorch); numpy arrays keep their float dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_DEFAULT_DTYPE = [np.dtype(np.float32)]


def default_dtype() -> np.dtype:
    """The float dtype for data given as Python numbers or lists (float32 unless changed)."""
    return _DEFAULT_DTYPE[0]


def set_default_dtype(dtype: Any) -> None:
    """Use `dtype` (np.float32 or np.float64) for new tensors made from Python data."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a float dtype, got {dtype}")
    _DEFAULT_DTYPE[0] = dtype


def get_default_dtype() -> np.dtype:
    """PyTorch's name for `default_dtype()`."""
    return _DEFAULT_DTYPE[0]


class Size(tuple):
    """A tensor's shape: a tuple of ints, as `torch.Size` (`x.shape`, `x.size()`)."""

    __slots__ = ()

    def numel(self) -> int:
        """How many elements a tensor of this shape holds."""
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self) -> str:
        return f"Size({list(self)})"


__all__ = ["Size", "default_dtype", "get_default_dtype", "set_default_dtype"]
