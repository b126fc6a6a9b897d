"""PyTorch as an oracle: every op's forward and backward, the nn layers with PyTorch's
weights copied in, and 20-step optimizer trajectories, all in float64.

Each op case runs the same computation in both libraries, compares the outputs, then
sends the same random upstream gradient back through both and compares every input's
gradient. `test_every_op_is_compared_with_torch` fails when a registered op has no case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")
TF = torch.nn.functional
F = sg.nn.functional

pytestmark = pytest.mark.torch

_rng = np.random.default_rng(7)


def r(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape)


def pos(*shape: int) -> np.ndarray:
    return _rng.uniform(0.5, 2.0, shape)


def distinct(*shape: int) -> np.ndarray:
    return _rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0


def assert_close(ours: Any, theirs: Any, what: str, tol: float = 1e-9) -> None:
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape}, PyTorch {theirs.shape}"
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol, err_msg=what)


def compare(ours: Callable[..., Any], theirs: Callable[..., Any], *arrays: np.ndarray) -> None:
    """Forward and backward of `ours` (stepgrad) and `theirs` (torch) on the same inputs."""
    xs = [sg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*xs), theirs(*ts)
    assert_close(out.data, expected, "forward")
    assert out.dtype == np.float64
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for i, (x, t) in enumerate(zip(xs, ts)):
        assert x.grad is not None and x.grad.dtype == np.float64, f"input {i} got no float64 grad"
        assert_close(x.grad, t.grad, f"gradient of input {i}")


labels2d = np.array([[0, 1, 3], [2, 1, 0]])
class_w = _rng.uniform(0.5, 2.0, 4)
targets01 = _rng.uniform(0, 1, (2, 3))


def _setitem_ours(a: Any, b: Any) -> Any:
    out = a * 1.0
    out[1] = b * 2
    out[:, 0] = 0.0
    return out


def _setitem_theirs(a: Any, b: Any) -> Any:
    out = a * 1.0
    out[1] = b * 2
    out[:, 0] = 0.0
    return out


#: (op name, stepgrad function, torch function, inputs)
mask = np.array([[True, False, True, True], [False, False, True, False], [True] * 4])
index = np.array([2, 0, 2, 2, 1])
labels = np.array([1, 0, 3, 3, 2])
keep = np.random.default_rng(3).random((3, 4)) > 0.4
OPS: list[tuple[str, Callable, Callable, tuple[np.ndarray, ...]]] = [
    ("add", lambda a, b: a + b, lambda a, b: a + b, (r(2, 3), r(3))),
    ("add", lambda a, b: a + b, lambda a, b: a + b, (r(4, 1, 3), r(2, 1))),
    ("add", lambda a: 2 + a, lambda a: 2 + a, (r(3),)),
    ("sub", lambda a, b: a - b, lambda a, b: a - b, (r(2, 3), r(2, 1))),
    ("sub", lambda a: 1.5 - a, lambda a: 1.5 - a, (r(3),)),
    ("mul", lambda a, b: a * b, lambda a, b: a * b, (r(2, 3), r(1, 3))),
    ("mul", lambda a: 3 * a, lambda a: 3 * a, (r(2, 2),)),
    ("div", lambda a, b: a / b, lambda a, b: a / b, (r(2, 3), pos(3))),
    ("div", lambda a: 2 / a, lambda a: 2 / a, (pos(4),)),
    ("pow", lambda a, b: a**b, lambda a, b: a**b, (pos(2, 3), r(3))),
    ("pow", lambda a: a**2, lambda a: a**2, (r(4),)),
    ("pow", lambda a: 2**a, lambda a: 2**a, (r(4),)),
    ("pow", lambda a: a**0.5, lambda a: a**0.5, (pos(4),)),
    ("neg", lambda a: -a, lambda a: -a, (r(2, 3),)),
    ("exp", lambda a: a.exp(), torch.exp, (r(2, 3),)),
    ("log", lambda a: a.log(), torch.log, (pos(2, 3),)),
    ("sqrt", lambda a: a.sqrt(), torch.sqrt, (pos(2, 3),)),
    ("abs", lambda a: a.abs(), torch.abs, (np.array([-1.0, 0.0, 2.0, -3.0]),)),
    ("relu", lambda a: a.relu(), torch.relu, (np.array([-1.0, 0.0, 2.0, -3.0]),)),
    ("relu", F.relu, torch.relu, (r(3, 4),)),
    ("leaky_relu", lambda a: F.leaky_relu(a, 0.1), lambda a: TF.leaky_relu(a, 0.1), (r(3, 4),)),
    ("leaky_relu", lambda a: a.leaky_relu(), TF.leaky_relu, (r(3, 4),)),
    ("sigmoid", lambda a: a.sigmoid(), torch.sigmoid, (np.array([-800.0, -2, 0, 3, 800]),)),
    ("tanh", lambda a: a.tanh(), torch.tanh, (r(2, 3),)),
    ("sum", lambda a: a.sum(), torch.sum, (r(2, 3),)),
    ("sum", lambda a: a.sum(axis=1, keepdims=True), lambda a: a.sum(1, keepdim=True), (r(2, 3),)),
    ("sum", lambda a: a.sum(dim=(0, 2)), lambda a: a.sum((0, 2)), (r(2, 3, 4),)),
    ("sum", lambda a: a.sum(dim=-1, keepdim=True), lambda a: a.sum(-1, keepdim=True), (r(2, 3),)),
    ("mean", lambda a: a.mean(), torch.mean, (r(2, 3),)),
    ("mean", lambda a: a.mean(axis=0), lambda a: a.mean(0), (r(2, 3),)),
    ("mean", lambda a: a.mean(dim=[1, 2], keepdim=True), lambda a: a.mean((1, 2), keepdim=True),
     (r(2, 3, 4),)),
    ("max", lambda a: a.max(), torch.amax, (distinct(2, 3),)),
    ("max", lambda a: a.max(axis=1), lambda a: a.amax(1), (distinct(2, 3),)),
    ("max", lambda a: a.amax(dim=0, keepdim=True), lambda a: a.amax(0, keepdim=True),
     (np.array([[1.0, 5.0], [1.0, 2.0], [0.0, 5.0]]),)),  # ties share the gradient
    ("min", lambda a: a.min(), torch.amin, (distinct(2, 3),)),
    ("min", lambda a: a.min(axis=-1, keepdims=True), lambda a: a.amin(-1, keepdim=True),
     (np.array([[1.0, 1.0, 2.0], [0.0, 3.0, 4.0]]),)),
    ("reshape", lambda a: a.reshape(3, -1), lambda a: a.reshape(3, -1), (r(2, 3, 2),)),
    ("reshape", lambda a: a.reshape((6,)), lambda a: a.reshape(6), (r(2, 3),)),
    ("transpose", lambda a: a.T, lambda a: a.T, (r(2, 3),)),
    ("transpose", lambda a: a.transpose(0, 2), lambda a: a.transpose(0, 2), (r(2, 3, 4),)),
    ("transpose", lambda a: a.permute(1, 2, 0), lambda a: a.permute(1, 2, 0), (r(2, 3, 4),)),
    ("getitem", lambda a: a[1:, ::2], lambda a: a[1:, ::2], (r(3, 4),)),
    ("getitem", lambda a: a[-1], lambda a: a[-1], (r(3, 4),)),
    ("getitem", lambda a: a[index], lambda a: a[torch.tensor(index)], (r(3, 4),)),
    ("getitem", lambda a: a[[0, 0, 1]], lambda a: a[[0, 0, 1]], (r(3, 4),)),
    ("getitem", lambda a: a[mask], lambda a: a[torch.tensor(mask)], (r(3, 4),)),
    ("getitem", lambda a: a[index, index[::-1] % 4], lambda a: a[index, index[::-1] % 4],
     (r(3, 4),)),
    ("getitem", lambda a: a[:, [3, 3]], lambda a: a[:, [3, 3]], (r(3, 4),)),
    ("getitem", lambda a: a[a > 0], lambda a: a[a > 0], (r(3, 4),)),
    ("concat", lambda a, b: sg.concat([a, b]), lambda a, b: torch.cat([a, b]), (r(2, 3), r(1, 3))),
    ("concat", lambda a, b, c: sg.cat([a, b, c], dim=1), lambda a, b, c: torch.cat([a, b, c], 1),
     (r(2, 1), r(2, 3), r(2, 2))),
    ("stack", lambda a, b: sg.stack([a, b]), lambda a, b: torch.stack([a, b]), (r(2, 3), r(2, 3))),
    ("stack", lambda a, b: sg.stack([a, b], dim=-1), lambda a, b: torch.stack([a, b], -1),
     (r(2, 3), r(2, 3))),
    ("pad", lambda a: sg.pad(a, ((0, 0), (1, 2))), lambda a: TF.pad(a, (1, 2)), (r(2, 3),)),
    ("pad", lambda a: sg.pad(a, ((0, 0), (0, 0), (1, 1), (2, 0)), value=0.5),
     lambda a: TF.pad(a, (2, 0, 1, 1), value=0.5), (r(1, 2, 3, 3),)),
    ("matmul", lambda a, b: a @ b, torch.matmul, (r(3), r(3))),
    ("matmul", lambda a, b: a @ b, torch.matmul, (r(3), r(3, 4))),
    ("matmul", lambda a, b: a @ b, torch.matmul, (r(2, 3), r(3))),
    ("matmul", lambda a, b: a @ b, torch.matmul, (r(2, 3), r(3, 4))),
    ("matmul", lambda a, b: a @ b, torch.matmul, (r(5, 2, 3), r(5, 3, 4))),
    ("matmul", lambda a, b: a @ b, torch.matmul, (r(2, 1, 2, 3), r(4, 3, 2))),
    ("matmul", lambda a, b: a @ b, torch.matmul, (r(2, 2, 3), r(3))),
    ("matmul", lambda a, b: a @ b, torch.matmul, (r(3), r(2, 3, 4))),
    ("linear", F.linear, TF.linear, (r(4, 3), r(5, 3), r(5))),
    ("linear", F.linear, TF.linear, (r(2, 4, 3), r(5, 3), r(5))),
    ("linear", F.linear, TF.linear, (r(4, 3), r(5, 3))),
    ("conv2d", F.conv2d, TF.conv2d, (r(2, 3, 6, 6), r(4, 3, 3, 3), r(4))),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
     lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1), (r(2, 2, 7, 6), r(3, 2, 3, 3), r(3))),
    ("conv2d", lambda x, w: F.conv2d(x, w, padding=(1, 2), stride=(1, 2)),
     lambda x, w: TF.conv2d(x, w, padding=(1, 2), stride=(1, 2)), (r(1, 2, 5, 5), r(2, 2, 2, 3))),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2),
     (distinct(2, 3, 4, 4),)),
    ("max_pool2d", lambda x: F.max_pool2d(x, 3, 2), lambda x: TF.max_pool2d(x, 3, 2),
     (distinct(1, 2, 7, 6),)),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), lambda x: TF.max_pool2d(x, 2),
     (distinct(1, 1, 5, 5),)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2), lambda x: TF.avg_pool2d(x, 2), (r(2, 3, 4, 5),)),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 1), lambda x: TF.avg_pool2d(x, 3, 1),
     (r(1, 2, 5, 5),)),
    ("softmax", lambda a: a.softmax(), lambda a: a.softmax(-1), (r(3, 4),)),
    ("softmax", lambda a: F.softmax(a, dim=0), lambda a: a.softmax(0), (r(3, 4),)),
    ("log_softmax", lambda a: a.log_softmax(dim=1), lambda a: a.log_softmax(1), (r(2, 3, 4),)),
    ("log_softmax", lambda a: F.log_softmax(a), lambda a: a.log_softmax(-1), (1000 * r(3, 4),)),
    ("cross_entropy", lambda a: F.cross_entropy(a, labels),
     lambda a: TF.cross_entropy(a, torch.tensor(labels)), (r(5, 4),)),
    ("cross_entropy", lambda a: F.cross_entropy(a, sg.tensor(labels)),
     lambda a: TF.cross_entropy(a, torch.tensor(labels)), (100 * r(5, 4),)),
    ("mse_loss", F.mse_loss, TF.mse_loss, (r(2, 3), r(2, 3))),
    ("binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
     TF.binary_cross_entropy_with_logits, (30 * r(2, 3), _rng.uniform(0, 1, (2, 3)))),
    ("dropout", lambda a: sg.ops.Dropout.apply(a, keep, p=0.4), lambda a: a * torch.tensor(keep)
     / 0.6, (r(3, 4),)),
    ("batch_norm", lambda x, g, b: F.batch_norm(x, np.zeros(3), np.ones(3), g, b, training=True),
     lambda x, g, b: TF.batch_norm(x, None, None, g, b, training=True), (r(5, 3), r(3), r(3))),
    ("batch_norm", lambda x, g, b: F.batch_norm(x, np.full(2, 0.5), np.full(2, 2.0), g, b,
                                                training=False),
     lambda x, g, b: TF.batch_norm(x, torch.full((2,), 0.5, dtype=torch.float64),
                                   torch.full((2,), 2.0, dtype=torch.float64), g, b,
                                   training=False), (r(4, 2, 3, 3), r(2), r(2))),
    # -- ops of the PyTorch drop-in (issue 11) --
    ("sin", lambda a: a.sin(), torch.sin, (r(2, 3),)),
    ("cos", sg.cos, torch.cos, (r(2, 3),)),
    ("clamp", lambda a: a.clamp(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), (r(3, 4),)),
    ("clamp", lambda a: sg.clamp(a, min=0.0), lambda a: torch.clamp(a, min=0.0),
     (np.array([-1.0, 0.0, 2.0]),)),  # the bound itself passes the gradient
    ("clamp", lambda a: a.clip(max=0.1), lambda a: a.clip(max=0.1), (r(5),)),
    ("remainder", lambda a, b: a % b, lambda a, b: a % b, (3 * r(2, 3), pos(3))),
    ("remainder", lambda a: a % -1.5, lambda a: a % -1.5, (3 * r(2, 3),)),
    ("fmod", sg.fmod, torch.fmod, (3 * r(2, 3), -pos(3))),
    ("step", lambda a: a.floor() + a.ceil() * 2 + a.round() * 3 + a.trunc() * 4 + a.sign() * 5,
     lambda a: a.floor() + a.ceil() * 2 + a.round() * 3 + a.trunc() * 4 + a.sign() * 5,
     (3 * r(2, 3),)),
    ("step", lambda a: a.round(decimals=1), lambda a: a.round(decimals=1), (3 * r(4),)),
    ("rounded_div", lambda a, b: sg.div(a, b, rounding_mode="floor"),
     lambda a, b: torch.div(a, b, rounding_mode="floor"), (3 * r(2, 3), pos(3))),
    ("rounded_div", lambda a, b: a.div(b, rounding_mode="trunc"),
     lambda a, b: a.div(b, rounding_mode="trunc"), (3 * r(2, 3), -pos(3))),
    ("maximum", sg.maximum, torch.maximum, (r(2, 3), r(3))),
    ("maximum", sg.maximum, torch.maximum, (np.array([1.0, 2.0, 3.0]), np.array([1.0, 0, 4]))),
    ("maximum", lambda a, b: sg.max(a, b), torch.max, (r(2, 3), r(2, 3))),
    ("minimum", sg.minimum, torch.minimum, (np.array([1.0, 2.0, 3.0]), np.array([1.0, 0, 4]))),
    ("where", lambda a, b: sg.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b),
     (r(3, 4), r(4))),
    ("where", lambda a: a.masked_fill(a < 0, 0.5), lambda a: a.masked_fill(a < 0, 0.5),
     (r(3, 4),)),
    ("cast", lambda a: a.float().double() * 2, lambda a: a.float().double() * 2, (r(3),)),
    ("cast", lambda a: a.to(sg.float32).sum().to(dtype=sg.float64),
     lambda a: a.to(torch.float32).sum().to(dtype=torch.float64), (r(2, 2),)),
    ("gelu", F.gelu, TF.gelu, (3 * r(3, 4),)),
    ("gelu", lambda a: F.gelu(a, approximate="tanh"), lambda a: TF.gelu(a, approximate="tanh"),
     (3 * r(3, 4),)),
    ("silu", F.silu, TF.silu, (5 * r(3, 4),)),
    ("prod", lambda a: a.prod(), torch.prod, (r(2, 3),)),
    ("prod", lambda a: a.prod(1, keepdim=True), lambda a: a.prod(1, keepdim=True), (r(2, 3, 4),)),
    ("prod", lambda a: sg.prod(a, dim=-1), lambda a: torch.prod(a, dim=-1),
     (np.array([[1.0, 0.0, 3.0], [0.0, 0.0, 2.0], [1.5, 2.0, -1.0]]),)),  # zeros handled
    ("logsumexp", lambda a: a.logsumexp(1), lambda a: a.logsumexp(1), (r(3, 4),)),
    ("logsumexp", lambda a: sg.logsumexp(a, dim=(0, 2), keepdim=True),
     lambda a: torch.logsumexp(a, dim=(0, 2), keepdim=True), (100 * r(2, 3, 4),)),
    ("cumsum", lambda a: a.cumsum(0), lambda a: a.cumsum(0), (r(4, 3),)),
    ("cumsum", lambda a: sg.cumsum(a, dim=-1), lambda a: torch.cumsum(a, dim=-1), (r(2, 5),)),
    ("expand", lambda a: a.expand(2, 3, 4), lambda a: a.expand(2, 3, 4), (r(3, 1),)),
    ("expand", lambda a, b: a.expand_as(b) * b, lambda a, b: a.expand_as(b) * b,
     (r(1, 4), r(3, 4))),
    ("repeat", lambda a: a.repeat(2, 3), lambda a: a.repeat(2, 3), (r(2, 3),)),
    ("repeat", lambda a: a.repeat(2, 1, 2), lambda a: a.repeat(2, 1, 2), (r(3),)),
    ("gather", lambda a: a.gather(1, sg.tensor(index[:3, None])),
     lambda a: a.gather(1, torch.tensor(index[:3, None])), (r(3, 4),)),
    ("gather", lambda a: a.max(1).values, lambda a: a.max(1).values, (distinct(3, 4),)),
    ("gather", lambda a: sg.max(a, 0, keepdim=True)[0], lambda a: torch.max(a, 0, keepdim=True)[0],
     (np.array([[1.0, 5.0], [1.0, 2.0], [0.0, 5.0]]),)),  # ties: the index picked gets it all
    ("gather", lambda a: a.min(dim=-1)[0], lambda a: a.min(dim=-1)[0], (distinct(2, 5),)),
    ("setitem", _setitem_ours, _setitem_theirs, (r(3, 4), r(4))),
    ("nll_loss", lambda a: F.nll_loss(a.log_softmax(1), labels),
     lambda a: TF.nll_loss(a.log_softmax(1), torch.tensor(labels)), (r(5, 4),)),
    ("nll_loss", lambda a: F.nll_loss(a, labels2d, weight=class_w, ignore_index=1),
     lambda a: TF.nll_loss(a, torch.tensor(labels2d), weight=torch.tensor(class_w),
                           ignore_index=1), (r(2, 4, 3),)),
    ("nll_loss", lambda a: F.nll_loss(a, labels, reduction="none"),
     lambda a: TF.nll_loss(a, torch.tensor(labels), reduction="none"), (r(5, 4),)),
    ("binary_cross_entropy", lambda a: F.binary_cross_entropy(a.sigmoid(), targets01),
     lambda a: TF.binary_cross_entropy(a.sigmoid(), torch.tensor(targets01)), (r(2, 3),)),
    ("binary_cross_entropy", lambda a: F.binary_cross_entropy(a.sigmoid(), targets01,
                                                              reduction="sum"),
     lambda a: TF.binary_cross_entropy(a.sigmoid(), torch.tensor(targets01), reduction="sum"),
     (r(2, 3),)),
    ("mse_loss", lambda a, b: F.mse_loss(a, b, reduction="sum"),
     lambda a, b: TF.mse_loss(a, b, reduction="sum"), (r(2, 3), r(2, 3))),
    ("mse_loss", lambda a, b: F.mse_loss(a, b, reduction="none"),
     lambda a, b: TF.mse_loss(a, b, reduction="none"), (r(2, 3), r(2, 3))),
    ("binary_cross_entropy_with_logits",
     lambda a: F.binary_cross_entropy_with_logits(a, targets01, reduction="none"),
     lambda a: TF.binary_cross_entropy_with_logits(a, torch.tensor(targets01), reduction="none"),
     (r(2, 3),)),
]


def test_every_op_is_compared_with_torch() -> None:
    engine_ops = {name for name, cls in sg.ops.registry.items()
                  if cls.__module__.split(".")[0] == "stepgrad"}
    missing = sorted(engine_ops - {case[0] for case in OPS})
    assert not missing, f"ops without a PyTorch comparison (add them to OPS): {missing}"


@pytest.mark.parametrize(("op", "ours", "theirs", "inputs"), OPS,
                         ids=[f"{case[0]}-{i}" for i, case in enumerate(OPS)])
def test_op_matches_torch(op: str, ours: Callable, theirs: Callable, inputs: tuple) -> None:
    compare(ours, theirs, *inputs)


def test_batch_norm_running_statistics_match_torch() -> None:
    mean, var = np.zeros(3), np.ones(3)
    torch_mean, torch_var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(3):
        x = r(6, 3, 2)
        F.batch_norm(sg.tensor(x), mean, var, sg.tensor(np.ones(3)), sg.tensor(np.zeros(3)),
                     training=True, momentum=0.2)
        TF.batch_norm(torch.tensor(x), torch_mean, torch_var, training=True, momentum=0.2)
    assert_close(mean, torch_mean, "running mean")
    assert_close(var, torch_var, "running var (unbiased)")


# -- layers, with PyTorch's weights copied in -------------------------------------------------
def twin_models() -> tuple[sg.nn.Module, Any]:
    """The same small CNN in both libraries, float64, stepgrad loaded from PyTorch's state."""
    tn, nn = torch.nn, sg.nn
    theirs = tn.Sequential(
        tn.Conv2d(2, 4, 3, padding=1), tn.BatchNorm2d(4), tn.ReLU(), tn.MaxPool2d(2),
        tn.Conv2d(4, 6, 3, stride=2, padding=1), tn.Tanh(), tn.AvgPool2d(2), tn.Flatten(),
        tn.Linear(6, 8), tn.BatchNorm1d(8), tn.LeakyReLU(0.05), tn.Dropout(0.0), tn.Linear(8, 5),
        tn.Sigmoid()).double()
    sg.set_default_dtype(np.float64)
    ours = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(6, 8), nn.BatchNorm1d(8), nn.LeakyReLU(0.05), nn.Dropout(0.0), nn.Linear(8, 5),
        nn.Sigmoid())
    with torch.no_grad():  # make the batch-norm affine parameters and statistics non-trivial
        for module in theirs.modules():
            if isinstance(module, tn.modules.batchnorm._BatchNorm):
                module.weight.uniform_(0.5, 1.5), module.bias.uniform_(-0.5, 0.5)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def test_layers_match_torch_in_training_and_evaluation() -> None:
    ours, theirs = twin_models()
    for step in range(3):
        x = r(4, 2, 8, 8)
        out, expected = ours(sg.tensor(x)), theirs(torch.tensor(x))
        assert_close(out.data, expected, f"training forward, step {step}")
        ours.zero_grad(), theirs.zero_grad()
        out.sum().backward(), expected.sum().backward()
        for (name, p), (torch_name, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert name == torch_name
            assert_close(p.grad, q.grad, f"grad of {name}", tol=1e-8)
    state = ours.state_dict()
    for key, value in theirs.state_dict().items():
        assert_close(state[key], value, f"state {key} after training")
    ours.eval(), theirs.eval()
    x = r(3, 2, 8, 8)
    assert_close(ours(sg.tensor(x)).data, theirs(torch.tensor(x)), "evaluation forward")


def test_state_dict_goes_back_into_torch() -> None:
    ours, theirs = twin_models()
    for p in ours.parameters():
        p.data *= 2
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in ours.state_dict().items()})
    x = r(2, 2, 8, 8)
    ours.eval(), theirs.eval()
    assert_close(ours(sg.tensor(x)).data, theirs(torch.tensor(x)), "forward after the round trip")


