"""Tensor methods for tests and masks, and selections built from indexing: isnan, isclose,
logical_and, `~ & | ^`, clamp_min, count_nonzero, nonzero, argsort, trunc, frac, nan_to_num,
tile, repeat_interleave, diag, cumprod.

A mixin of `Tensor` (see tensor.py). Tests (isnan, isclose, logical_*, `&`) give bool or
integer tensors with no gradient, as comparisons do: a step function has derivative 0
almost everywhere, so PyTorch records nothing for them either. The differentiable ones are
short composites of existing ops, so the debugger steps through each part and their
gradients are the ops' own: `frac` is a subtraction, `nan_to_num` a `where`, `tile` a
repeat, `repeat_interleave` and `diag` an index, `cumprod` a masked product.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.tensor_base import TensorBase

_ops: Any = None  # the stepgrad.ops module, set by stepgrad.tensor once the ops exist

#: PyTorch's names of numpy's dtypes, for errors in PyTorch's words
TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
               "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool"}


def torch_name(dtype: Any) -> str:
    return TORCH_NAMES.get(str(np.dtype(dtype)), str(dtype))


class LogicMethods(TensorBase):
    """Tests, logical and bitwise operators, and selection composites of Tensor."""

    __slots__ = ()

    # -- tests: bool tensors, no gradient ---------------------------------------------
    def isnan(self) -> Any:
        """True where the value is NaN (never for an integer or bool tensor)."""
        return self._test(np.isnan)

    def isinf(self) -> Any:
        return self._test(np.isinf)

    def isposinf(self) -> Any:
        return self._test(np.isposinf)

    def isneginf(self) -> Any:
        return self._test(np.isneginf)

    def isfinite(self) -> Any:
        return type(self)(np.isfinite(self._data) if self._data.dtype.kind == "f"
                          else np.ones(self._data.shape, dtype=bool))

    def _test(self, ufunc: Any) -> Any:
        if self._data.dtype.kind != "f":
            return type(self)(np.zeros(self._data.shape, dtype=bool))
        return type(self)(np.asarray(ufunc(self._data)))

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Any:
        """|a - b| <= atol + rtol * |b|, element by element (NaN equals NaN only with
        equal_nan). Both tensors must have one dtype, as PyTorch requires."""
        other = _need_tensor(self, other, "isclose")
        if self._data.dtype != other.data.dtype:
            raise RuntimeError(f"{torch_name(self._data.dtype)} did not match "
                               f"{torch_name(other.data.dtype)} (isclose compares tensors of "
                               f"one dtype: convert one with .to(other.dtype))")
        for name, value in (("rtol", rtol), ("atol", atol)):
            if value < 0:
                raise RuntimeError(f"{name} must be greater than or equal to zero, but got "
                                   f"{value}")
        _broadcast("isclose", self, other)
        return type(self)(np.isclose(self._data, other.data, rtol, atol, equal_nan))

    # -- logical: bool results for any dtype (nonzero is True) -------------------------
    def logical_not(self) -> Any:
        return type(self)(np.logical_not(self._data))

    def logical_and(self, other: Any) -> Any:
        return self._logical(np.logical_and, other, "logical_and")

    def logical_or(self, other: Any) -> Any:
        return self._logical(np.logical_or, other, "logical_or")

    def logical_xor(self, other: Any) -> Any:
        return self._logical(np.logical_xor, other, "logical_xor")

    def _logical(self, ufunc: Any, other: Any, name: str) -> Any:
        other = _need_tensor(self, other, name)
        _broadcast(name, self, other)
        return type(self)(np.asarray(ufunc(self._data, other.data)))

    # -- bitwise: integer and bool tensors only (on bools they are the logical ones) ----
    def __invert__(self) -> Any:
        if self._data.dtype.kind not in "biu":
            raise TypeError("~ (operator.invert) is only implemented on integer and "
                            "Boolean-type tensors (for a mask from a float tensor: x == 0, "
                            "or x.logical_not())")
        return type(self)(np.invert(self._data))

    def bitwise_not(self) -> Any:
        if self._data.dtype.kind not in "biu":
            raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for "
                                      f"'{torch_name(self._data.dtype)}'")
        return ~self

    def __and__(self, other: Any) -> Any:
        return _bitwise(np.bitwise_and, self, other)

    def __or__(self, other: Any) -> Any:
        return _bitwise(np.bitwise_or, self, other)

    def __xor__(self, other: Any) -> Any:
        return _bitwise(np.bitwise_xor, self, other)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__  # each is symmetric
    bitwise_and, bitwise_or, bitwise_xor = __and__, __or__, __xor__

    # -- clamp with one bound, or with tensor bounds ------------------------------------
    def clamp_min(self, min: Any) -> Any:  # noqa: A002 (PyTorch's name)
        """max(x, min): the gradient passes where x >= min (the bound itself passes)."""
        return clamp(self, min, None)

    def clamp_max(self, max: Any) -> Any:  # noqa: A002
        return clamp(self, None, max)

    # -- counting and ordering: index tensors (int64), no gradient ----------------------
    def count_nonzero(self, dim: Any = None) -> Any:
        axis = tuple(_dim(d, self._data.ndim) for d in np.atleast_1d(dim)) \
            if dim is not None else None
        return type(self)(np.asarray(np.count_nonzero(self._data, axis=axis), dtype=np.int64))

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of nonzero elements: one row each, or (as_tuple) one tensor per axis,
        like numpy's np.nonzero (a 0-d tensor counts as one element along one axis)."""
        found = np.nonzero(np.atleast_1d(self._data))
        if as_tuple:
            return tuple(type(self)(i.astype(np.int64)) for i in found)
        if self._data.ndim == 0:  # one row per hit (0 or 1), no columns
            return type(self)(np.zeros((len(found[0]), 0), dtype=np.int64))
        return type(self)(np.stack(found, axis=1).astype(np.int64))

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
        """The indices that sort along dim; NaN counts as the largest value, as in PyTorch.
        Ties keep their order whether or not stable=True (PyTorch promises it only then)."""
        if isinstance(dim, bool):
            raise TypeError("argsort(): dim must be an int, not bool (stable= and "
                            "descending= are keywords)")
        axis = _dim(dim, self._data.ndim)
        if self._data.ndim == 0:
            return type(self)(np.array(0, dtype=np.int64))
        return type(self)(_order(self._data, axis, descending).astype(np.int64))

    # -- rounding toward zero -----------------------------------------------------------
    def trunc(self) -> Any:
        """The integer part (toward zero): the `step` op, gradient 0, as floor and round."""
        return step(self, "trunc")

    fix = trunc

    def frac(self) -> Any:
        """x - trunc(x): the fractional part, with the sign of x. d/dx = 1, as in PyTorch."""
        if self._data.dtype.kind != "f":
            raise NotImplementedError(f"\"frac_cpu\" not implemented for "
                                      f"'{torch_name(self._data.dtype)}'")
        return self - type(self)(np.trunc(self._data))

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None,
                   neginf: float | None = None) -> Any:
        """NaN, +inf, -inf replaced (by 0 and the dtype's largest and smallest finite
        values unless given): a `where`, so the gradient is 1 where x was finite, else 0."""
        if self._data.dtype.kind != "f":
            return type(self)(self._data.copy())
        finite = np.isfinite(self._data)
        filled = np.nan_to_num(self._data, nan=nan, posinf=posinf, neginf=neginf)
        return _ops.Where.apply(self, filled, condition=finite)

    # -- copies along axes: differentiable through repeat and index ---------------------
    def tile(self, *dims: Any) -> Any:
        """Repeat the whole tensor `dims` times along each axis; fewer dims than axes are
        padded with 1s in front (Tensor.repeat would refuse them)."""
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        if any(int(d) < 0 for d in dims):
            raise RuntimeError(f"Trying to create tensor with negative dimension: tile{dims}")
        dims = (1,) * (self._data.ndim - len(dims)) + tuple(int(d) for d in dims)
        return _ops.Repeat.apply(self, repeats=dims)

    def unique(self, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
               return_counts: bool = False, dim: int | None = None) -> Any:
        from stepgrad.torch_counting import unique

        return unique(self, sorted, return_inverse, return_counts, dim)

    def bincount(self, weights: Any = None, minlength: int = 0) -> Any:
        from stepgrad.torch_counting import bincount

        return bincount(self, weights, minlength)

    def repeat_interleave(self, repeats: Any, dim: int | None = None, *,
                          output_size: int | None = None) -> Any:
        """Each element repeated `repeats` times in place ([a, b] -> [a, a, b, b]); with
        dim None the tensor is flattened first. An index_select, so each copy sends its
        gradient back to the element it came from."""
        source: Any = self.reshape(-1) if dim is None else self
        axis = _dim(0 if dim is None else dim, source.data.ndim)
        n = source.data.shape[axis] if source.data.ndim else 1
        counts = _repeat_counts(repeats, n)
        if output_size is not None and output_size != int(counts.sum()):
            raise RuntimeError(f"repeat_interleave: output_size {output_size} is not the "
                               f"sum of the repeats ({int(counts.sum())})")
        if source.data.ndim == 0:
            source = source.reshape(1)
        return source.index_select(axis, np.repeat(np.arange(n), counts))

    def diag(self, diagonal: int = 0) -> Any:
        """1-D v -> the square matrix with v on diagonal k (above the main one for k > 0);
        2-D -> its diagonal k as 1-D. Both are one index, so the gradient flows back only
        to the places on the diagonal."""
        if self._data.ndim not in (1, 2):
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self._data.ndim}D")
        if self._data.ndim == 2:
            rows, cols = _diagonal_places(self._data.shape, diagonal)
            return self[rows, cols]
        n = self._data.shape[0]
        size = n + abs(diagonal)
        # every place of the matrix picks an element of v, or the 0 padded after it
        index = np.full((size, size), n)
        rows, cols = _diagonal_places((size, size), diagonal)
        index[rows, cols] = np.arange(n)
        return _ops.Pad.apply(self, pad_width=(0, 1), value=0)[index]

    def cumprod(self, dim: int, *, dtype: Any = None) -> Any:
        """out_i = x_0 * ... * x_i along dim, computed as one product per i of x masked by
        j <= i (ones elsewhere). The prod op's gradient (the product of the others, found
        without dividing) then holds where x has zeros, as PyTorch's does. Memory grows as
        the square of the length of dim: fine at course sizes."""
        source: Any = self if dtype is None else self.type(dtype)
        if source.data.ndim == 0:
            _dim(dim, 0)
            return source.reshape(1).cumprod(0).reshape(())
        axis = _dim(dim, source.data.ndim)
        n = source.data.shape[axis]
        shape = source.data.shape
        wide = source.unsqueeze(axis).expand(*shape[:axis], n, n, *shape[axis + 1:])
        tail = (1,) * (len(shape) - axis - 1)
        mask = np.tril(np.ones((n, n), dtype=bool)).reshape((n, n) + tail)  # [i, j]: j <= i
        return wide.where(mask, 1).prod(axis + 1)


