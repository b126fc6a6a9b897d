"""Binary arithmetic with PyTorch's semantics, checked against PyTorch itself: the result
dtype of every operator, method and `torch.*` form for every pair of float32, float64,
int64 and bool tensors and Python numbers (numpy's promotion gave `x.pow(p)` of a float32 x
and an int64 p a float64 result: PyTorch's own tutorial then trained in float64); `//`, `%`,
`fmod` and `div(rounding_mode=...)` with their values, gradients and refusals."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")

KINDS = ("float32", "float64", "int64", "bool", "int", "float")


def make(lib: Any, kind: str) -> Any:
    values = {"float32": [1.5, -2.0, 3.0], "float64": [1.5, -2.0, 3.0], "int64": [7, -7, 3],
              "bool": [True, False, True]}
    if kind == "int":
        return 2
    if kind == "float":
        return 2.5
    dtype = {"float32": lib.float32, "float64": lib.float64, "int64": lib.int64,
             "bool": lib.bool}[kind]
    return lib.tensor(values[kind], dtype=dtype)


def outcome(form: Callable[[Any, Any, Any], Any], lib: Any, a_kind: str,
            b_kind: str) -> tuple[str, Any]:
    """("dtype name", values) of `form` in `lib`, or ("error", None) when it raises."""
    try:
        result = form(lib, make(lib, a_kind), make(lib, b_kind))
    except (RuntimeError, TypeError, ValueError, ZeroDivisionError, NotImplementedError):
        return "error", None
    name = str(result.dtype).replace("torch.", "")
    return name, np.asarray(result.detach() if hasattr(result, "detach") else result)


FORMS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "a + b": lambda lib, a, b: a + b, "a - b": lambda lib, a, b: a - b,
    "a * b": lambda lib, a, b: a * b, "a / b": lambda lib, a, b: a / b,
    "a ** b": lambda lib, a, b: a ** b, "a // b": lambda lib, a, b: a // b,
    "a % b": lambda lib, a, b: a % b,
    "a.add(b)": lambda lib, a, b: a.add(b), "a.sub(b)": lambda lib, a, b: a.sub(b),
    "a.mul(b)": lambda lib, a, b: a.mul(b), "a.div(b)": lambda lib, a, b: a.div(b),
    "a.pow(b)": lambda lib, a, b: a.pow(b), "a.multiply(b)": lambda lib, a, b: a.multiply(b),
    "a.subtract(b)": lambda lib, a, b: a.subtract(b),
    "a.true_divide(b)": lambda lib, a, b: a.true_divide(b),
    "a.remainder(b)": lambda lib, a, b: a.remainder(b),
    "a.fmod(b)": lambda lib, a, b: a.fmod(b),
    "a.floor_divide(b)": lambda lib, a, b: a.floor_divide(b),
    "a.div(b, floor)": lambda lib, a, b: a.div(b, rounding_mode="floor"),
    "a.div(b, trunc)": lambda lib, a, b: a.div(b, rounding_mode="trunc"),
    "torch.add(a, b)": lambda lib, a, b: lib.add(a, b),
    "torch.mul(a, b)": lambda lib, a, b: lib.mul(a, b),
    "torch.pow(a, b)": lambda lib, a, b: lib.pow(a, b),
    "torch.remainder(a, b)": lambda lib, a, b: lib.remainder(a, b),
    "torch.fmod(a, b)": lambda lib, a, b: lib.fmod(a, b),
    "torch.floor_divide(a, b)": lambda lib, a, b: lib.floor_divide(a, b),
    "torch.maximum(a, b)": lambda lib, a, b: lib.maximum(a, b),
    "torch.minimum(a, b)": lambda lib, a, b: lib.minimum(a, b),
    "torch.where(a > 0, a, b)": lambda lib, a, b: lib.where(a > 0, a, b),
}
#: where stepgrad accepts what PyTorch refuses, on purpose: a Python number beside a tensor
#: in maximum/minimum (PyTorch asks for a tensor), and a bool ** bool (int8 in numpy)
LENIENT = {("torch.maximum(a, b)", "int"), ("torch.maximum(a, b)", "float"),
           ("torch.minimum(a, b)", "int"), ("torch.minimum(a, b)", "float")}
#: and where it refuses what PyTorch computes: an integer tensor to a negative integer
#: tensor power (PyTorch rounds 7 ** -7 to 0; numpy refuses, with PyTorch's own message for
#: a negative Python int exponent: "Integers to negative integer powers are not allowed.")
STRICTER = {("a ** b", "int64", "int64"), ("a ** b", "bool", "int64"),
            ("a.pow(b)", "int64", "int64"), ("a.pow(b)", "bool", "int64"),
            ("torch.pow(a, b)", "int64", "int64"), ("torch.pow(a, b)", "bool", "int64")}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_result_dtype_and_values_match_pytorch(form: str) -> None:
    fn = FORMS[form]
    differ = []
    for a_kind, b_kind in itertools.product(KINDS[:4], KINDS):
        powers = "pow" in form or "**" in form
        if (form, b_kind) in LENIENT or powers and a_kind == b_kind == "bool":
            continue
        if "where" in form and a_kind == "bool":
            continue
        theirs = outcome(fn, torch, a_kind, b_kind)
        ours = outcome(fn, sg, a_kind, b_kind)
        if (form, a_kind, b_kind) in STRICTER:
            assert ours[0] == "error", (form, a_kind, b_kind)
        elif theirs[0] != ours[0]:
            differ.append(f"{a_kind} with {b_kind}: PyTorch {theirs[0]}, stepgrad {ours[0]}")
        elif theirs[1] is not None:
            np.testing.assert_allclose(ours[1].astype(float), theirs[1].astype(float),
                                       rtol=1e-6, err_msg=f"{form}, {a_kind} with {b_kind}")
    assert not differ, f"{form}: " + "; ".join(differ)


def test_subtracting_a_bool_tensor_is_refused_as_in_pytorch() -> None:
    mask = sg.tensor([True, False])
    for attempt in (lambda: mask - 1, lambda: 1 - mask, lambda: sg.tensor([1.0, 2.0]) - mask,
                    lambda: mask.sub(mask)):
        with pytest.raises(RuntimeError, match="use the `~` or `logical_not"):
            attempt()


ROUNDING: dict[str, Callable[[Any, Any, Any], Any]] = {
    "remainder": lambda lib, a, b: a % b, "fmod": lambda lib, a, b: lib.fmod(a, b),
    "div_floor": lambda lib, a, b: lib.div(a, b, rounding_mode="floor"),
    "div_trunc": lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
}


@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_rounding_ops_values_and_gradients_match_pytorch(name: str) -> None:
    a_values = np.array([[5.5, -3.2, 7.9], [-0.4, 2.6, -8.1]])
    b_values = np.array([2.0, -1.5, 2.5])
    results = {}
    for lib in (sg, torch):
        a = lib.tensor(a_values, requires_grad=True)
        b = lib.tensor(b_values, requires_grad=True)
        out = ROUNDING[name](lib, a, b)
        (out * lib.tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
        results[lib.__name__] = [np.asarray(t.detach()) for t in (out, a.grad, b.grad)]
    for ours, theirs in zip(results["stepgrad"], results["torch"]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=name)


def test_floor_division_has_no_derivative_as_in_pytorch() -> None:
    a = sg.tensor([5.5, -3.2], requires_grad=True)
    q = a // 2
    assert q.tolist() == [2.0, -2.0]
    with pytest.raises(RuntimeError, match="derivative for floor_divide is not implemented"):
        q.sum().backward()


def test_integer_division_by_zero_is_refused_as_in_pytorch() -> None:
    ints = sg.tensor([7, -7])
    for attempt in (lambda: ints // 0, lambda: ints % 0, lambda: sg.fmod(ints, 0),
                    lambda: ints.div(sg.tensor([1, 0]), rounding_mode="trunc")):
        with pytest.raises(ZeroDivisionError):
            attempt()
    assert np.isinf((sg.tensor([1.0]) // 0).data).all()  # floats: inf, as in PyTorch


def test_unknown_rounding_mode_names_the_choices() -> None:
    with pytest.raises(ValueError, match="None, 'trunc', or 'floor' but found 'round'"):
        sg.tensor([1.0]).div(2, rounding_mode="round")


def test_numpy_ufuncs_on_a_tensor_take_the_new_operators() -> None:
    x = sg.tensor([7.0, -7.0], requires_grad=True)
    assert isinstance(np.remainder(x, 3), sg.Tensor)
    assert np.remainder(x, 3).tolist() == [1.0, 2.0]
    assert np.floor_divide(x, 2).tolist() == [3.0, -4.0]


def test_pytorch_tutorial_polynomial_trains_in_float32() -> None:
    """PyTorch's "Learning PyTorch with Examples" nn version: `x.unsqueeze(-1).pow(p)` with
    an int64 p; the loss must stay float32 as in PyTorch."""
    x = sg.linspace(-np.pi, np.pi, 200)
    xx = x.unsqueeze(-1).pow(sg.tensor([1, 2, 3]))
    model = sg.nn.Sequential(sg.nn.Linear(3, 1), sg.nn.Flatten(0, 1))
    loss = sg.nn.MSELoss(reduction="sum")(model(xx), sg.sin(x))
    assert xx.dtype == np.float32 and loss.dtype == np.float32


def test_operator_forms_keep_their_speed_path() -> None:
    """The fast path for a Python number beside a float tensor still makes float constants."""
    for op in (operator.add, operator.sub, operator.mul, operator.truediv, operator.pow):
        assert op(sg.tensor([1.0, 2.0]), 2).dtype == np.float32
