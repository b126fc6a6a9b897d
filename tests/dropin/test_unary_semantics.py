"""Unary math and reductions with PyTorch's semantics, checked against PyTorch itself:
exp, log, sqrt, sin, tanh, sigmoid, ... of an integer or bool tensor are float32 (numpy
gave float64 for int64 and float16 for bool); mean, var, std, norm, softmax and log_softmax
of an integer tensor are refused with PyTorch's words, as PyTorch refuses them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")

DATA = {"float32": [[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]],
        "float64": [[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]],
        "int64": [[1, -2, 3], [4, 0, 2]], "bool": [[True, False, True], [False, False, True]]}

FORMS: dict[str, Callable[[Any, Any], Any]] = {
    name: (lambda lib, x, name=name: getattr(x, name)())
    for name in ("exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "log2",
                 "log10", "log1p", "expm1", "reciprocal", "neg", "sum", "prod", "max", "min",
                 "mean", "var", "std", "norm", "floor", "ceil", "round", "trunc", "sign")
}
FORMS.update({
    "logsumexp(0)": lambda lib, x: x.logsumexp(0),
    "softmax(0)": lambda lib, x: x.softmax(0),
    "log_softmax(1)": lambda lib, x: x.log_softmax(1),
    "mean(0)": lambda lib, x: x.mean(0),
    "mean(dtype=float32)": lambda lib, x: x.mean(dtype=lib.float32),
    "torch.exp(x)": lambda lib, x: lib.exp(x),
    "torch.sigmoid(x)": lambda lib, x: lib.sigmoid(x),
    "F.softmax(x, 1)": lambda lib, x: lib.nn.functional.softmax(x, 1),
    "F.log_softmax(x, 1)": lambda lib, x: lib.nn.functional.log_softmax(x, 1),
    "F.sigmoid(x)": lambda lib, x: lib.nn.functional.sigmoid(x),
    "F.tanh(x)": lambda lib, x: lib.nn.functional.tanh(x),
    "round(decimals=1)": lambda lib, x: x.round(decimals=1),
})


@pytest.mark.parametrize("name", ["floor", "ceil", "round", "trunc", "sign"])
def test_steps_keep_the_graph_with_a_zero_gradient_as_pytorch(name: str) -> None:
    """PyTorch's x.floor() requires grad and sends 0 back; it was a constant here, so a loss
    made only of steps could not call backward."""
    grads = []
    for lib in (sg, torch):
        x = lib.tensor([1.5, -2.5, 0.3], requires_grad=True)
        out = getattr(x, name)()
        assert out.requires_grad
        (out * 2).sum().backward()
        grads.append(np.asarray(x.grad))
    np.testing.assert_array_equal(grads[0], grads[1])
#: bool inputs that PyTorch refuses and numpy computes are not compared (`neg` of a bool
#: tensor is refused by both, with different errors)
SKIP = {("neg", "bool")}


def outcome(form: Callable[[Any, Any], Any], lib: Any, kind: str) -> tuple[str, Any]:
    dtype = {"float32": lib.float32, "float64": lib.float64, "int64": lib.int64,
             "bool": lib.bool}[kind]
    try:
        result = form(lib, lib.tensor(DATA[kind], dtype=dtype))
    except (RuntimeError, TypeError, NotImplementedError):
        return "error", None
    return str(result.dtype).replace("torch.", ""), np.asarray(result.detach())


@pytest.mark.parametrize("form", sorted(FORMS))
def test_result_dtype_and_values_match_pytorch(form: str) -> None:
    differ = []
    for kind in DATA:
        if (form, kind) in SKIP:
            continue
        theirs, ours = outcome(FORMS[form], torch, kind), outcome(FORMS[form], sg, kind)
        if theirs[0] != ours[0]:
            differ.append(f"{kind}: PyTorch {theirs[0]}, stepgrad {ours[0]}")
        elif theirs[1] is not None:
            np.testing.assert_allclose(ours[1].astype(float), theirs[1].astype(float),
                                       rtol=1e-5, err_msg=f"{form} of {kind}")
    assert not differ, f"{form}: " + "; ".join(differ)


def test_a_refusal_says_how_to_get_a_float_result() -> None:
    with pytest.raises(RuntimeError, match=r"Got: Long \(convert first: x.float\(\).mean"):
        sg.tensor([1, 2, 3]).mean()
    assert sg.tensor([1, 2, 3]).float().mean().item() == 2.0
