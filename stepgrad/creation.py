"""Making tensors, with PyTorch's names and arguments: zeros, ones, full, rand, randn,
randint, normal, arange, linspace, eye, as_tensor, from_numpy, the *_like forms, multinomial.

Shapes may be given as ints or as one tuple/list (`zeros(2, 3)` or `zeros((2, 3))`); every
function takes `dtype=`, `device=` (the CPU only) and `requires_grad=`, and the random ones
`generator=`. Floats default to float32, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.device import check_device
from stepgrad.random import numpy_generator
from stepgrad.tensor import Tensor, default_dtype, tensor


def _shape(size: tuple[Any, ...], keywords: dict[str, Any] | None = None) -> tuple[int, ...]:
    """The shape from `f(2, 3)`, `f((2, 3))` or PyTorch's keyword `f(size=(2, 3))`."""
    if keywords and "size" in keywords:
        if size:
            raise TypeError("got multiple values for argument 'size'")
        size = (keywords["size"],)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(n) for n in size)


def _make(array: np.ndarray, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    check_device(device)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return Tensor(array, requires_grad=requires_grad)


def _only_size(keywords: dict[str, Any]) -> dict[str, Any]:
    """`size=` is the one keyword a random maker takes beside its named ones."""
    for name in keywords:
        if name != "size":
            raise TypeError(f"got an unexpected keyword argument '{name}'")
    return keywords


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          **kw: Any) -> Tensor:
    return _make(np.zeros(_shape(size, kw), dtype=dtype or default_dtype()), None, device,
                 requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
         **kw: Any) -> Tensor:
    return _make(np.ones(_shape(size, kw), dtype=dtype or default_dtype()), None, device,
                 requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          **kw: Any) -> Tensor:
    """Zeros here (PyTorch leaves the memory as it was; stepgrad never shows garbage)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad, **kw)


def full(size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    if dtype is None:
        dtype = default_dtype() if isinstance(fill_value, float) else \
            np.bool_ if isinstance(fill_value, bool) else np.int64
    return _make(np.full(_shape((size,)), fill_value, dtype=dtype), None, device, requires_grad)


def rand(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, **kw: Any) -> Tensor:
    """Uniform values in [0, 1)."""
    data = numpy_generator(generator).random(_shape(size, _only_size(kw)))
    return _make(data.astype(dtype or default_dtype()), None, device, requires_grad)


def randn(*size: Any, generator: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, **kw: Any) -> Tensor:
    """Standard normal values from stepgrad's seeded generator (`torch.manual_seed`)."""
    data = numpy_generator(generator).standard_normal(_shape(size, _only_size(kw)))
    return _make(data.astype(dtype or default_dtype()), None, device, requires_grad)


def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Any = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal draws: `normal(0, 1, (n, 2))` with numbers and a size, or elementwise from
    tensors of means and/or stds (broadcast together). As in PyTorch, no gradient flows to a
    mean or std tensor (it gets zeros): a draw is not reparametrised."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if (size is None) == (not tensors):
        raise TypeError("normal() takes (float mean, float std, tuple size) or a Tensor mean "
                        "and/or std without a size")
    mean_a, std_a = (t.data if isinstance(t, Tensor) else np.asarray(t) for t in (mean, std))
    if np.any(std_a < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std_a.min():g}")
    try:
        shape = _shape((size,)) if size is not None else np.broadcast_shapes(mean_a.shape,
                                                                              std_a.shape)
    except ValueError:
        raise RuntimeError(f"normal: the shapes of mean {tuple(mean_a.shape)} and std "
                           f"{tuple(std_a.shape)} do not broadcast") from None
    dtype = dtype or (np.result_type(*[t.data for t in tensors]) if tensors else default_dtype())
    draw = numpy_generator(generator).normal(mean_a, std_a, shape)
    out = _make(draw.astype(dtype), None, device, requires_grad)
    for t in tensors:
        out = out + t * 0 if t.requires_grad else out  # PyTorch's zero gradient, and its graph
    return out


def randint(low: int, high: Any = None, size: Any = None, *, generator: Any = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Integers in [low, high); `randint(high, size)` starts at 0, as in PyTorch."""
    if size is None:
        low, high, size = 0, low, high
    data = numpy_generator(generator).integers(low, high, _shape((size,)))
    return _make(data.astype(dtype or np.int64), None, device, requires_grad)


def randperm(n: int, *, generator: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    data = numpy_generator(generator).permutation(n)
    return _make(data.astype(dtype or np.int64), None, device, requires_grad)


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """start, start + step, ... below end; integers stay int64 unless a float is given."""
    if end is None:
        start, end = 0, start
    floats = any(isinstance(v, float) for v in (start, end, step))
    dtype = dtype or (default_dtype() if floats else np.int64)
    return _make(np.arange(start, end, step).astype(dtype), None, device, requires_grad)


def linspace(start: float, end: float, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    data = np.linspace(start, end, steps).astype(dtype or default_dtype())
    return _make(data, None, device, requires_grad)


def eye(n: int, m: int | None = None, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    return _make(np.eye(n, m, dtype=dtype or default_dtype()), None, device, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """A tensor from data, sharing a numpy array's memory when no conversion is needed."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return from_numpy(data)
    check_device(device)
    return tensor(data, dtype=dtype)  # inferred as torch.tensor infers (Tensor([1]) is float)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing `array`'s memory (its dtype kept, float64 included)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(array).__name__})")
    out = Tensor(np.zeros(0))
    out.data = array
    return out


def _like(fill: Any, x: Tensor, dtype: Any, requires_grad: bool, device: Any) -> Tensor:
    return _make(np.asarray(fill(x.data.shape, dtype or x.data.dtype)), None, device,
                 requires_grad)


def zeros_like(x: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return _like(np.zeros, x, dtype, requires_grad, device)


def ones_like(x: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _like(np.ones, x, dtype, requires_grad, device)


empty_like = zeros_like


def full_like(x: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _like(lambda shape, dt: np.full(shape, fill_value, dtype=dt), x, dtype,
                 requires_grad, device)


def rand_like(x: Tensor, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return rand(x.data.shape, dtype=dtype or x.data.dtype, device=device,
                requires_grad=requires_grad)


def randn_like(x: Tensor, *, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return randn(x.data.shape, dtype=dtype or x.data.dtype, device=device,
                 requires_grad=requires_grad)


def multinomial(input: Any, num_samples: int, replacement: bool = False, *,  # noqa: A002
                generator: Any = None) -> Tensor:
    """Draw class indices with probability proportional to each row of `input` (weights)."""
    weights = np.asarray(input, dtype=np.float64)
    rows = np.atleast_2d(weights)
    if np.any(rows < 0) or np.any(rows.sum(axis=1) <= 0):
        raise RuntimeError("multinomial: the weights must be non-negative with a positive sum")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("multinomial: cannot sample n_sample > prob_dist.size(-1) samples "
                           "without replacement")
    rng = numpy_generator(generator)
    drawn = [rng.choice(rows.shape[1], num_samples, replace=replacement, p=row / row.sum())
             for row in rows]
    out = np.array(drawn, dtype=np.int64)
    return Tensor(out[0] if weights.ndim == 1 else out)
