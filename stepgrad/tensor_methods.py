"""Tensor methods with PyTorch's names: Python conversions, math and reductions.

A mixin of `Tensor` (see tensor.py). Each method calls one registered op, or is a short
composite of them where that reads better (`var` is a mean of squared deviations; `log2`
is a log and a divide), so the debugger steps through every part.

Reductions follow one rule everywhere, methods and `torch.*`/`F.*` functions alike: the
axis may be given positionally or as `dim=` (PyTorch) or `axis=` (numpy), and kept as
`keepdim=` or `keepdims=`. `max`/`min` with a dimension give PyTorch's (values, indices)
pair, except when the axis is named with numpy's word `axis=`, which gives numpy's values.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from stepgrad.tensor_base import TensorBase
from stepgrad.tensor_logic import clamp as clamp_bounds
from stepgrad.tensor_logic import step, torch_name

_ops: Any = None  # the stepgrad.ops module, set by stepgrad.tensor once the ops exist


class ValuesIndices(NamedTuple):
    """What `x.max(dim)`, `x.min(dim)` return (PyTorch: `torch.return_types.max`)."""

    values: Any
    indices: Any


def reduce_args(dim: Any = None, keepdim: Any = None, **words: Any) -> dict[str, Any]:
    """The one reduction rule: positional or dim=/axis=, keepdim=/keepdims= -> axis, keepdims."""
    if words.get("out") is not None:
        raise TypeError("out= is not supported: a reduction returns a new tensor")
    words.pop("out", None), words.pop("dtype", None)  # numpy's np.sum(t) passes them as None
    unknown = set(words) - {"axis", "keepdims", "dim", "keepdim"}
    if unknown:
        raise TypeError(f"a reduction got unexpected arguments {sorted(unknown)}; it takes "
                        f"dim (or axis) and keepdim (or keepdims)")
    axis = words.get("dim", words.get("axis", dim))
    keep = words.get("keepdim", words.get("keepdims", keepdim))
    if isinstance(axis, list):
        axis = tuple(axis)
    return {"axis": axis, "keepdims": bool(keep)}


def _shape_args(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """`view(2, 3)`, `view((2, 3))` and `view(torch.Size([2, 3]))` all mean (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


class Methods(TensorBase):
    """Conversions, math and reduction methods of Tensor (all through registered ops)."""

    __slots__ = ()

    # -- Python conversions: if t:, float(t), f"{t:.3f}", lst[t] -------------------------
    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous "
                               f"(shape {self._data.shape}); use .any() or .all()")
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, got dtype {self._data.dtype} and shape {self._data.shape}")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """A 0-d tensor formats as its number (f"{loss:.4f}"), as in PyTorch."""
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return format(repr(self), spec)

    # -- elementwise ------------------------------------------------------------------
    def exp(self) -> Any:
        return _ops.Exp.apply(_floating(self))

    def log(self) -> Any:
        return _ops.Log.apply(_floating(self))

    def log2(self) -> Any:
        """log2 a = ln a / ln 2 (a composite: the debugger shows the log and the divide)."""
        return _ops.Log.apply(_floating(self)) / float(np.log(2.0))

    def log10(self) -> Any:
        return _ops.Log.apply(_floating(self)) / float(np.log(10.0))

    def sqrt(self) -> Any:
        return _ops.Sqrt.apply(_floating(self))

    def rsqrt(self) -> Any:
        """1 / sqrt(a)."""
        return 1.0 / _ops.Sqrt.apply(_floating(self))

    def sin(self) -> Any:
        return _ops.Sin.apply(_floating(self))

    def cos(self) -> Any:
        return _ops.Cos.apply(_floating(self))

    def abs(self) -> Any:
        return _ops.Abs.apply(self)

    def neg(self) -> Any:
        return _ops.Neg.apply(self)

    def tanh(self) -> Any:
        return _ops.Tanh.apply(_floating(self))

    def sigmoid(self) -> Any:
        return _ops.Sigmoid.apply(_floating(self))

    def relu(self) -> Any:
        return _ops.ReLU.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Any:
        return _ops.LeakyReLU.apply(self, negative_slope=negative_slope)

    def reciprocal(self) -> Any:
        return 1.0 / self

    def log1p(self) -> Any:
        """ln(1 + a) as a composite (for |a| near 1e-8 less exact than torch.log1p)."""
        return _ops.Log.apply(_floating(self) + 1.0)

    def expm1(self) -> Any:
        return _ops.Exp.apply(_floating(self)) - 1.0

    def sign(self) -> Any:
        """-1, 0 or 1: a step function, whose gradient is 0 (PyTorch keeps the node)."""
        return step(self, "sign")

    def floor(self) -> Any:
        return step(self, "floor")

    def ceil(self) -> Any:
        return step(self, "ceil")

    def round(self, decimals: int = 0) -> Any:
        """Halves to even, as PyTorch and numpy round."""
        return step(self, "round", decimals)

    def outer(self, other: Any) -> Any:
        """a[i] * b[j] for every i, j (vectors): a broadcast product."""
        _need_dims("outer", 1, self, other)
        return self.reshape(-1, 1) * other

    def mv(self, vector: Any) -> Any:
        _need_dims("mv", 2, self)
        return _ops.MatMul.apply(self, vector)

    def clamp(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002 (PyTorch's names)
        """min(max(x, min), max); numbers or tensors as bounds (see tensor_logic.py)."""
        return clamp_bounds(self, min, max)

    clip = clamp

    def matmul(self, other: Any) -> Any:
        return _ops.MatMul.apply(self, other)

    def mm(self, other: Any) -> Any:
        """Matrix product of two 2-D tensors (torch.mm refuses other shapes)."""
        _need_dims("mm", 2, self, other)
        return _ops.MatMul.apply(self, other)

    def bmm(self, other: Any) -> Any:
        """Batched matrix product of two 3-D tensors (b, n, m) @ (b, m, p)."""
        _need_dims("bmm", 3, self, other)
        return _ops.MatMul.apply(self, other)

    def dot(self, other: Any) -> Any:
        _need_dims("dot", 1, self, other)
        return _ops.MatMul.apply(self, other)

    def masked_fill(self, mask: Any, value: float) -> Any:
        return _ops.Where.apply(value, self, condition=np.asarray(mask, dtype=bool))

    def square(self) -> Any:
        return self * self

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def new_tensor(self, data: Any, dtype: Any = None, **_: Any) -> Any:
        """A new tensor (of this one's dtype unless given) from data."""
        return type(self)(np.asarray(data, dtype=dtype or self._data.dtype))

    def new_zeros(self, *size: Any, dtype: Any = None, **_: Any) -> Any:
        return self.new_tensor(np.zeros(_shape_args(size)), dtype)

    def new_ones(self, *size: Any, dtype: Any = None, **_: Any) -> Any:
        return self.new_tensor(np.ones(_shape_args(size)), dtype)

    def new_full(self, size: Any, fill_value: Any, dtype: Any = None, **_: Any) -> Any:
        return self.new_tensor(np.full(_shape_args((size,)), fill_value), dtype)

    def eq(self, other: Any) -> Any:
        return self == other

    def ne(self, other: Any) -> Any:
        return self != other

    def lt(self, other: Any) -> Any:
        return self < other

    def le(self, other: Any) -> Any:
        return self <= other

    def gt(self, other: Any) -> Any:
        return self > other

    def ge(self, other: Any) -> Any:
        return self >= other

    # -- reductions -------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
            **words: Any) -> Any:
        """The sum over dim (all axes when None); `dtype=` casts first, as in PyTorch."""
        source = self if dtype is None else self.type(dtype)
        return _ops.Sum.apply(source, **reduce_args(dim, keepdim, **words))

    def mean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
             **words: Any) -> Any:
        source = self if dtype is None else self.type(dtype)
        return _ops.Mean.apply(_only_floats(source, "mean"), **reduce_args(dim, keepdim, **words))

    def prod(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
             **words: Any) -> Any:
        source = self if dtype is None else self.type(dtype)
        return _ops.Prod.apply(source, **reduce_args(dim, keepdim, **words))

    def var(self, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: int | None = None, **words: Any) -> Any:
        """mean of squared deviations, divided by n - 1 (Bessel's correction) by default."""
        args = reduce_args(dim, keepdim, **words)
        _only_floats(self, "var")
        dev = self - _ops.Mean.apply(self, axis=args["axis"], keepdims=True)
        n = self._data.size if args["axis"] is None else int(np.prod(
            [self._data.shape[a] for a in np.atleast_1d(args["axis"])]))
        correction = (1 if unbiased else 0) if correction is None else correction
        return _ops.Sum.apply(dev * dev, **args) / max(n - correction, 0)

    def std(self, dim: Any = None, unbiased: bool = True, keepdim: bool = False, *,
            correction: int | None = None, **words: Any) -> Any:
        return self.var(dim, unbiased, keepdim, correction=correction, **words).sqrt()

    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False, **words: Any) -> Any:
        """The p-norm (p = 2: sqrt of the sum of squares; "fro" is p = 2 too)."""
        args = reduce_args(dim, keepdim, **words)
        _only_floats(self, "norm")
        if p in (2, "fro"):
            return _ops.Sum.apply(self * self, **args).sqrt()
        if p == 1:
            return _ops.Sum.apply(_ops.Abs.apply(self), **args)
        return _ops.Sum.apply(_ops.Abs.apply(self) ** p, **args) ** (1.0 / p)

    def logsumexp(self, dim: Any, keepdim: bool = False, **words: Any) -> Any:
        return _ops.LogSumExp.apply(_floating(self), **reduce_args(dim, keepdim, **words))

    def cumsum(self, dim: int, **words: Any) -> Any:
        return _ops.CumSum.apply(self, axis=reduce_args(dim, **words)["axis"])

    def amax(self, dim: Any = None, keepdim: bool = False, **words: Any) -> Any:
        return _ops.Max.apply(self, **reduce_args(dim, keepdim, **words))

    def amin(self, dim: Any = None, keepdim: bool = False, **words: Any) -> Any:
        return _ops.Min.apply(self, **reduce_args(dim, keepdim, **words))

    def max(self, dim: Any = None, keepdim: bool = False, **words: Any) -> Any:
        """No dim: the largest value. `max(dim)`: (values, indices) along dim, the gradient
        going to the index picked. `max(other)`: elementwise maximum (torch.maximum)."""
        return self._extreme(_ops.Max, np.argmax, dim, keepdim, words)

    def min(self, dim: Any = None, keepdim: bool = False, **words: Any) -> Any:
        return self._extreme(_ops.Min, np.argmin, dim, keepdim, words)

    def _extreme(self, op: Any, arg: Any, dim: Any, keepdim: bool, words: dict) -> Any:
        if hasattr(dim, "data") and not isinstance(dim, int):
            pair = _ops.Maximum if op is _ops.Max else _ops.Minimum
            return pair.apply(self, dim)
        args = reduce_args(dim, keepdim, **words)
        if args["axis"] is None or "axis" in words or isinstance(args["axis"], tuple):
            return op.apply(self, **args)  # numpy's max(axis=...): values only
        indices = arg(self._data, axis=args["axis"], keepdims=True)
        values = _ops.Gather.apply(self, indices=indices, axis=args["axis"])
        if not args["keepdims"]:
            values, indices = values.squeeze(args["axis"]), indices.squeeze(args["axis"])
        return ValuesIndices(values, _index_tensor(indices))

    def argmax(self, dim: int | None = None, keepdim: bool = False, **words: Any) -> Any:
        args = reduce_args(dim, keepdim, **words)
        return _index_tensor(np.argmax(self._data, axis=args["axis"], keepdims=args["keepdims"]))

    def argmin(self, dim: int | None = None, keepdim: bool = False, **words: Any) -> Any:
        args = reduce_args(dim, keepdim, **words)
        return _index_tensor(np.argmin(self._data, axis=args["axis"], keepdims=args["keepdims"]))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """(values, indices) sorted along dim; the values' gradient goes back to where each
        came from (a gather)."""
        order = np.argsort(-self._data if descending else self._data, axis=dim, kind="stable")
        return ValuesIndices(_ops.Gather.apply(self, indices=order, axis=dim),
                             _index_tensor(order))

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """The k largest (or smallest) values along dim and their indices, largest first."""
        order = np.argsort(-self._data if largest else self._data, axis=dim, kind="stable")
        picked = np.take(order, np.arange(k), axis=dim)
        return ValuesIndices(_ops.Gather.apply(self, indices=picked, axis=dim),
                             _index_tensor(picked))

    def any(self, dim: Any = None, keepdim: bool = False, **words: Any) -> Any:
        return _index_tensor(np.any(self._data, **reduce_args(dim, keepdim, **words)))

    def all(self, dim: Any = None, keepdim: bool = False, **words: Any) -> Any:
        return _index_tensor(np.all(self._data, **reduce_args(dim, keepdim, **words)))

    def softmax(self, dim: int = -1, **words: Any) -> Any:
        return _ops.Softmax.apply(_only_floats(self, "softmax"),
                                  axis=reduce_args(dim, **words)["axis"])

    def log_softmax(self, dim: int = -1, **words: Any) -> Any:
        return _ops.LogSoftmax.apply(_only_floats(self, "log_softmax"),
                                     axis=reduce_args(dim, **words)["axis"])