def clamp(x: Any, low: Any, high: Any) -> Any:
    """x.clamp(low, high), the body of clamp, clamp_min and clamp_max: number bounds go to
    the clamp op, tensor bounds to two `where`s.

    An integer tensor clamped by a float becomes float32 (bool by an int: int64), as
    in PyTorch.
    """
    if low is None and high is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(low, TensorBase) or isinstance(high, TensorBase):
        return _clamp_by_tensors(x, low, high)
    source = x
    kind = x.data.dtype.kind
    if kind in "biu" and any(isinstance(b, float) for b in (low, high)):
        from stepgrad.dtypes import default_dtype

        source = x.type(default_dtype())
    elif kind == "b":
        source = x.type(np.int64)
    return _ops.Clamp.apply(source, low=low, high=high)


def _need_tensor(x: Any, other: Any, name: str) -> Any:
    if not isinstance(other, TensorBase):
        raise TypeError(f"{name}(): argument 'other' (position 1) must be Tensor, not "
                        f"{type(other).__name__}")
    return other


def _broadcast(name: str, a: Any, b: Any) -> None:
    """PyTorch's broadcasting check, as the ops' funnel makes it (one line, no numpy trace)."""
    from stepgrad.function import ShapeError

    try:
        np.broadcast_shapes(a.data.shape, b.data.shape)
    except ValueError:
        raise ShapeError(f"{name}: shapes {a.data.shape} and {b.data.shape} do not fit "
                         f"together") from None


