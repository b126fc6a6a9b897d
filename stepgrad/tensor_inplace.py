"""In-place tensor methods: `add_`, `w -= lr * w.grad`, `x[i] = v`, `zero_()`, `normal_()`.

A mixin of `Tensor` (see tensor.py). PyTorch's rules, and how stepgrad keeps them:

* The tensor keeps its identity: `w -= lr * w.grad` under `no_grad()` updates the `w` the
  model holds (a plain `w = w - ...` would make a new tensor).
* A leaf that requires grad may change in place only under `no_grad()`; otherwise PyTorch's
  error ("a leaf Variable that requires grad is being used in an in-place operation.").
* A tensor inside a recorded graph may change: the op is recorded like any other, and the
  tensor becomes its output (`x += 1` after `x = a * 2` sends the gradient through both).
  Nodes made *before* the change that used the tensor would see a value that is gone, so
  the change stamps the tensor (`_version`, a number from the same counter as node ids) and
  backward refuses such a node with PyTorch's error ("one of the variables needed for
  gradient computation has been modified by an inplace operation") rather than compute a
  wrong gradient. (Stricter than PyTorch, which refuses only when the node saved the value.)
* **The new value is a new array**: `self._data` is rebound, never written into. Arrays
  that ops saved for backward and snapshots the debugger recorded stay true, so history
  shows each value as it was (decision recorded in DESIGN.md). The price: an array taken
  earlier with `.numpy()` does not see later in-place changes, as it would in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

from stepgrad.tensor_base import TensorBase

_ops: Any = None  # the stepgrad.ops module, set by stepgrad.tensor once the ops exist
last_stamp = 0  # the latest stamp: a graph made after it cannot hold a changed value

LEAF_ERROR = ("a leaf Variable that requires grad is being used in an in-place operation. "
              "(Update weights inside `with torch.no_grad():`.)")


class InplaceMethods(TensorBase):
    """In-place methods of Tensor: each computes the new value with a registered op and
    makes this tensor hold it (see the module docstring for the rules)."""

    __slots__ = ()

    def _inplace(self, compute: Callable[[Any], Any]) -> Any:
        """Make this tensor hold `compute(old value)`, keeping its identity."""
        from stepgrad.function import grad_mode
        from stepgrad.tensor import _new_id

        recording = grad_mode.enabled
        if recording and self.requires_grad and self._ctx is None:
            raise RuntimeError(LEAF_ERROR)
        result = compute(self._stand_in() if recording else self)
        if result.data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {list(self._data.shape)} doesn't match the "
                               f"broadcast shape {list(result.data.shape)}")
        data = result.data
        if data.dtype != self._data.dtype:
            if not np.can_cast(data.dtype, self._data.dtype, "same_kind"):
                raise RuntimeError(f"result type {data.dtype} can't be cast to the desired "
                                   f"output type {self._data.dtype}")
            data = data.astype(self._data.dtype)
        self.data = data
        if result.requires_grad:  # recorded: this tensor becomes the op's output node
            self._fn, self._ctx, self._parents = result._fn, result._ctx, result._parents
            self._id, self._index, self._where = result._id, result._index, result._where
            self.requires_grad = True
        elif self._ctx is not None:
            self._where = None  # its recorded output snapshot is no longer its value
        global last_stamp
        self._version = last_stamp = _new_id()  # later than every node that used the old value
        return self

    def _stand_in(self) -> Any:
        """A tensor holding this one's current value and node: the input of the in-place op."""
        from stepgrad.tensor import Tensor

        old = object.__new__(Tensor)
        old._data, old.grad, old.requires_grad, old._name = self._data, None, \
            self.requires_grad, None
        old._id, old._fn, old._index, old._ctx = self._id, self._fn, self._index, self._ctx
        old._parents, old._where = self._parents, self._where
        return old

    # -- arithmetic (through the operators, so dtypes promote as in PyTorch) -------------
    def add_(self, other: Any, alpha: float = 1) -> Any:
        return self._inplace(lambda a: a + (other if alpha == 1 else other * alpha))

    def sub_(self, other: Any, alpha: float = 1) -> Any:
        return self._inplace(lambda a: a - (other if alpha == 1 else other * alpha))

    def mul_(self, other: Any) -> Any:
        return self._inplace(lambda a: a * other)

    def div_(self, other: Any) -> Any:
        return self._inplace(lambda a: a / other)

    def pow_(self, exponent: Any) -> Any:
        return self._inplace(lambda a: a**exponent)

    def neg_(self) -> Any:
        return self._inplace(lambda a: _ops.Neg.apply(a))

    def exp_(self) -> Any:
        return self._inplace(lambda a: _ops.Exp.apply(a))

    def relu_(self) -> Any:
        return self._inplace(lambda a: _ops.ReLU.apply(a))

    def clamp_(self, min: Any = None, max: Any = None) -> Any:  # noqa: A002 (PyTorch's names)
        return self._inplace(lambda a: _ops.Clamp.apply(a, low=min, high=max))

    clip_ = clamp_

    def masked_fill_(self, mask: Any, value: Any) -> Any:
        return self._inplace(lambda a: a.masked_fill(mask, value))

    def scatter_(self, dim: int, index: Any, src: Any = None, **keywords: Any) -> Any:
        return self._inplace(lambda a: a.scatter(dim, index, src, **keywords))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_
    __ipow__ = pow_

    # -- new values -------------------------------------------------------------------
    def _fill_from(self, values: Any) -> Any:
        """Hold `values` (an array or tensor shaped like self) instead of the old value."""
        keep_none = np.zeros(self._data.shape, dtype=bool)  # where(False): take every new value
        return self._inplace(lambda a: _ops.Where.apply(a, values, condition=keep_none))

    def fill_(self, value: Any) -> Any:
        value = value.item() if hasattr(value, "item") and not isinstance(value, float) \
            else value
        return self._fill_from(np.full(self._data.shape, value, dtype=self._data.dtype))

    def zero_(self) -> Any:
        return self.fill_(0)

    def copy_(self, src: Any) -> Any:
        """Copy src's values in (broadcast to this shape); a gradient flows back to src."""
        if not hasattr(src, "data"):
            src = np.broadcast_to(np.asarray(src, dtype=self._data.dtype), self._data.shape)
        elif src.data.shape != self._data.shape:
            src = src.expand(self._data.shape)
        return self._fill_from(src)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Any:
        from stepgrad.random import numpy_generator

        values = numpy_generator(generator).normal(mean, std, self._data.shape)
        return self._fill_from(values.astype(self._data.dtype))

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Any:
        from stepgrad.random import numpy_generator

        values = numpy_generator(generator).uniform(a, b, self._data.shape)
        return self._fill_from(values.astype(self._data.dtype))

    def __setitem__(self, index: Any, value: Any) -> None:
        from stepgrad.tensor_shape import _plain_index

        index = _plain_index(index)
        self._inplace(lambda a: _ops.SetItem.apply(a, value, index=index))

    # -- gradient flags ---------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Any:
        if requires_grad and self._data.dtype.kind != "f":
            raise RuntimeError(f"only Tensors of floating point dtype can require gradients, "
                               f"got {self._data.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. "
                               "Use .detach() to get a tensor without a gradient.")
        self.requires_grad = requires_grad
        return self

    def detach_(self) -> Any:
        self._fn, self._ctx, self._parents, self.requires_grad = None, None, (), False
        return self

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in `.grad` after backward."""
        from stepgrad.hooks import retain_grad

        retain_grad(cast(Any, self))

    def register_hook(self, hook: Callable[[Any], Any]) -> Any:
        """Call `hook(grad)` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle whose `remove()` takes the hook off."""
        from stepgrad.hooks import register_hook

        return register_hook(cast(Any, self), hook)
