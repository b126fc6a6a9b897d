"""Focused checks, against PyTorch, of what porting PyTorch's beginner tutorials found missing
or different in stepgrad (tests/dropin/test_ports_tutorials.py runs the tutorials)."""

from __future__ import annotations

import warnings
from typing import Any

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


# -- scatter / scatter_ (the Transforms tutorial's one-hot target_transform) -----------------
def test_the_tutorials_one_hot_lambda() -> None:
    for lib in (torch, stepgrad):
        one_hot = lambda y, lib=lib: lib.zeros(10, dtype=lib.float).scatter_(  # noqa: E731
            0, lib.tensor(y), value=1)
        assert one_hot(3).tolist() == [0.0] * 3 + [1.0] + [0.0] * 6


@pytest.mark.parametrize("dim", [0, 1])
def test_scatter_values_and_gradients_match_pytorch(dim: int) -> None:
    index = [[0, 1, 2, 0, 1], [2, 0, 1, 1, 0]] if dim == 0 else [[4, 0, 2], [1, 3, 0]]
    shape = (3, 5) if dim == 0 else (2, 5)
    src_shape = (2, 5) if dim == 0 else (2, 3)
    results = []
    for lib in (torch, stepgrad):
        src = lib.arange(1, 1 + int(np.prod(src_shape)), dtype=lib.float64).reshape(
            src_shape).requires_grad_()
        base = lib.ones(*shape, dtype=lib.float64).requires_grad_()
        out = base.scatter(dim, lib.tensor(index), src)
        weights = lib.arange(float(np.prod(shape)), dtype=lib.float64).reshape(shape)
        (out * weights).sum().backward()
        results.append([out.detach().numpy(), src.grad.numpy(), base.grad.numpy()])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, theirs)


def test_scatter_value_forms_and_inplace() -> None:
    for lib in (torch, stepgrad):
        index = lib.tensor([[2], [3]])
        assert lib.zeros(2, 4).scatter(1, index, 1.5).tolist() == [[0, 0, 1.5, 0], [0, 0, 0, 1.5]]
        assert lib.scatter(lib.zeros(2, 4), 1, index, value=2.0)[1, 3].item() == 2.0
        x = lib.zeros(2, 4)
        assert x.scatter_(1, index, lib.ones(2, 1)) is x and x.sum().item() == 2.0


def test_scatter_reduce_is_refused_in_one_line() -> None:
    with pytest.raises(TypeError, match="reduce="):
        stepgrad.zeros(3).scatter(0, stepgrad.tensor([1]), stepgrad.ones(1), reduce="add")


# -- printing: tensors and grad_fn as PyTorch prints them (every tutorial prints tensors) --------
def _printed_cases() -> list[tuple[np.ndarray, bool]]:
    rng = np.random.default_rng(0)
    makers = [lambda s: rng.standard_normal(s), lambda s: rng.standard_normal(s) * 1e5,
              lambda s: rng.standard_normal(s) * 1e-6, lambda s: rng.random(s) * 1e9,
              lambda s: rng.integers(-50, 50, s).astype(float), lambda s: rng.integers(-50, 50, s),
              lambda s: rng.random(s) > 0.5, lambda s: np.ones(s, bool)]
    cases = []
    for shape in [(), (1,), (5,), (8,), (30,), (3, 4), (2, 3, 4), (10, 10), (40, 30), (0,),
                  (2, 0)]:
        for make in makers:
            values = np.asarray(make(shape))
            if values.dtype.kind != "f":
                cases.append((values, False))
                continue
            for dtype in (np.float32, np.float64):
                cases += [(values.astype(dtype), False), (values.astype(dtype), True)]
    return cases


def test_tensors_print_as_pytorch_prints_them() -> None:
    """Same text, but for the dtype's name (float64, not torch.float64): PyTorch's longer name
    may move a suffix to the next line, so whitespace is compared as one space."""
    different = []
    for values, requires_grad in _printed_cases():
        ours = repr(stepgrad.tensor(values, requires_grad=requires_grad))
        theirs = repr(torch.tensor(values, requires_grad=requires_grad)).replace("torch.", "")
        if " ".join(ours.split()) != " ".join(theirs.split()):
            different.append((ours, theirs))
    assert not different, different[:3]