# -- optimizer trajectories --------------------------------------------------------------------
OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd-momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "sgd-dampening": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "sgd-nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    "sgd-weight-decay": ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    "adam": ("Adam", dict(lr=0.01)),
    "adam-weight-decay": ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.05)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop-momentum": ("RMSprop", dict(lr=0.005, momentum=0.9)),
    "rmsprop-centered": ("RMSprop", dict(lr=0.005, centered=True, weight_decay=0.01)),
    "rmsprop-centered-momentum": ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5)),
}


@pytest.mark.parametrize("config", sorted(OPTIMIZERS))
def test_optimizer_trajectory_matches_torch(config: str) -> None:
    kind, options = OPTIMIZERS[config]
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 3)).double()
    sg.set_default_dtype(np.float64)
    ours = sg.nn.Sequential(sg.nn.Linear(4, 8), sg.nn.Tanh(), sg.nn.Linear(8, 3))
    ours.load_state_dict(theirs.state_dict())
    opt = getattr(sg.optim, kind)(ours.parameters(), **options)
    torch_opt = getattr(torch.optim, kind)(theirs.parameters(), **options)
    x, y = r(16, 4), _rng.integers(0, 3, 16)
    losses, torch_losses = [], []
    for _ in range(20):
        opt.zero_grad()
        loss = F.cross_entropy(ours(sg.tensor(x)), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        torch_opt.zero_grad()
        torch_loss = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        torch_loss.backward()
        torch_opt.step()
        torch_losses.append(torch_loss.item())
    np.testing.assert_allclose(losses, torch_losses, rtol=0, atol=1e-6)
    assert losses[-1] < losses[0], "the model should learn something in 20 steps"
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert_close(p.data, q, f"{name} after 20 steps", tol=1e-6)
