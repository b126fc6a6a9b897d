"""`torch.*` functions: the tensor methods again, as functions taking the tensor first.

    torch.exp(x) is x.exp();  torch.max(x, 1) is x.max(1);  torch.max(x, y) is maximum.

Each name below forwards to the Tensor method of the same name (see tensor_methods.py),
turning numbers, lists and arrays into tensors first, so the two forms cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from stepgrad import ops
from stepgrad.tensor import Tensor


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _forward_to(method: str) -> Callable[..., Any]:
    def call(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 (PyTorch's name)
        return getattr(_as_tensor(input), method)(*args, **kwargs)

    call.__name__ = call.__qualname__ = method
    call.__doc__ = f"torch.{method}(x, ...) is x.{method}(...) (see Tensor.{method})."
    return call


_METHODS = (
    "add sub mul div pow neg abs exp log log2 log10 sqrt rsqrt sin cos tanh sigmoid relu "
    "clamp clip maximum minimum matmul mm bmm dot sum mean var std norm prod logsumexp cumsum "
    "softmax log_softmax max min amax amin argmax argmin any all reshape flatten permute "
    "transpose t squeeze unsqueeze split chunk gather masked_fill eq ne lt le gt ge numel "
    "clone detach square index_select unbind"
).split()

globals().update({name: _forward_to(name) for name in _METHODS if name != "square"})


def square(input: Any) -> Tensor:  # noqa: A002
    """x * x."""
    x = _as_tensor(input)
    return x * x


subtract, multiply, divide, negative = sub, mul, div, neg  # noqa: F821 (made above)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """`where(cond, a, b)`: a where cond holds, else b. `where(cond)`: the indices where it
    holds, one index tensor per axis (torch.nonzero(cond, as_tuple=True))."""
    cond = np.asarray(condition, dtype=bool)
    if input is None and other is None:
        return tuple(Tensor(i) for i in np.nonzero(cond))
    return ops.Where.apply(input, other, condition=cond)


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing axis. PyTorch: torch.cat."""
    return ops.Concat.apply(*tensors, axis=dim if axis is None else axis)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Stack tensors along a new axis. PyTorch: torch.stack."""
    return ops.Stack.apply(*tensors, axis=dim if axis is None else axis)


def nonzero(input: Any, *, as_tuple: bool = False) -> Any:  # noqa: A002
    found = np.nonzero(np.asarray(input))
    return tuple(Tensor(i) for i in found) if as_tuple else Tensor(np.stack(found, axis=1))


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol))


def equal(a: Any, b: Any) -> bool:
    return bool(np.shape(a) == np.shape(b) and np.array_equal(np.asarray(a), np.asarray(b)))

