"""Tensor: a numpy array that remembers how it was made, so gradients can flow back.

    x = sg.tensor([[1.0, -2.0]], requires_grad=True, name="x")
    y = (x * 3).relu().sum()
    y.backward()
    x.grad            # a Tensor shaped like x (np.asarray(x.grad) gives its array)

Every operator and method delegates to an op's `Function.apply` (see ops/): the tensor
itself holds no math. This file has what makes a Tensor (data, grad, identity, operators,
comparisons, numpy interplay); the PyTorch-named methods live in mixins: `tensor_methods.py`
(math, reductions), `tensor_arith.py` (add, sub, mul, div, pow, ... with PyTorch's result
dtypes), `tensor_shape.py` (view, permute, indexing rules), `tensor_casts.py` (dtypes,
devices) and `tensor_inplace.py` (`add_`, `w -= ...`, `x[i] = v`). PyTorch equivalent:
`torch.Tensor`.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from stepgrad.dtypes import (  # noqa: F401 (set/get re-exported: stepgrad.tensor's API)
    Size,
    default_dtype,
    get_default_dtype,
    set_default_dtype,
)
from stepgrad.tensor_arith import ArithmeticMethods
from stepgrad.tensor_casts import CastMethods, legacy_array
from stepgrad.tensor_data import data_view
from stepgrad.tensor_inplace import InplaceMethods
from stepgrad.tensor_logic import LogicMethods
from stepgrad.tensor_methods import Methods
from stepgrad.tensor_print import grad_fn_of, tensor_repr
from stepgrad.tensor_shape import ShapeMethods, _plain_index, _pytorch_order

_ids = itertools.count(1)
_new_id = _ids.__next__


def _to_array(data: Any, dtype: Any = None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, np.ndarray) or isinstance(data, np.generic):
        array = np.array(data)
        return array.astype(default_dtype()) if array.dtype.kind == "f" and \
            array.dtype.itemsize < 4 else array
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        data = [np.asarray(x) for x in data]  # a list of tensors, as torch.tensor accepts
    array = np.array(data)
    if array.dtype.kind in "fiu" or array.dtype == object:
        if array.dtype.kind in "iu" and not _has_float(data):
            return array.astype(np.int64)  # integer data stays integer (labels, indices)
        return array.astype(default_dtype())
    return array


def _has_float(data: Any) -> bool:
    if isinstance(data, float):
        return True
    if isinstance(data, (list, tuple)):
        return any(_has_float(x) for x in data)
    return False


class Tensor(Methods, ArithmeticMethods, ShapeMethods, CastMethods, InplaceMethods, LogicMethods):
    """A node of the computation graph: `data` (numpy array) and, after backward, `grad`.

    Made by `sg.tensor(...)` or by an op. `requires_grad=True` asks backward to fill
    `grad` (a Tensor without a gradient of its own); `name` shows in the debugger (op
    outputs are named `relu_3`, parameters by their module path such as `fc1.weight`).
    """

    __slots__ = ("_data", "grad", "requires_grad", "_name", "_id", "_fn", "_index", "_ctx",
                 "_parents", "_where", "_version", "_hooks", "__weakref__")
    # `_version` and `_hooks` are set only on tensors that were changed in place or given a
    # hook; readers use getattr(t, "_version", 0), so the forward funnel need not set them.

    def __init__(self, *data: Any, requires_grad: bool = False, name: str | None = None,
                 dtype: Any = None) -> None:
        legacy = legacy_array(data, dtype)  # torch.Tensor(2, 3), torch.Tensor([1, 2]): float
        self.data = _to_array(data[0], dtype) if legacy is None else legacy
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(f"tensor: only float tensors can require gradients, got dtype "
                            f"{self._data.dtype}; pass floats (1.0) or dtype=torch.float32")
        self.grad: Tensor | None = None
        self.requires_grad = bool(requires_grad)
        self._name = name
        self._id = _new_id()
        self._fn = None
        self._index = 0
        self._ctx = None
        self._parents: tuple[Tensor, ...] = ()
        self._where = None

    # `data` is the numpy array, seen as TensorData (PyTorch's `p.data.normal_(0, 0.01)`...).
    # A property so that `p.data = other_tensor`, PyTorch's way to replace the values, stores
    # the array and not the Tensor. The engine itself reads `_data`.
    def _set_data(self, value: Any) -> None:
        self._data = value if type(value) is np.ndarray else _to_array(value)

    data = property(data_view, _set_data)

    @classmethod
    def _constant(cls, value: Any, like: np.dtype) -> Tensor:
        """Wrap a number, list or array that an op meets among its inputs (no gradient)."""
        if type(value) is float or type(value) is int:  # the common case, made quickly
            return _number(value, like)  # a Python 2 next to float32 data stays float32
        if isinstance(value, np.ndarray):
            array = value
        else:
            array = np.asarray(value)
            if array.dtype.kind in "fiu":
                array = array.astype(like)
        const = cls.__new__(cls)
        const._data, const.grad, const.requires_grad, const._name = array, None, False, None
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
    def grad_fn(self) -> Any:
        """The node that made this tensor (None for a leaf; its `.op` is the op).
        PyTorch: `Tensor.grad_fn`. See tensor_print.py."""
        return grad_fn_of(self)

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def size(self, dim: int | None = None) -> Any:
        """The shape (a Size), or the length of axis `dim`. PyTorch: `Tensor.size`."""
        return Size(self._data.shape) if dim is None else self._data.shape[dim]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Any:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def __repr__(self) -> str:
        return tensor_repr(self)  # PyTorch's format (tensor_print.py)

    # -- conversions ------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a numpy array (shared, like PyTorch's `.numpy()`; PyTorch refuses it
        on a tensor that requires grad, stepgrad allows it)."""
        return self._data

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """`np.asarray(t)` gives the data (so numpy code reads tensors and their .grad)."""
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy meets a Tensor: `ndarray + t` and `ndarray == t` become Tensor ops (as if
        the Tensor were on the left); every other ufunc (np.exp(t), np.square(t.grad))
        works on the arrays and gives an array, recording nothing."""
        pair = _REFLECTED.get(ufunc.__name__)
        if pair is not None and method == "__call__" and not kwargs and len(inputs) == 2:
            left, right = inputs
            if isinstance(left, Tensor):
                return getattr(left, pair[0])(right)
            return getattr(right, pair[1])(left)
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        if any(isinstance(x, Tensor) for x in kwargs.get("out", ())):
            raise TypeError(f"np.{ufunc.__name__}(..., out=tensor): write into tensor.data, or "
                            f"use the tensor's in-place methods (add_, mul_, copy_)")
        return getattr(ufunc, method)(*arrays, **kwargs)

    def __dlpack__(self, **kwargs: Any) -> Any:
        """The array through DLPack, so `torch.tensor(t)` and `np.from_dlpack(t)` read it."""
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> Any:
        return self._data.__dlpack_device__()

    def item(self) -> Any:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only one-element tensors have an item, this one has shape "
                             f"{self._data.shape}; index it first or use .numpy()")
        return self._data.item()

    def tolist(self) -> Any:
        return self._data.tolist()

    def detach(self) -> Tensor:
        """The same data (shared, as in PyTorch), cut from the graph: no gradient flows back."""
        return Tensor._constant(self._data, self._data.dtype)

    # -- gradients --------------------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: Any = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Fill `.grad` of every leaf this tensor depends on (PyTorch: `loss.backward()`).
        The graph is kept, so `retain_graph` changes nothing; `create_graph` (gradients of
        gradients) is outside stepgrad's course subset."""
        from stepgrad.autograd import backward

        if create_graph:
            raise NotImplementedError("backward(create_graph=True): higher-order gradients are "
                                      "outside stepgrad's course subset")
        backward(self, gradient, inputs=inputs)

    # -- operators --------------------------------------------------------------------
    # Each goes through _promote first, which is a no-op for float tensors (the usual case)
    # and gives PyTorch's dtype where numpy's promotion differs.
    def __add__(self, other: Any) -> Tensor:
        return _ops.Add.apply(*_promote(self, other))

    def __radd__(self, other: Any) -> Tensor:
        return _ops.Add.apply(*_promote(self, other)[::-1])

    def __sub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(*_promote(self, other, subtract=True))

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(*_promote(self, other, subtract=True)[::-1])

    def __mul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(*_promote(self, other))

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(*_promote(self, other)[::-1])

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(*_promote(self, other, divide=True))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(*_promote(self, other, divide=True)[::-1])

    def __floordiv__(self, other: Any) -> Tensor:
        return _ops.RoundedDiv.apply(*_promote(self, other), differentiable=False)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _ops.RoundedDiv.apply(*_promote(self, other)[::-1], differentiable=False)

    def __mod__(self, other: Any) -> Tensor:
        return _ops.Remainder.apply(*_promote(self, other))

    def __rmod__(self, other: Any) -> Tensor:
        return _ops.Remainder.apply(*_promote(self, other)[::-1])

    def __pow__(self, other: Any) -> Tensor:
        return _ops.Pow.apply(*_promote(self, other))

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.Pow.apply(*_promote(self, other)[::-1])

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(*_promote(self, other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(*_promote(self, other)[::-1])

    def __neg__(self) -> Tensor:
        return _ops.Neg.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        index = _plain_index(index)
        first, rest = _pytorch_order(index)
        if first is not None:  # integers next to index arrays: PyTorch selects them first
            return _ops.GetItem.apply(_ops.GetItem.apply(self, index=first), index=rest)
        return _ops.GetItem.apply(self, index=index)

    # comparisons are elementwise and give bool tensors; no gradient flows through them
    def __eq__(self, other: Any) -> Any:
        return False if other is None else _compare(np.equal, self, other)  # PyTorch: t == None

    def __ne__(self, other: Any) -> Any:
        return True if other is None else _compare(np.not_equal, self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _compare(np.less, self, other)

    def __le__(self, other: Any) -> Tensor:
        return _compare(np.less_equal, self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _compare(np.greater, self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _compare(np.greater_equal, self, other)

    __hash__ = object.__hash__  # tensors are dict keys by identity, as in PyTorch


#: numpy ufunc name -> (the Tensor method when the Tensor is on the left, when on the right)
_REFLECTED = {
    "add": ("__add__", "__radd__"), "subtract": ("__sub__", "__rsub__"),
    "multiply": ("__mul__", "__rmul__"), "divide": ("__truediv__", "__rtruediv__"),
    "power": ("__pow__", "__rpow__"), "matmul": ("__matmul__", "__rmatmul__"),
    "remainder": ("__mod__", "__rmod__"), "floor_divide": ("__floordiv__", "__rfloordiv__"),
    "bitwise_and": ("__and__", "__rand__"), "bitwise_or": ("__or__", "__ror__"),
    "bitwise_xor": ("__xor__", "__rxor__"),
    "equal": ("__eq__", "__eq__"), "not_equal": ("__ne__", "__ne__"),
    "less": ("__lt__", "__gt__"), "greater": ("__gt__", "__lt__"),
    "less_equal": ("__le__", "__ge__"), "greater_equal": ("__ge__", "__le__"),
}


def _promote(a: Tensor, b: Any, divide: bool = False, subtract: bool = False) -> tuple[Any, Any]:
    """(a, b) with PyTorch's result dtype where numpy's differs: an integer tensor with a
    Python int stays integer, with a Python float (or any true division) it becomes the
    default float dtype; a float tensor with an integer tensor keeps the float's dtype
    (numpy would give float64). Every binary operator and method goes through here."""
    a_kind = a._data.dtype.kind
    if a_kind == "f" and (type(b) is float or type(b) is int):
        # the usual case, a number beside a float tensor: made a constant of the tensor's
        # dtype here, as the forward funnel would (saves it a pass over the inputs)
        return a, _number(b, a._data.dtype)
    b_kind = b._data.dtype.kind if isinstance(b, Tensor) else None
    if subtract and "b" in (a_kind, b_kind):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    if a_kind == "f" and b_kind in (None, "f"):
        return a, b  # the other usual case: nothing to do
    if a_kind == "f":
        return a, b.type(a._data.dtype)
    if b_kind == "f":
        return a.type(b._data.dtype), b
    if isinstance(b, float) or divide:
        return a.type(default_dtype()), b.type(default_dtype()) if b_kind else b
    if isinstance(b, int):
        return a, np.array(b, dtype=np.result_type(a._data.dtype, np.int8 if isinstance(b, bool)
                                                   else np.int64))
    return a, b


#: Python numbers met beside tensors, as read-only 0-d arrays by (number, dtype): a loop's
#: `y * 0.9` makes one array, not one per iteration (2.9 -> 2.8 µs a node on the chain).
_numbers: dict[tuple[Any, np.dtype], np.ndarray] = {}


def _number(value: float, dtype: np.dtype) -> Tensor:
    """A constant tensor for a Python number beside a tensor of `dtype` (`y * 0.9`)."""
    key = (value, dtype)
    array = _numbers.get(key) if value else None  # not 0: -0.0 == 0.0 but differ in sign
    if array is None:
        array = np.array(value, dtype=dtype)
        if value:
            if len(_numbers) > 1024:  # NaN never equals itself: each one is a new key
                _numbers.clear()
            array.flags.writeable = False
            _numbers[key] = array
    const = _new_tensor(Tensor)
    const._data, const.grad, const.requires_grad, const._name, const._id = \
        array, None, False, None, _new_id()
    # _index -1: a constant made from a Python number, which an event may share
    const._fn, const._index, const._ctx, const._parents, const._where = None, -1, None, (), None
    return const


_new_tensor = object.__new__


def _compare(ufunc: Any, a: Tensor, b: Any) -> Tensor:
    other = b._data if isinstance(b, Tensor) else b
    return Tensor._constant(np.asarray(ufunc(a._data, other)), np.dtype(bool))


def tensor(data: Any, requires_grad: bool = False, name: str | None = None,
           dtype: Any = None, device: Any = None) -> Tensor:
    """Make a tensor from a number, a (nested) list or a numpy array.

    Python floats become float32 (the default dtype, for speed); Python ints become int64;
    numpy arrays keep their float dtype, so float64 is honoured when given. PyTorch:
    `torch.tensor`.
    """
    from stepgrad.device import check_device

    check_device(device)
    return Tensor(_to_array(data, dtype), requires_grad=requires_grad, name=name)


# The operators above call the ops through this module reference (a global lookup, not an
# import per call). It is imported last because the ops themselves need Tensor; the mixins
# get the same reference.
from stepgrad import ops as _ops  # noqa: E402
from stepgrad import tensor_arith as _arith_module  # noqa: E402
from stepgrad import tensor_casts as _casts_module  # noqa: E402
from stepgrad import tensor_inplace as _inplace_module  # noqa: E402
from stepgrad import tensor_logic as _logic_module  # noqa: E402
from stepgrad import tensor_methods as _methods_module  # noqa: E402
from stepgrad import tensor_shape as _shape_module  # noqa: E402

_arith_module._promote = _promote
_arith_module._ops = _methods_module._ops = _inplace_module._ops = _ops
_shape_module._ops = _casts_module._ops = _logic_module._ops = _ops