def test_printing_the_tensors_tutorials_tensors() -> None:
    for lib in (torch, stepgrad):
        t = lib.ones(4, 4)
        t[:, 1] = 0
        assert repr(lib.cat([t, t, t], dim=1)).count("\n") == 3  # all 48 values, no "..."
        assert repr(lib.tensor([0.627, 1.5])) == "tensor([0.6270, 1.5000])"
        assert str(lib.zeros(10, 10, dtype=lib.int64)).count("...") == 0
        assert repr(lib.rand(40, 30)).count("...") == 7  # 3 + 3 rows cut, and "...,"


def test_grad_fn_is_a_node_that_prints_and_names_itself_as_pytorchs() -> None:
    for lib in (torch, stepgrad):
        x = lib.ones(5)
        w = lib.ones(5, 3, requires_grad=True)
        z = lib.matmul(x, w) + lib.zeros(3)
        loss = (z * 2).sum()
        assert repr(loss) == "tensor(30., grad_fn=<SumBackward0>)"
        assert str(z.grad_fn).startswith("<AddBackward0 object at 0x")
        assert loss.grad_fn is loss.grad_fn and loss.grad_fn.name() == "SumBackward0"
        (mul, _), = loss.grad_fn.next_functions
        assert mul.name() == "MulBackward0" and mul.next_functions[1][0] is None
        (add, _), _ = mul.next_functions
        assert add is z.grad_fn
        assert x.grad_fn is None and w.grad_fn is None
    leaf = stepgrad.ones(2, requires_grad=True)
    (accumulate, _), _ = (leaf * 2).grad_fn.next_functions
    assert accumulate.variable is leaf and "AccumulateGrad" in repr(accumulate)
    assert (leaf * 2).grad_fn.op is stepgrad.ops.get("mul")


# -- torch.Tensor(...), PyTorch's legacy constructor (older courses' custom layers) ------------
@pytest.mark.parametrize("args", [(), (2, 3), (3,), ([1, 2],), ([[1, 2], [3, 4]],), ((2, 3),),
                                  ([True, False],)])
def test_legacy_constructor_makes_float_tensors_as_pytorchs(args: tuple) -> None:
    ours, theirs = stepgrad.Tensor(*args), torch.Tensor(*args)
    assert ours.dtype == stepgrad.float32 and tuple(ours.shape) == tuple(theirs.shape)
    if args and isinstance(args[0], list):
        assert ours.tolist() == theirs.tolist()


def test_legacy_constructor_in_a_custom_layer() -> None:
    """`nn.Parameter(torch.Tensor(out, in))` then an init, as hand-written Linear layers do."""
    for lib in (torch, stepgrad):
        weight = lib.nn.Parameter(lib.Tensor(4, 3))
        lib.nn.init.kaiming_uniform_(weight, a=5 ** 0.5)
        assert weight.requires_grad and weight.dtype == lib.float32 and weight.shape == (4, 3)
        assert 0 < weight.detach().abs().max().item() <= 1 / 3 ** 0.5 + 1e-6


@pytest.mark.parametrize("bad", [3.5, True, "a", -1])
def test_legacy_constructor_refuses_what_pytorch_refuses(bad: Any) -> None:
    with pytest.raises((TypeError, RuntimeError)) as theirs:
        torch.Tensor(bad)
    with pytest.raises(theirs.type) as ours:
        stepgrad.Tensor(bad)
    assert str(ours.value).split(";")[0] == str(theirs.value) or bad == "a"


def test_inferring_forms_keep_inferring() -> None:
    assert stepgrad.tensor([1, 2]).dtype == np.int64
    assert stepgrad.as_tensor([1, 2]).dtype == np.int64
    assert stepgrad.Tensor(np.arange(3)).dtype == np.int64  # stepgrad's Tensor(array) keeps it
    assert stepgrad.tensor([stepgrad.tensor(1.0), stepgrad.tensor(2.0)]).tolist() == [1.0, 2.0]
