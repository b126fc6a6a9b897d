"""Tensor: a numpy array that remembers how it was made, so gradients can flow back.

    x = sg.tensor([[1.0, -2.0]], requires_grad=True, name="x")
    y = (x * 3).relu().sum()
    y.backward()
    x.grad            # numpy array, shaped like x

Every operator and method below delegates to an op's `Function.apply` (see ops/):
the tensor itself holds no math. PyTorch equivalent: `torch.Tensor`.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

_ids = itertools.count(1)
_new_id = _ids.__next__
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


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        array = np.array(data)
        return array.astype(default_dtype()) if array.dtype.kind == "f" and \
            array.dtype.itemsize < 4 else array
    array = np.array(data)
    if array.dtype.kind in "fiu" or array.dtype == object:
        if array.dtype.kind in "iu" and not _has_float(data):
            return array  # integer data stays integer, as in PyTorch (class labels, indices)
        return array.astype(default_dtype())
    return array


def _has_float(data: Any) -> bool:
    if isinstance(data, float):
        return True
    if isinstance(data, (list, tuple)):
        return any(_has_float(x) for x in data)
    return False


class Tensor:
    """A node of the computation graph: `data` (numpy array) and, after backward, `grad`.

    Made by `sg.tensor(...)` or by an op. `requires_grad=True` asks backward to fill
    `grad`; `name` shows in the debugger (op outputs are named `relu_3`, parameters by
    their module path such as `fc1.weight`).
    """

    __slots__ = ("data", "grad", "requires_grad", "_name", "_id", "_fn", "_index", "_ctx",
                 "_parents", "_where", "__weakref__")
    __array_priority__ = 1000  # numpy defers to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None,
                 dtype: Any = None) -> None:
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"tensor: only float tensors can require gradients, got dtype "
                            f"{self.data.dtype}; pass floats (1.0) or dtype=np.float32")
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._name = name
        self._id = _new_id()
        self._fn = None
        self._index = 0
        self._ctx = None
        self._parents: tuple[Tensor, ...] = ()
        self._where = None

    @classmethod
    def _constant(cls, value: Any, like: np.dtype) -> Tensor:
        """Wrap a number, list or array that an op meets among its inputs (no gradient)."""
        if isinstance(value, np.ndarray):
            array = value
        elif type(value) is float or type(value) is int:  # the common case, made quickly
            array = np.array(value, dtype=like)  # a Python 2 next to float32 data stays float32
        else:
            array = np.asarray(value)
            if array.dtype.kind in "fiu":
                array = array.astype(like)
        const = cls.__new__(cls)
        const.data, const.grad, const.requires_grad, const._name = array, None, False, None
        # _index -1 marks a constant whose array nobody else holds (made here from Python
        # data), so an event may share it instead of copying it
        owned = -1 if array is not value else 0
        const._id, const._fn, const._index, const._ctx = _new_id(), None, owned, None
        const._parents, const._where = (), None
        return const

    # -- identity ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        if self._name is not None:
            return self._name
        if self._fn is not None:
            return f"{self._fn.name}_{self._index}"
        return f"t{self._id}"

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (and parameters), not by an op."""
        return self._ctx is None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20,
                               prefix="tensor(")
        extra = ""
        if self._name is not None:
            extra += f", name={self._name!r}"
        if self._fn is not None and self.requires_grad:
            extra += f", grad_fn={self._fn.name}"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        if self.data.dtype != default_dtype() and self.data.dtype.kind == "f":
            extra += f", dtype={self.data.dtype}"
        return f"tensor({body}{extra})"

    # -- conversions ------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a numpy array (shared, like PyTorch's `.numpy()`)."""
        return self.data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors have an item, this one has shape "
                             f"{self.data.shape}; index it first or use .numpy()")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data (shared, as in PyTorch), cut from the graph: no gradient flows back."""
        return Tensor._constant(self.data, self.data.dtype)

    def float(self) -> Tensor:
        return self if self.data.dtype == np.float32 else Tensor(self.data.astype(np.float32))

    def double(self) -> Tensor:
        return self if self.data.dtype == np.float64 else Tensor(self.data.astype(np.float64))

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: only float tensors can require gradients, got "
                            f"dtype {self.data.dtype}")
        self.requires_grad = requires_grad
        return self

    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    # -- gradients --------------------------------------------------------------------
    def backward(self, grad: Any = None) -> None:
        """Fill `.grad` of every leaf this tensor depends on (PyTorch: `loss.backward()`)."""
        from stepgrad.autograd import backward

        backward(self, grad)

    # -- operators --------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return _ops.Add.apply(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.Add.apply(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _ops.Pow.apply(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.Pow.apply(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(other, self)

    def __neg__(self) -> Tensor:
        return _ops.Neg.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.GetItem.apply(self, index=_plain_index(index))

    # comparisons give plain boolean arrays (no gradient flows through a comparison)
    def __lt__(self, other: Any) -> np.ndarray:
        return self.data < _data(other)

    def __le__(self, other: Any) -> np.ndarray:
        return self.data <= _data(other)

    def __gt__(self, other: Any) -> np.ndarray:
        return self.data > _data(other)

    def __ge__(self, other: Any) -> np.ndarray:
        return self.data >= _data(other)

    __hash__ = object.__hash__

    # -- elementwise methods ----------------------------------------------------------
    def exp(self) -> Tensor:
        return _ops.Exp.apply(self)

    def log(self) -> Tensor:
        return _ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return _ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return _ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        return _ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return _ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return _ops.ReLU.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return _ops.LeakyReLU.apply(self, negative_slope=negative_slope)

    # -- reductions -------------------------------------------------------------------
    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        return _ops.Sum.apply(self, **_reduce_args(axis, keepdims, dim, keepdim))

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: bool | None = None) -> Tensor:
        return _ops.Mean.apply(self, **_reduce_args(axis, keepdims, dim, keepdim))

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        return _ops.Max.apply(self, **_reduce_args(axis, keepdims, dim, keepdim))

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        return _ops.Min.apply(self, **_reduce_args(axis, keepdims, dim, keepdim))

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        return _ops.Softmax.apply(self, axis=axis if dim is None else dim)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        return _ops.LogSoftmax.apply(self, axis=axis if dim is None else dim)

    # -- shape ------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.Reshape.apply(self, shape=tuple(int(s) for s in shape))

    view = reshape

    def flatten(self, start_dim: int = 0) -> Tensor:
        return self.reshape(*self.data.shape[:start_dim], -1)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute the axes: no argument reverses them, two axes swap them (as in
        `torch.transpose(x, 0, 1)`), a full tuple is a permutation (as in numpy)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2:
            order = list(range(self.data.ndim))
            a, b = (ax % self.data.ndim for ax in axes)
            order[a], order[b] = order[b], order[a]
            axes = tuple(order)
        return _ops.Transpose.apply(self, axes=tuple(axes) if axes else None)

    def permute(self, *axes: int) -> Tensor:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.Transpose.apply(self, axes=tuple(axes))

    @property
    def T(self) -> Tensor:  # noqa: N802 (numpy and PyTorch name)
        return _ops.Transpose.apply(self, axes=None)


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _plain_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _reduce_args(axis: Any, keepdims: bool, dim: Any, keepdim: bool | None) -> dict[str, Any]:
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if isinstance(axis, list):
        axis = tuple(axis)
    return {"axis": axis, "keepdims": bool(keepdims)}


def tensor(data: Any, requires_grad: bool = False, name: str | None = None,
           dtype: Any = None) -> Tensor:
    """Make a tensor from a number, a (nested) list or a numpy array.

    Python floats become float32 (the default dtype, for speed); numpy arrays keep
    their float dtype, so float64 is honoured when given. PyTorch: `torch.tensor`.
    """
    return Tensor(data, requires_grad=requires_grad, name=name, dtype=dtype)


# The operators above call the ops through this module reference (a global lookup, not an
# import per call). It is imported last because the ops themselves need Tensor.
from stepgrad import ops as _ops  # noqa: E402
