"""Focused checks, against PyTorch, of what porting PyTorch's beginner tutorials found missing
or different in stepgrad (tests/dropin/test_ports_tutorials.py runs the tutorials)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import stepgrad

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


# -- torch.matmul(a, b, out=y) and torch.mul(a, b, out=z) (the Tensors tutorial) ------------
@pytest.mark.parametrize("name", ["matmul", "mul", "add", "exp"])
def test_out_writes_into_the_given_tensor_and_returns_it(name: str) -> None:
    a = np.arange(16, dtype=np.float32).reshape(4, 4) / 7
    results = []
    for lib in (torch, stepgrad):
        args = [lib.tensor(a)] + ([] if name == "exp" else [lib.tensor(a.T.copy())])
        out = lib.zeros(4, 4)
        returned = getattr(lib, name)(*args, out=out)
        assert returned is out
        results.append(out.numpy().copy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)


def test_out_of_another_shape_is_resized_with_pytorchs_warning() -> None:
    for lib in (torch, stepgrad):
        out = lib.zeros(5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.matmul(lib.ones(2, 3), lib.ones(3, 2), out=out)
        assert tuple(out.shape) == (2, 2) and out.tolist() == [[3.0, 3.0], [3.0, 3.0]]
        assert any("resized" in str(w.message) for w in caught), lib.__name__
        empty = lib.zeros(0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            lib.mul(lib.ones(2), 3.0, out=empty)
        assert empty.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("out_requires_grad", [False, True])
def test_out_with_autograd_is_pytorchs_error(out_requires_grad: bool) -> None:
    messages = []
    for lib in (torch, stepgrad):
        w = lib.ones(2, 2, requires_grad=not out_requires_grad)
        out = lib.zeros(2, 2, requires_grad=out_requires_grad)
        with pytest.raises(RuntimeError) as error:
            lib.mul(w, 2.0, out=out)
        messages.append(str(error.value))
    assert messages[1] == messages[0]


def test_out_under_no_grad_is_allowed() -> None:
    w = stepgrad.ones(2, requires_grad=True)
    out = stepgrad.zeros(2)
    with stepgrad.no_grad():
        stepgrad.mul(w, 2.0, out=out)
    assert out.tolist() == [2.0, 2.0] and not out.requires_grad
