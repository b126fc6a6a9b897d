"""Tests, logical and bitwise ops, clamp bounds, counting, ordering and selections with
PyTorch's semantics, checked against PyTorch itself: isnan, isinf, isfinite, isposinf,
isneginf, isclose, logical_*, `~ & | ^`, bitwise_*, clamp_min, clamp_max, clamp with tensor
bounds, count_nonzero, nonzero, argsort, trunc, frac, nan_to_num, tile, repeat_interleave,
diag and cumprod, as Tensor methods and torch.* functions, for float32, float64, int64 and
bool inputs: the values, the result dtype, whether the result requires grad, the gradient,
and the kind of error where PyTorch refuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")

NAN, INF = float("nan"), float("inf")
#: values with NaN, infinities, zeros, ties and negative fractions
SPECIAL = [[1.5, NAN, -2.5, 0.0], [INF, 0.0, -INF, 1.5], [-0.5, 3.0, 1.5, NAN]]
#: finite values with zeros and ties: the gradients are compared on these
PLAIN = [[1.5, 0.0, -2.5, 2.0], [0.5, 0.0, -1.0, 1.5], [-0.5, 3.0, 1.5, 1.5]]
DATA = {"float32": SPECIAL, "float64": SPECIAL,
        "int64": [[1, 0, -2, 3], [3, 0, 1, 1], [-1, 2, 0, 3]],
        "bool": [[True, False, True, False], [False, False, True, True],
                 [True, True, False, True]]}
KINDS = tuple(DATA)

Form = Callable[[Any, Any], Any]


def _like(lib: Any, x: Any, values: Any) -> Any:
    return lib.tensor(np.asarray(values).astype(str(x.dtype).replace("torch.", "")))


VALUE_FORMS: dict[str, Form] = {
    name: (lambda lib, x, name=name: getattr(x, name)())
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not",
                 "count_nonzero", "nonzero", "argsort", "trunc", "frac", "nan_to_num",
                 "bitwise_not")
}
VALUE_FORMS.update({
    f"torch.{name}(x)": (lambda lib, x, name=name: getattr(lib, name)(x))
    for name in ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not",
                 "count_nonzero", "nonzero", "argsort", "trunc", "fix", "frac", "nan_to_num",
                 "bitwise_not", "repeat_interleave")
})
VALUE_FORMS.update({
    "isclose(x, flipped)": lambda lib, x: x.isclose(x.flip(1)),
    "torch.isclose(x, x)": lambda lib, x: lib.isclose(x, x),
    "isclose(x, x, equal_nan=True)": lambda lib, x: x.isclose(x, equal_nan=True),
    "isclose(rtol=0.5, atol=1)": lambda lib, x: lib.isclose(x, x.flip(0), rtol=0.5, atol=1),
    "isclose(x, row) broadcast": lambda lib, x: lib.isclose(x, x[0]),
    "isclose(x, 1.0)": lambda lib, x: lib.isclose(x, 1.0),
    "isclose(x, x.double())": lambda lib, x: lib.isclose(x, x.double()),
    "isclose(atol=-1)": lambda lib, x: x.isclose(x, atol=-1.0),
    "logical_and(x, flipped)": lambda lib, x: x.logical_and(x.flip(1)),
    "torch.logical_or(x, flipped)": lambda lib, x: lib.logical_or(x, x.flip(1)),
    "torch.logical_xor(x, row)": lambda lib, x: lib.logical_xor(x, x[1]),
    "logical_and(x, bool mask)": lambda lib, x: x.logical_and(x > 0),
    "logical_and(x, 1)": lambda lib, x: x.logical_and(1),
    "~x": lambda lib, x: ~x,
    "x & flipped": lambda lib, x: x & x.flip(1),
    "x | flipped": lambda lib, x: x | x.flip(1),
    "x ^ flipped": lambda lib, x: x ^ x.flip(1),
    "x & (x > 0)": lambda lib, x: x & (x > 0),
    "(x > 0) | x": lambda lib, x: (x > 0) | x,
    "x & 1": lambda lib, x: x & 1,
    "6 | x": lambda lib, x: 6 | x,
    "x ^ True": lambda lib, x: x ^ True,
    "True & x": lambda lib, x: True & x,
    "x & 1.5": lambda lib, x: x & 1.5,
    "x ^ x.int()": lambda lib, x: x ^ x.to(lib.int32),
    "torch.bitwise_and(x, flipped)": lambda lib, x: lib.bitwise_and(x, x.flip(1)),
    "torch.bitwise_or(x, 2)": lambda lib, x: lib.bitwise_or(x, 2),
    "x.bitwise_xor(flipped)": lambda lib, x: x.bitwise_xor(x.flip(1)),
    "count_nonzero(dim=0)": lambda lib, x: x.count_nonzero(dim=0),
    "torch.count_nonzero(x, (0, 1))": lambda lib, x: lib.count_nonzero(x, (0, 1)),
    "torch.count_nonzero(x, -1)": lambda lib, x: lib.count_nonzero(x, -1),
    "count_nonzero(dim=2)": lambda lib, x: x.count_nonzero(dim=2),
    "nonzero(as_tuple=True)": lambda lib, x: x.nonzero(as_tuple=True),
    "torch.nonzero(x[0, 0])": lambda lib, x: lib.nonzero(x[0, 0]),
    "torch.nonzero(x[0, 1], as_tuple=True)": lambda lib, x: lib.nonzero(x[0, 1], as_tuple=True),
    "argsort(dim=0, stable)": lambda lib, x: x.argsort(dim=0, stable=True),
    "argsort(descending, stable)": lambda lib, x: x.argsort(descending=True, stable=True),
    "torch.argsort(x, dim=0, descending=True)": lambda lib, x: lib.argsort(x, dim=0,
                                                                         descending=True),
    "argsort(x[0, 0])": lambda lib, x: x[0, 0].argsort(),
    "argsort(dim=2)": lambda lib, x: x.argsort(dim=2),
    "torch.argsort(x, True)": lambda lib, x: lib.argsort(x, True),
    "nan_to_num(1, 2, -3)": lambda lib, x: x.nan_to_num(1.0, 2.0, -3.0),
    "torch.nan_to_num(x, posinf=9)": lambda lib, x: lib.nan_to_num(x, posinf=9.0),
    "clamp_min(0.5)": lambda lib, x: x.clamp_min(0.5),
    "torch.clamp_max(x, 1)": lambda lib, x: lib.clamp_max(x, 1),
    "torch.clamp_min(x, 0)": lambda lib, x: lib.clamp_min(x, 0),
    "clamp(min=1.5)": lambda lib, x: x.clamp(min=1.5),
    "clamp(x)": lambda lib, x: lib.clamp(x),
    "clamp(min=tensor)": lambda lib, x: x.clamp(min=_like(lib, x, [[1, 0, 0, 1]] * 3)),
    "clamp(max=tensor)": lambda lib, x: lib.clamp(x, max=_like(lib, x, [1, 1, 0, 1])),
    "clamp(float tensors)": lambda lib, x: lib.clamp(x, lib.tensor([0.5, -1.0, 2.0, 0.0]),
                                                     lib.tensor([1.0, 1.0, 1.0, 2.0])),
    "clip(min=float64 tensor)": lambda lib, x: x.clip(min=lib.tensor([0.5], dtype=lib.float64)),
    "tile((2,))": lambda lib, x: x.tile((2,)),
    "tile(2, 1, 1)": lambda lib, x: x.tile(2, 1, 1),
    "torch.tile(x, (1, 2))": lambda lib, x: lib.tile(x, (1, 2)),
    "torch.tile(x, 2)": lambda lib, x: lib.tile(x, 2),
    "tile((-1,))": lambda lib, x: x.tile((-1,)),
    "repeat_interleave(2)": lambda lib, x: x.repeat_interleave(2),
    "repeat_interleave(2, dim=0)": lambda lib, x: x.repeat_interleave(2, dim=0),
    "repeat_interleave(counts, dim=1)": lambda lib, x: x.repeat_interleave(
        lib.tensor([1, 0, 2, 1]), dim=1),
    "torch.repeat_interleave(x, 3, -1)": lambda lib, x: lib.repeat_interleave(x, 3, -1),
    "torch.repeat_interleave(x, tensor(2), 0)": lambda lib, x: lib.repeat_interleave(
        x, lib.tensor(2), 0),
    "repeat_interleave(x[0, 0], 3)": lambda lib, x: x[0, 0].repeat_interleave(3),
    "repeat_interleave(-1)": lambda lib, x: x.repeat_interleave(-1),
    "repeat_interleave(float counts)": lambda lib, x: x.repeat_interleave(
        lib.tensor([1.0, 2.0, 1.0]), dim=0),
    "repeat_interleave(3 counts, dim=1)": lambda lib, x: x.repeat_interleave(
        lib.tensor([1, 2, 1]), dim=1),
    "repeat_interleave(2-D counts)": lambda lib, x: x.repeat_interleave(
        lib.tensor([[1, 2, 1]]), dim=0),
    "repeat_interleave(2, dim=2)": lambda lib, x: x.repeat_interleave(2, dim=2),
    "diag()": lambda lib, x: x.diag(),
    "diag(1)": lambda lib, x: x.diag(1),
    "torch.diag(x, -1)": lambda lib, x: lib.diag(x, -1),
    "torch.diag(x, diagonal=7)": lambda lib, x: lib.diag(x, diagonal=7),
    "x[0].diag()": lambda lib, x: x[0].diag(),
    "torch.diag(x[1], 2)": lambda lib, x: lib.diag(x[1], 2),
    "x[2].diag(-1)": lambda lib, x: x[2].diag(-1),
    "diag(3-D)": lambda lib, x: x.reshape(1, 3, 4).diag(),
    "diag(0-D)": lambda lib, x: x[0, 0].diag(),
    "cumprod(0)": lambda lib, x: x.cumprod(0),
    "torch.cumprod(x, dim=-1)": lambda lib, x: lib.cumprod(x, dim=-1),
    "cumprod(1, dtype=float64)": lambda lib, x: x.cumprod(1, dtype=lib.float64),
    "cumprod(x[0, 2], 0)": lambda lib, x: x[0, 2].cumprod(0),
    "cumprod(2)": lambda lib, x: x.cumprod(2),
})

#: the kind of error each library raised, when both refuse: ShapeError is stepgrad's
#: (a ValueError) where PyTorch raises RuntimeError for shapes that do not fit
ERRORS = (RuntimeError, TypeError, NotImplementedError, IndexError, ValueError)


def outcome(form: Form, lib: Any, kind: str, data: Any = None) -> tuple[Any, ...]:
    """(dtype, values as arrays) of the form's result, or ("error", the error's class)."""
    dtype = {"float32": lib.float32, "float64": lib.float64, "int64": lib.int64,
             "bool": lib.bool}[kind]
    try:
        result = form(lib, lib.tensor(DATA[kind] if data is None else data, dtype=dtype))
    except ERRORS as error:
        return "error", type(error).__name__
    parts = result if isinstance(result, tuple) else (result,)
    dtypes = tuple(str(p.dtype).replace("torch.", "") for p in parts)
    return dtypes, [np.asarray(p.detach()) for p in parts]


@pytest.mark.parametrize("form", sorted(VALUE_FORMS))
def test_values_dtypes_and_errors_match_pytorch(form: str) -> None:
    differ = []
    for kind in KINDS:
        theirs = outcome(VALUE_FORMS[form], torch, kind)
        ours = outcome(VALUE_FORMS[form], sg, kind)
        if theirs[0] != ours[0] or theirs[0] == "error" and theirs[1] != ours[1]:
            differ.append(f"{kind}: PyTorch {theirs}, stepgrad {ours}")
            continue
        if theirs[0] == "error":
            continue
        for mine, expected in zip(ours[1], theirs[1]):
            assert mine.shape == expected.shape, f"{form} of {kind}"
            np.testing.assert_allclose(mine.astype(float), expected.astype(float),
                                       rtol=1e-6, err_msg=f"{form} of {kind}")
    assert not differ, f"{form}: " + "; ".join(differ)


NO_GRAD = ("isnan", "isinf", "isfinite", "isposinf", "isneginf", "logical_not",
           "count_nonzero", "argsort")


@pytest.mark.parametrize("name", NO_GRAD)
def test_tests_and_indices_do_not_require_grad(name: str) -> None:
    for lib in (torch, sg):
        x = lib.tensor(SPECIAL, requires_grad=True)
        result = getattr(x, name)()
        assert not result.requires_grad, f"{lib.__name__}: {name}"
    assert not sg.tensor(PLAIN, requires_grad=True).isclose(sg.tensor(PLAIN)).requires_grad


GRAD_FORMS: dict[str, Form] = {
    "frac": lambda lib, x: x.frac(),
    "torch.frac(x * 1.7)": lambda lib, x: lib.frac(x * 1.7),
    "nan_to_num": lambda lib, x: (x / x.abs().clamp_max(0.0)).nan_to_num(),  # -inf, nan, inf
    "clamp_min(0.5)": lambda lib, x: x.clamp_min(0.5),
    "torch.clamp_max(x, 1.5)": lambda lib, x: lib.clamp_max(x, 1.5),
    "clamp(min=row)": lambda lib, x: x.clamp(min=lib.tensor([1.5, -1.0, 0.0, 2.0])),
    "clamp(min > max)": lambda lib, x: lib.clamp(x, lib.tensor(2.0), lib.tensor(1.0)),
    "tile((2, 1, 2))": lambda lib, x: x.tile((2, 1, 2)),
    "repeat_interleave(2)": lambda lib, x: x.repeat_interleave(2),
    "repeat_interleave(counts, dim=1)": lambda lib, x: x.repeat_interleave(
        lib.tensor([2, 0, 1, 3]), dim=1),
    "diag(1)": lambda lib, x: x.diag(1),
    "diag(-2)": lambda lib, x: x.diag(-2),
    "x[1].diag(1)": lambda lib, x: x[1].diag(1),
    "x[0].diag(-2)": lambda lib, x: x[0].diag(-2),
    "cumprod(0)": lambda lib, x: x.cumprod(0),
    "cumprod(1), zeros and ties": lambda lib, x: lib.cumprod(x, 1),
    "cumprod(x[1] with two zeros)": lambda lib, x: lib.cumprod(x[1] * x[0], 0),
}


def gradient(form: Form, lib: Any, dtype: str) -> tuple[Any, ...]:
    x = lib.tensor(PLAIN, dtype=getattr(lib, dtype), requires_grad=True)
    out = form(lib, x)
    weights = np.arange(1.0, out.numel() + 1).reshape(tuple(out.shape)) % 5 - 1.5
    out.backward(lib.tensor(weights, dtype=getattr(lib, dtype)))
    return np.asarray(out.detach()), np.asarray(x.grad), out.requires_grad


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form", sorted(GRAD_FORMS))
def test_gradients_match_pytorch(form: str, dtype: str) -> None:
    theirs, ours = gradient(GRAD_FORMS[form], torch, dtype), gradient(GRAD_FORMS[form], sg, dtype)
    assert ours[2] and theirs[2]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6, err_msg=f"{form}: values")
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6, err_msg=f"{form}: gradient")
    assert ours[1].dtype == np.dtype(dtype)


def test_clamp_sends_the_gradient_of_tensor_bounds_where_they_were_picked() -> None:
    """x's gradient where low <= x <= high, low's where x < low, high's where the result
    went over high (high wins when low > high), none at a NaN or where x < low == high, as
    PyTorch's clamp sends them."""
    grads = {}
    for lib in (torch, sg):
        x = lib.tensor([0.5, 1.0, 2.0, 3.0, -1.0, 5.0, 1.0, 3.0], requires_grad=True)
        low = lib.tensor([1.0, 1.0, 2.5, 0.0, NAN, 0.0, 2.0, 2.0], requires_grad=True)
        high = lib.tensor([0.0, 1.0, 2.0, 5.0, 4.0, NAN, 2.0, 2.0], requires_grad=True)
        out = lib.clamp(x, low, high)
        out.backward(lib.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]))
        grads[lib.__name__] = [np.asarray(t) for t in (out.detach(), x.grad, low.grad,
                                                         high.grad)]
        x = lib.tensor([NAN, -1.0, 2.0, 0.0], requires_grad=True)
        low = lib.tensor([0.0, NAN, 1.0, 1.0], requires_grad=True)
        out = x.clamp_min(low)
        out.backward(lib.tensor([1.0, 2.0, 3.0, 4.0]))
        grads[lib.__name__] += [np.asarray(t) for t in (out.detach(), x.grad, low.grad)]
    for mine, theirs in zip(grads["stepgrad"], grads["torch"]):
        np.testing.assert_array_equal(mine, theirs)


