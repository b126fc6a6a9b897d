"""What `t.data` gives: the tensor's numpy array, which also answers PyTorch's `.data` idioms.

In PyTorch `p.data` is a tensor sharing p's memory, outside autograd, so programs initialise
and update weights through it: `net[0].weight.data.normal_(0, 0.01)`, `bias.data.fill_(0)`,
`p.data.copy_(...)`, and keep running statistics as `moving_mean.data`, later moved with
`.to(X.device)`. In stepgrad `t.data` stays the numpy array (the engine and the debugger read
it), seen through this subclass: a view of the same memory with those methods added, each
writing into the array as PyTorch writes into the shared storage (so the change is not an
autograd step, as in PyTorch). Arithmetic, numpy's functions, copy() and astype() on it give
plain numpy arrays, so the subclass goes no further than the expression that asked for
`.data` (views of it, such as `p.data[0]`, are TensorData too, and write into p).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.device import check_device
from stepgrad.random import numpy_generator


def _plain(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.view(np.ndarray) if isinstance(v, TensorData) else v for v in values)


def _demoted(result: Any) -> Any:
    """numpy's functions (ones_like, concatenate, ...) of a TensorData give plain arrays."""
    if isinstance(result, TensorData):
        return result.view(np.ndarray)
    if isinstance(result, tuple):
        return tuple(_demoted(r) for r in result)
    return result


class TensorData(np.ndarray):
    """A tensor's array, as `.data` shows it (PyTorch: the detached tensor `p.data`)."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if "out" in kwargs:
            kwargs["out"] = _plain(kwargs["out"])
        return getattr(ufunc, method)(*_plain(inputs), **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _demoted(super().__array_function__(func, types, args, kwargs))

    def copy(self, order: Any = "C") -> np.ndarray:
        return np.array(self, order=order)  # np.array makes a plain ndarray

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        return self.view(np.ndarray).astype(dtype, *args, **kwargs)

    def __repr__(self) -> str:
        return repr(self.view(np.ndarray))

    # -- PyTorch's in-place initialisers and updates, writing into the shared array ---------
    def _write(self, values: Any) -> TensorData:
        self.view(np.ndarray)[...] = np.asarray(values)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Any:
        return self._write(numpy_generator(generator).normal(mean, std, self.shape))

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Any:
        return self._write(numpy_generator(generator).uniform(a, b, self.shape))

    def fill_(self, value: Any) -> TensorData:
        return self._write(np.asarray(value).reshape(()))

    def zero_(self) -> TensorData:
        return self._write(0)

    def copy_(self, src: Any) -> TensorData:
        return self._write(np.broadcast_to(np.asarray(src), self.shape))

    def add_(self, other: Any, *, alpha: float = 1) -> TensorData:
        return self._write(self + alpha * np.asarray(other))

    def sub_(self, other: Any, *, alpha: float = 1) -> TensorData:
        return self._write(self - alpha * np.asarray(other))

    def mul_(self, other: Any) -> TensorData:
        return self._write(self * np.asarray(other))

    def div_(self, other: Any) -> TensorData:
        return self._write(self / np.asarray(other))

    def clamp_(self, min: Any = None, max: Any = None) -> TensorData:  # noqa: A002
        return self._write(np.clip(self, min, max))

    # -- what a program asks of a detached tensor -------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> TensorData:
        """`.to(device)` on the CPU is the array itself; `.to(dtype)` a converted copy."""
        dtype = kwargs.get("dtype")
        for where in (*args, kwargs.get("device")):
            if isinstance(where, str) or hasattr(where, "type"):  # "cpu", device("cpu")
                check_device(where)
            elif where is not None:
                dtype = where
        return self if dtype is None else self.astype(dtype).view(TensorData)

    @property
    def data(self) -> TensorData:  # type: ignore[override]
        """`p.data.data` is p.data, as in PyTorch (numpy's `.data` is the raw buffer)."""
        return self

    def clone(self) -> TensorData:
        return self.copy().view(TensorData)

    def detach(self) -> TensorData:
        return self

    def numel(self) -> int:
        return int(self.size)

    def dim(self) -> int:
        return self.ndim


def data_view(tensor: Any) -> TensorData:
    """The getter of `Tensor.data`: its array, seen as TensorData (no copy)."""
    return tensor._data.view(TensorData)
