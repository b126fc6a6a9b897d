"""The APIs Dive into Deep Learning's PyTorch programs use that stepgrad lacked or got wrong,
each checked against PyTorch: torch.normal in its four forms, and `size=` as a keyword of the
tensor makers (stepgrad's zeros(size=(2, 3)) gave a 0-d tensor, silently)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import stepgrad

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.mark.parametrize("args", [(0, 1, (3, 2)), (0.0, 0.01, [5]), (2, 3, (4, 1, 2))])
def test_normal_with_a_size_is_float32_of_that_shape(args: tuple[Any, ...]) -> None:
    ours, theirs = stepgrad.normal(*args), torch.normal(*args)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == np.float32
    assert not ours.requires_grad and not theirs.requires_grad


def test_normal_draws_with_the_asked_mean_and_std() -> None:
    stepgrad.manual_seed(0)
    draw = stepgrad.normal(3, 0.5, (20000,)).numpy()
    assert abs(draw.mean() - 3) < 0.02 and abs(draw.std() - 0.5) < 0.02
    stepgrad.manual_seed(0)
    np.testing.assert_array_equal(stepgrad.normal(3, 0.5, size=(20000,)).numpy(), draw)


@pytest.mark.parametrize("form", ["tensor-tensor", "tensor-float", "float-tensor"])
def test_normal_from_tensors_broadcasts_keeps_dtype_and_passes_zero_gradients(form: str) -> None:
    def call(lib: Any) -> tuple[Any, Any, Any]:
        mean = lib.zeros(2, 3, dtype=lib.float64, requires_grad=True)
        std = lib.ones(3, requires_grad=True)
        args = {"tensor-tensor": (mean, std), "tensor-float": (mean, 2.0),
                "float-tensor": (1.0, std)}[form]
        out = lib.normal(*args)
        out.sum().backward()
        return out, mean.grad, std.grad

    (ours, our_mean, our_std), (theirs, their_mean, their_std) = call(stepgrad), call(torch)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    for a, b in ((our_mean, their_mean), (our_std, their_std)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(np.asarray(a), b.numpy())


@pytest.mark.parametrize("args", [(0.0, 1.0), (0, -1.0, (2,))])
def test_normal_refuses_what_pytorch_refuses(args: tuple[Any, ...]) -> None:
    with pytest.raises((TypeError, RuntimeError)) as theirs:
        torch.normal(*args)
    with pytest.raises(theirs.type):
        stepgrad.normal(*args)


def test_normal_of_shapes_that_do_not_broadcast_is_one_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="must match"):
        torch.normal(torch.zeros(2), torch.ones(3))
    with pytest.raises(RuntimeError, match=r"mean \(2,\) and std \(3,\) do not broadcast"):
        stepgrad.normal(stepgrad.zeros(2), stepgrad.ones(3))


@pytest.mark.parametrize("name", ["zeros", "ones", "empty", "rand", "randn"])
@pytest.mark.parametrize("size", [(2, 3), [4], (1, 1, 8, 8)])
def test_size_as_a_keyword(name: str, size: Any) -> None:
    ours = getattr(stepgrad, name)(size=size, dtype=stepgrad.float32)
    theirs = getattr(torch, name)(size=size, dtype=torch.float32)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == np.float32


@pytest.mark.parametrize("name", ["zeros", "rand", "randn"])
def test_size_given_twice_or_a_misspelt_keyword_is_refused(name: str) -> None:
    for bad in ({"size": (2, 3)}, {"sizes": 3}):
        with pytest.raises(TypeError):
            getattr(torch, name)(2, **bad)
    with pytest.raises(TypeError, match="multiple values for argument 'size'"):
        getattr(stepgrad, name)(2, size=(2, 3))
    if name != "zeros":  # zeros, ones and empty take (and ignore) layout=, pin_memory=, ...
        with pytest.raises(TypeError, match="unexpected keyword argument 'sizes'"):
            getattr(stepgrad, name)(2, sizes=3)


@pytest.mark.parametrize("where", ["cpu", "device", "keyword"])
def test_module_to_a_device_keeps_float32(where: str) -> None:
    """d2l's train_ch6 calls net.to(device): stepgrad cast every parameter to float64."""
    for lib in (torch, stepgrad):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.BatchNorm1d(3))
        device = lib.device("cpu")
        moved = {"cpu": lambda n: n.to("cpu"), "device": lambda n: n.to(device),  # noqa: B023
                 "keyword": lambda n: n.to(device=device)}[where](net)  # noqa: B023
        assert moved is net
        dtypes = {str(t.dtype).removeprefix("torch.") for t in net.state_dict().values()
                  if t.is_floating_point()}
        assert dtypes == {"float32"}, lib.__name__