def test_cumprod_of_a_zero_keeps_the_gradient_of_the_elements_before_it() -> None:
    """d out/d x_1 for x = [2, 0, 3, 0, 4] is 1*x_0 + 2*x_0*x_2 + ... = 22 (with weights
    1..5): a quotient out/x would give NaN there, the masked product does not."""
    x = sg.tensor([2.0, 0.0, 3.0, 0.0, 4.0], requires_grad=True)
    x.cumprod(0).backward(sg.tensor([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert x.grad.tolist() == [1.0, 22.0, 0.0, 0.0, 0.0]


def test_repeat_interleave_of_counts_alone_gives_repeated_indices() -> None:
    counts = [2, 0, 3]
    assert sg.repeat_interleave(sg.tensor(counts)).tolist() == \
        torch.repeat_interleave(torch.tensor(counts)).tolist()


def test_refusals_are_one_line_in_pytorch_words() -> None:
    with pytest.raises(TypeError, match="only implemented on integer and Boolean"):
        ~sg.tensor([1.0, 2.0])
    with pytest.raises(NotImplementedError, match="bitwise_and_cpu.*'Float'"):
        sg.tensor([1.0]) & sg.tensor([1])
    with pytest.raises(RuntimeError, match="Long did not match Float"):
        sg.isclose(sg.tensor([1]), sg.tensor([1.0]))
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 2"):
        sg.tensor([[1.0]]).argsort(dim=2)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        sg.tensor([1.0]).clamp()
    with pytest.raises(ValueError, match="logical_and: shapes"):
        sg.tensor([1.0, 2.0]).logical_and(sg.tensor([1.0, 2.0, 3.0]))


def test_numpy_array_on_the_left_of_a_bitwise_operator_gives_a_tensor() -> None:
    mask = sg.tensor([True, False])
    for result, expected in ((np.array([True, True]) & mask, [True, False]),
                             (np.array([False, False]) | mask, [True, False]),
                             (np.array([True, True]) ^ mask, [False, True]),
                             (np.array([6, 3]) & sg.tensor([3, 1]), [2, 1])):
        assert isinstance(result, sg.Tensor) and result.tolist() == expected