def step(x: Any, how: str, decimals: int = 0) -> Any:
    """floor, ceil, round, trunc or sign of x as the `step` op (gradient 0, as in PyTorch);
    a bool tensor: sign is itself, the others PyTorch's error."""
    if x._data.dtype.kind == "b":
        if how == "sign":
            return type(x)(x._data.copy())
        raise NotImplementedError(f"\"{how}\" not implemented for 'Bool'")
    if how == "round" and decimals:
        if x._data.dtype.kind != "f":
            raise NotImplementedError(f"\"round_cpu\" not implemented for "
                                      f"'{torch_name(x._data.dtype)}' with decimals")
        return _ops.Step.apply(x, how=how, decimals=decimals)
    return _ops.Step.apply(x, how=how)


def _bitwise(ufunc: Any, a: Any, other: Any) -> Any:
    """a & b (| ^): bool with bool stays bool; with an integer, PyTorch's integer dtype; a
    float anywhere is refused, as PyTorch refuses it."""
    if isinstance(other, np.ndarray):  # `array & t`, which numpy hands to the tensor
        other = type(a)(other)
    kind, values = a.data.dtype.kind, other
    dtype: np.dtype
    if isinstance(other, TensorBase):
        _broadcast(ufunc.__name__, a, other)
        dtype, values = np.result_type(a.data.dtype, other.data.dtype), other.data
    elif isinstance(other, bool):
        dtype = a.data.dtype  # True beside a tensor takes the tensor's dtype
    elif isinstance(other, int):
        dtype = np.dtype(np.int64) if kind == "b" else a.data.dtype
    elif isinstance(other, float):
        dtype = a.data.dtype if kind == "f" else np.dtype(np.float32)
    else:
        return NotImplemented
    if dtype.kind not in "biu":  # named as PyTorch would promote: a float beside an int wins
        floats = [d for d in (a.data.dtype, getattr(other, "dtype", dtype)) if d.kind == "f"]
        raise NotImplementedError(f"\"{ufunc.__name__}_cpu\" not implemented for "
                                  f"'{torch_name(np.result_type(*floats))}' (bitwise ops take "
                                  f"integer and bool tensors)")
    return type(a)(np.asarray(ufunc(a.data.astype(dtype), np.asarray(values, dtype=dtype))))


