"""Tensor methods that change shape or pick elements: view, reshape, permute, expand,
squeeze, split, gather, and the index rules of `x[...]` where PyTorch and numpy differ.

A mixin of `Tensor` (see tensor.py). Each method calls one registered op (reshape,
transpose, expand, repeat, getitem, gather), so the debugger steps through it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.tensor_base import TensorBase
from stepgrad.tensor_methods import _shape_args

_ops: Any = None  # the stepgrad.ops module, set by stepgrad.tensor once the ops exist


class ShapeMethods(TensorBase):
    """Shape and selection methods of Tensor (all through registered ops)."""

    __slots__ = ()

    def reshape(self, *shape: Any) -> Any:
        return _ops.Reshape.apply(self, shape=_shape_args(shape))

    view = reshape

    def view_as(self, other: Any) -> Any:
        return self.reshape(other.data.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Any:
        shape = self._data.shape
        if not shape:
            return self.reshape(1)
        start, end = start_dim % len(shape), end_dim % len(shape)
        return self.reshape(*shape[:start], -1, *shape[end + 1:])

    def squeeze(self, dim: Any = None) -> Any:
        """Drop axes of length 1 (only `dim`, when given and of length 1)."""
        shape = self._data.shape
        dims = range(len(shape)) if dim is None else [d % max(len(shape), 1) for d in
                                                      np.atleast_1d(dim)]
        drop = {d for d in dims if shape and shape[d] == 1}
        return self.reshape(tuple(n for d, n in enumerate(shape) if d not in drop))

    def unsqueeze(self, dim: int) -> Any:
        shape = list(self._data.shape)
        shape.insert(dim % (len(shape) + 1), 1)
        return self.reshape(tuple(shape))

    def transpose(self, *axes: Any) -> Any:
        """Permute the axes: no argument reverses them, two axes swap them (as in
        `torch.transpose(x, 0, 1)`), a full tuple is a permutation (as in numpy)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2:
            order = list(range(self._data.ndim))
            a, b = (ax % self._data.ndim for ax in axes)
            order[a], order[b] = order[b], order[a]
            axes = tuple(order)
        return _ops.Transpose.apply(self, axes=tuple(axes) if axes else None)

    swapaxes = transpose

    def permute(self, *axes: Any) -> Any:
        return _ops.Transpose.apply(self, axes=_shape_args(axes))

    def t(self) -> Any:
        """Transpose a matrix (a 0-d or 1-d tensor is returned as it is)."""
        return self if self._data.ndim < 2 else _ops.Transpose.apply(self, axes=None)

    @property
    def T(self) -> Any:  # noqa: N802 (numpy and PyTorch name)
        return _ops.Transpose.apply(self, axes=None)

    @property
    def mT(self) -> Any:  # noqa: N802 (PyTorch's name)
        return self.transpose(-2, -1)

    def expand(self, *sizes: Any) -> Any:
        """Stretch axes of length 1 to `sizes` (-1 keeps an axis), without copying in PyTorch."""
        sizes = _shape_args(sizes)
        shape = (1,) * (len(sizes) - self._data.ndim) + self._data.shape
        target = tuple(n if s == -1 else s for s, n in zip(sizes, shape))
        return _ops.Expand.apply(self, shape=target)

    def expand_as(self, other: Any) -> Any:
        return self.expand(other.data.shape)

    broadcast_to = expand

    def repeat(self, *repeats: Any) -> Any:
        return _ops.Repeat.apply(self, repeats=_shape_args(repeats))

    def contiguous(self) -> Any:
        return self

    def clone(self) -> Any:
        """A copy that stays in the graph (the gradient flows back to the original)."""
        return self * 1.0 if self._data.dtype.kind == "f" else type(self)(self._data.copy())

    def split(self, split_size: Any, dim: int = 0) -> tuple[Any, ...]:
        """Pieces of `split_size` along dim (the last may be shorter), or of the sizes listed."""
        n = self._data.shape[dim]
        sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else []) \
            if isinstance(split_size, int) else list(split_size)
        starts = np.cumsum([0] + sizes[:-1])
        lead = (slice(None),) * (dim % self._data.ndim)
        return tuple(self[lead + (slice(int(s), int(s + k)),)] for s, k in zip(starts, sizes))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Any, ...]:
        n = self._data.shape[dim]
        return self.split(-(-n // chunks), dim)

    def tril(self, diagonal: int = 0) -> Any:
        """Zeros above the diagonal of the last two axes (a product with a 0/1 mask, so
        the gradient flows where the values were kept)."""
        return self * np.tril(np.ones(self._data.shape[-2:], dtype=self._data.dtype), diagonal)

    def triu(self, diagonal: int = 0) -> Any:
        return self * np.triu(np.ones(self._data.shape[-2:], dtype=self._data.dtype), diagonal)

    def flip(self, *dims: Any) -> Any:
        """Reverse the order along each of dims (a differentiable index)."""
        index = [slice(None)] * self._data.ndim
        for d in _shape_args(dims):
            index[d] = slice(None, None, -1)
        return self[tuple(index)]

    def roll(self, shifts: Any, dims: Any = None) -> Any:
        """Shift elements along dims, wrapping around (all elements, flattened, when dims is
        None): an index that picks each element from its old place."""
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self._data.shape)
        out = self
        for shift, dim in zip(np.atleast_1d(shifts), np.atleast_1d(dims)):
            source = np.roll(np.arange(self._data.shape[dim]), int(shift))
            out = out.index_select(int(dim), source)
        return out

    def index_select(self, dim: int, index: Any) -> Any:
        """The entries at `index` (1-D) along dim: x[:, index] for dim 1."""
        lead = (slice(None),) * (dim % self._data.ndim)
        return self[lead + (np.asarray(index),)]

    def unbind(self, dim: int = 0) -> tuple[Any, ...]:
        lead = (slice(None),) * (dim % self._data.ndim)
        return tuple(self[lead + (i,)] for i in range(self._data.shape[dim]))

    def gather(self, dim: int, index: Any) -> Any:
        return _ops.Gather.apply(self, indices=np.asarray(index), axis=dim)

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                reduce: Any = None) -> Any:
        """gather's inverse: out[index[i][j]][j] = src[i][j] for dim 0 (a copy of self
        elsewhere); `value=` writes one number. A setitem at the places index names, so
        the gradient goes to src there and to self everywhere else."""
        if reduce is not None or (src is None) == (value is None):
            raise TypeError("scatter(dim, index, src) or scatter(dim, index, value=v): stepgrad "
                            "has no reduce= (PyTorch's scatter_add / scatter_reduce)")
        index = np.asarray(_plain_index(index))
        index = index.reshape((1,) * self._data.ndim) if index.ndim == 0 else index
        places = list(np.indices(index.shape, sparse=True))
        places[dim] = index
        if src is not None and hasattr(src, "data"):
            src = src[tuple(slice(0, n) for n in index.shape)]
        return _ops.SetItem.apply(self, value if src is None else src, index=tuple(places))


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become their arrays (every Tensor is a ShapeMethods)."""
    Tensor = ShapeMethods  # noqa: N806
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else np.asarray(i)
                     if isinstance(i, list) else i for i in index)
    if isinstance(index, list):
        return np.asarray([i.item() if isinstance(i, Tensor) else i for i in index])
    return index


def _pytorch_order(index: Any) -> tuple[Any, Any]:
    """Split `index` when PyTorch and numpy disagree: integers beside an index array.

    numpy treats an integer as an index array too, and moves the broadcast axes to the
    front when such indices are separated by a slice; PyTorch selects the integers first,
    so `x[1, :, idx]` keeps idx's axis in place. Returns (integers only, the rest) or
    (None, index) when both libraries agree.
    """
    if not isinstance(index, tuple) or any(i is None or i is Ellipsis for i in index):
        return None, index
    ints = [isinstance(i, (int, np.integer)) for i in index]
    arrays = [isinstance(i, np.ndarray) and i.ndim > 0 for i in index]
    advanced = [n for n, (i, a) in enumerate(zip(ints, arrays)) if i or a]
    if not any(ints) or not any(arrays) or advanced[-1] - advanced[0] == len(advanced) - 1:
        return None, index  # no integer, no array, or all side by side: numpy agrees
    first = tuple(i if is_int else slice(None) for i, is_int in zip(index, ints))
    return first, tuple(i for i, is_int in zip(index, ints) if not is_int)
