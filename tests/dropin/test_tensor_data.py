"""`t.data` as PyTorch programs use it (d2l's `net[0].weight.data.normal_(0, 0.01)`,
`bias.data.fill_(0)`, `param.data.normal_()`, batch norm's `moving_mean.data` moved with
`.to(X.device)`): in stepgrad `.data` is the tensor's numpy array seen as TensorData, a view
with PyTorch's in-place methods writing into the tensor, as PyTorch's `.data` shares storage."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import stepgrad

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


def pair(values: Any) -> tuple[Any, Any]:
    return (stepgrad.tensor(values, requires_grad=True),
            torch.tensor(values, requires_grad=True))


@pytest.mark.parametrize("call", [
    lambda d: d.fill_(0), lambda d: d.fill_(2.5), lambda d: d.zero_(),
    lambda d: d.copy_(d * 0 + 4), lambda d: d.add_(1.0, alpha=2),
    lambda d: d.sub_(0.5), lambda d: d.mul_(3), lambda d: d.div_(4),
    lambda d: d.clamp_(-0.5, 0.5), lambda d: d[0].fill_(7), lambda d: d.mul_(2).add_(1)],
    ids=["fill0", "fill", "zero", "copy", "add", "sub", "mul", "div", "clamp", "row", "chain"])
def test_in_place_through_data_writes_into_the_tensor_as_in_pytorch(call: Any) -> None:
    ours, theirs = pair([[1.0, -2.0, 3.0], [0.25, -0.75, 2.0]])
    returned = call(ours.data)
    call(theirs.data)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy())
    assert ours.dtype == np.float32 and isinstance(returned, np.ndarray)
    assert ours.requires_grad and ours.grad_fn is None  # still a leaf, as in PyTorch


def test_random_initialisers_through_data_keep_shape_dtype_and_statistics() -> None:
    net = stepgrad.nn.Sequential(stepgrad.nn.Linear(400, 300))
    stepgrad.manual_seed(0)
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.uniform_(-2, 2)
    weight, bias = net[0].weight.numpy(), net[0].bias.numpy()
    assert weight.dtype == bias.dtype == np.float32 and weight.shape == (300, 400)
    assert abs(weight.std() - 0.01) < 5e-4 and abs(weight.mean()) < 5e-4
    assert -2 <= bias.min() and bias.max() < 2 and bias.std() > 1
    net[0].weight.data.normal_()
    assert abs(net[0].weight.numpy().std() - 1) < 0.02


def test_arithmetic_on_data_gives_plain_arrays_and_tensors_with_tensors() -> None:
    t = stepgrad.tensor([1.0, 2.0])
    assert type(t.data * 2) is np.ndarray and type(np.ones_like(t.data)) is np.ndarray
    assert type(t.data.copy()) is np.ndarray and type(t.data.astype(np.float64)) is np.ndarray
    assert type(t.numpy()) is np.ndarray and type(np.asarray(t)) is np.ndarray
    assert isinstance(stepgrad.tensor([3.0, 4.0]) - t.data, stepgrad.Tensor)
    assert repr(t.data) == repr(np.array([1.0, 2.0], dtype=np.float32))


def test_data_of_data_to_device_and_dtype_as_batch_norm_from_scratch_uses_them() -> None:
    t = stepgrad.zeros(1, 3, 1, 1)
    moving = t.data
    assert moving.data is moving and moving.to(stepgrad.device("cpu")) is moving
    assert moving.device == stepgrad.device("cpu") and moving.to("cpu") is moving
    assert moving.to(stepgrad.float64).dtype == np.float64 and moving.clone() is not moving
    with pytest.raises(RuntimeError, match="cuda"):
        moving.to("cuda")
    moving.fill_(1)
    assert t.numpy().sum() == 3  # a view: writes reach the tensor


def test_assigning_data_still_replaces_the_values() -> None:
    ours, theirs = pair([1.0, 2.0])
    ours.data = stepgrad.tensor([5.0, 6.0]).data
    theirs.data = torch.tensor([5.0, 6.0])
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())
    assert type(ours.numpy()) is np.ndarray