def _dim(dim: Any, ndim: int) -> int:
    """dim as a non-negative axis, or PyTorch's IndexError (a 0-d tensor takes 0 and -1)."""
    low, high = -max(ndim, 1), max(ndim, 1) - 1
    if not low <= int(dim) <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, "
                         f"{high}], but got {dim})")
    return int(dim) % max(ndim, 1)


def _clamp_by_tensors(x: Any, low: Any, high: Any) -> Any:
    """clamp with tensor bounds as `where`s: out = where(x < low, low, x), then
    where(out > high, high, out). x's gradient passes where low <= x <= high, low's where
    x < low, high's where the result was over it (so high wins when low > high). A last
    `where` makes NaN (and no gradient) wherever x or a bound is NaN, and stops the
    gradient where x < low == high: there PyTorch sends it to none of the three."""
    lo, hi = (np.asarray(getattr(b, "data", b) if b is not None else end, dtype=float)
              for b, end in ((low, -np.inf), (high, np.inf)))  # no bound: never crossed
    out = x if low is None else x.where(~(x.data < lo), low)
    out = out if high is None else out.where(~(out.data > hi), high)
    nan = np.isnan(x.data) | np.isnan(lo) | np.isnan(hi)
    stuck = nan | (x.data < lo) & (lo == hi)
    if not stuck.any():
        return out
    return out.where(~stuck, np.where(nan, np.nan, out.data).astype(out.data.dtype))


def _order(data: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    if not descending:
        return np.argsort(data, axis=axis, kind="stable")  # NaN last, as in PyTorch
    if data.dtype.kind != "f":
        return np.argsort(np.invert(data), axis=axis, kind="stable")  # ~ reverses the order
    nan = np.isnan(data)
    return np.lexsort((-np.where(nan, 0, data), ~nan), axis=axis)  # NaN first, then largest


def _repeat_counts(repeats: Any, n: int) -> np.ndarray:
    """repeats as one count per element, with PyTorch's refusals."""
    if isinstance(repeats, TensorBase):
        counts = repeats.data
        if counts.dtype.kind not in "iu":
            raise NotImplementedError(f"\"repeat_interleave_cpu\" not implemented for "
                                      f"'{torch_name(counts.dtype)}'")
        if counts.ndim > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if counts.ndim == 1 and len(counts) not in (1, n):
            raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {len(counts)} and input.size(0) = {n}")
    elif isinstance(repeats, int):
        counts = np.asarray(repeats)
    else:
        raise TypeError(f"repeat_interleave(): repeats must be an int or a Tensor, not "
                        f"{type(repeats).__name__}")
    if (counts < 0).any():
        raise RuntimeError("Repeats must be non-negative")
    return np.broadcast_to(counts, (n,))


def _diagonal_places(shape: tuple[int, ...], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The (rows, cols) of diagonal k of a matrix of `shape` (empty when it misses)."""
    rows, cols = shape
    length = max(0, min(rows - max(-k, 0), cols - max(k, 0)))
    first = np.arange(length)
    return first + max(-k, 0), first + max(k, 0)