def _floating(x: Any) -> Any:
    """x when it holds floats, else x in the default float dtype: PyTorch computes exp, log,
    sqrt, sin, tanh, ... of an integer or bool tensor in float32 (numpy: float64, float16)."""
    if x._data.dtype.kind == "f":
        return x
    from stepgrad.dtypes import default_dtype

    return x.type(default_dtype())


_FLOATS_ONLY = {
    "mean": "mean(): could not infer output dtype. Input dtype must be either a floating point "
            "or complex dtype. Got: {name}",
    "var": "std and var only support floating point and complex dtypes",
    "norm": "linalg.vector_norm: Expected a floating point or complex tensor as input. Got {name}",
    "softmax": "\"softmax\" not implemented for '{name}'",
    "log_softmax": "\"log_softmax\" not implemented for '{name}'",
}


def _only_floats(x: Any, op: str) -> Any:
    """x, if it holds floats; else PyTorch's error for `op` (numpy would compute in float64)."""
    kind = x._data.dtype.kind
    if kind == "f":
        return x
    raise RuntimeError(_FLOATS_ONLY[op].format(name=torch_name(x.data.dtype)) +
                       f" (convert first: x.float().{op}(...), or pass dtype=torch.float32 "
                       f"where {op} takes one)")


def _need_dims(name: str, ndim: int, *tensors: Any) -> None:
    shapes = [np.shape(t.data if hasattr(t, "data") else t) for t in tensors]
    if any(len(s) != ndim for s in shapes):
        raise RuntimeError(f"{name}: expected {ndim}-D tensors, got shapes "
                           f"{' and '.join(map(str, shapes))}; torch.matmul (or @) takes any")


def _index_tensor(array: Any) -> Any:
    from stepgrad.tensor import Tensor

    return Tensor(np.asarray(array))
