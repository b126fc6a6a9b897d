"""`torch.*` functions: the tensor methods again, as functions taking the tensor first.

    torch.exp(x) is x.exp();  torch.max(x, 1) is x.max(1);  torch.max(x, y) is maximum.

Each name below forwards to the Tensor method of the same name (see tensor_methods.py),
turning numbers, lists and arrays into tensors first, so the two forms cannot disagree.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from stepgrad import ops
from stepgrad.tensor import Tensor, _promote


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _forward_to(method: str) -> Callable[..., Any]:
    def call(input: Any, *args: Any, out: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        result = getattr(_as_tensor(input), method)(*args, **kwargs)
        return result if out is None else _write_out(method, result, out)

    call.__name__ = call.__qualname__ = method
    call.__doc__ = f"torch.{method}(x, ...) is x.{method}(...) (see Tensor.{method})."
    return call


def _write_out(name: str, result: Any, out: Tensor) -> Tensor:
    """PyTorch's `out=`: the result written into `out` (resized if its shape differs, with
    PyTorch's warning unless it was empty), which is returned. As in PyTorch, not with
    autograd: the write cannot be differentiated."""
    from stepgrad.grad_mode import is_grad_enabled, no_grad

    if isinstance(result, tuple) or not isinstance(out, Tensor):
        raise TypeError(f"{name}(): out= takes one tensor here (stepgrad's {name} gives "
                        f"{type(result).__name__})")
    if is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                           "automatic differentiation, but one of the arguments requires grad.")
    if out.data.shape != result.data.shape:
        if out.data.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(out.data.shape)}, which does not match the required output "
                          f"shape {list(result.data.shape)}.", UserWarning, stacklevel=3)
        out.data = np.empty(result.data.shape, out.data.dtype)
    with no_grad():
        return out.copy_(result)


# torch.NAME(x, ...) is x.NAME(...) for each of these (builtins' names too, as in PyTorch)
add, sub, mul, div, pow, neg = map(_forward_to, "add sub mul div pow neg".split())  # noqa: A001
abs, exp, log, log2, log10, sqrt, rsqrt = map(  # noqa: A001
    _forward_to, "abs exp log log2 log10 sqrt rsqrt".split())
sin, cos, tanh, sigmoid, relu = map(_forward_to, "sin cos tanh sigmoid relu".split())
clamp, clip, maximum, minimum = map(_forward_to, "clamp clip maximum minimum".split())
matmul, mm, bmm, dot = map(_forward_to, "matmul mm bmm dot".split())
sum, mean, var, std, norm, prod = map(_forward_to, "sum mean var std norm prod".split())  # noqa: A001
logsumexp, cumsum, softmax, log_softmax = map(_forward_to,
                                              "logsumexp cumsum softmax log_softmax".split())
max, min, amax, amin, argmax, argmin = map(  # noqa: A001
    _forward_to, "max min amax amin argmax argmin".split())
any, all = map(_forward_to, "any all".split())  # noqa: A001
reshape, flatten, permute, transpose, t = map(_forward_to,
                                              "reshape flatten permute transpose t".split())
squeeze, unsqueeze, split, chunk, gather = map(_forward_to,
                                               "squeeze unsqueeze split chunk gather".split())
index_select, unbind, masked_fill, scatter = map(_forward_to,
                                                 "index_select unbind masked_fill scatter".split())
tril, triu, flip, sort, topk, roll = map(_forward_to, "tril triu flip sort topk roll".split())
reciprocal, log1p, expm1, outer, mv = map(_forward_to, "reciprocal log1p expm1 outer mv".split())
sign, floor, ceil, round = map(_forward_to, "sign floor ceil round".split())  # noqa: A001
eq, ne, lt, le, gt, ge = map(_forward_to, "eq ne lt le gt ge".split())
numel, clone, detach = map(_forward_to, "numel clone detach".split())


def square(input: Any) -> Tensor:  # noqa: A002
    """x * x."""
    x = _as_tensor(input)
    return x * x


subtract, multiply, divide, negative = sub, mul, div, neg
remainder, fmod, floor_divide, true_divide = map(
    _forward_to, "remainder fmod floor_divide true_divide".split())


def where(condition: Any, input: Any = None, other: Any = None) -> Any:  # noqa: A002
    """`where(cond, a, b)`: a where cond holds, else b. `where(cond)`: the indices where it
    holds, one index tensor per axis (torch.nonzero(cond, as_tuple=True))."""
    cond = np.asarray(condition, dtype=bool)
    if input is None and other is None:
        return tuple(Tensor(i) for i in np.nonzero(cond))
    if isinstance(input, Tensor):  # PyTorch's result dtype, as for `input + other`
        input, other = _promote(input, other)  # noqa: A001
    elif isinstance(other, Tensor):
        other, input = _promote(other, input)  # noqa: A001
    return ops.Where.apply(input, other, condition=cond)


def cat(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing axis. PyTorch: torch.cat."""
    return ops.Concat.apply(*tensors, axis=dim if axis is None else axis)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Stack tensors along a new axis. PyTorch: torch.stack."""
    return ops.Stack.apply(*tensors, axis=dim if axis is None else axis)


def nonzero(input: Any, *, as_tuple: bool = False) -> Any:  # noqa: A002
    """The indices of the nonzero elements (see Tensor.nonzero)."""
    return _as_tensor(input).nonzero(as_tuple=as_tuple)


# tests, logical and bitwise ops, rounding and selections (see tensor_logic.py)
isnan, isinf, isfinite, isposinf, isneginf, isclose = map(
    _forward_to, "isnan isinf isfinite isposinf isneginf isclose".split())
logical_not, logical_and, logical_or, logical_xor = map(
    _forward_to, "logical_not logical_and logical_or logical_xor".split())
bitwise_not, bitwise_and, bitwise_or, bitwise_xor = map(
    _forward_to, "bitwise_not bitwise_and bitwise_or bitwise_xor".split())
clamp_min, clamp_max, count_nonzero, argsort = map(
    _forward_to, "clamp_min clamp_max count_nonzero argsort".split())
trunc, fix, frac, nan_to_num, diag, cumprod = map(
    _forward_to, "trunc fix frac nan_to_num diag cumprod".split())


def tile(input: Any, dims: Sequence[int]) -> Tensor:  # noqa: A002
    """The tensor repeated `dims` times along each axis (see Tensor.tile)."""
    if not isinstance(dims, (tuple, list)):
        raise TypeError(f"tile(): argument 'dims' (position 2) must be tuple of ints, not "
                        f"{type(dims).__name__}")
    return _as_tensor(input).tile(tuple(dims))


def repeat_interleave(input: Any, repeats: Any = None, dim: int | None = None, *,  # noqa: A002
                      output_size: int | None = None) -> Tensor:
    """Each element repeated in place (see Tensor.repeat_interleave). With one tensor of
    counts and no repeats, the indices 0, 1, ... each repeated by its count."""
    if repeats is None:
        counts = _as_tensor(input)
        return Tensor(np.arange(counts.numel(), dtype=np.int64)).repeat_interleave(
            counts, output_size=output_size)
    return _as_tensor(input).repeat_interleave(repeats, dim, output_size=output_size)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def allclose(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
    return bool(np.allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol))


def equal(a: Any, b: Any) -> bool:
    return bool(np.shape(a) == np.shape(b) and np.array_equal(np.asarray(a), np.asarray(b)))



__all__ = [
    "argsort", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "clamp_max",
    "clamp_min", "count_nonzero", "cumprod", "diag", "fix", "frac", "isclose", "isfinite",
    "isinf", "isnan", "isneginf", "isposinf", "logical_and", "logical_not", "logical_or",
    "logical_xor", "nan_to_num", "repeat_interleave", "tile", "trunc",
    "ceil", "expm1", "flip", "floor", "log1p", "mv", "outer", "reciprocal", "round", "sign",
    "roll", "sort", "topk", "scatter",
    "abs", "add", "all", "allclose", "amax", "amin", "any", "argmax", "argmin", "bmm", "cat",
    "chunk", "clamp", "clip", "clone", "concat", "concatenate", "cos", "cumsum", "detach", "div",
    "divide", "dot", "eq", "equal", "exp", "flatten", "floor_divide", "fmod", "gather", "ge",
    "gt", "index_select",
    "is_tensor", "le", "log", "log10", "log2", "log_softmax", "logsumexp", "lt", "masked_fill",
    "matmul", "max", "maximum", "mean", "min", "minimum", "mm", "mul", "multiply", "ne", "neg",
    "negative", "nonzero", "norm", "numel", "permute", "pow", "prod", "relu", "remainder",
    "reshape",
    "rsqrt", "sigmoid", "sin", "softmax", "split", "sqrt", "square", "squeeze", "stack", "std",
    "sub", "subtract", "sum", "t", "tanh", "transpose", "tril", "triu", "true_divide", "unbind",
    "unsqueeze",
    "var", "where",
]
