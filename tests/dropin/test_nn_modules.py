"""stepgrad.nn against torch.nn: the same printed form, the same state-dict keys, the same
outputs and gradients from the same weights, the same losses, the same initialisation
statistics, and the same gradient clipping."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
nn = sg.nn


def _both(build: Callable) -> tuple:
    return build(sg.nn), build(torch.nn)


STRUCTURES: dict[str, Callable] = {
    "cnn": lambda m: m.Sequential(
        m.Conv2d(1, 4, 3, padding=1, bias=False), m.BatchNorm2d(4), m.ReLU(inplace=True),
        m.MaxPool2d(2), m.Conv2d(4, 8, (3, 5), stride=2), m.AvgPool2d(2), m.Dropout(0.25),
        m.Flatten(), m.Linear(8, 10), m.LogSoftmax(dim=1)),
    "named": lambda m: m.Sequential(OrderedDict(
        embed=m.Embedding(27, 10, padding_idx=0), norm=m.LayerNorm(10), act=m.GELU(),
        drop=m.Identity(), head=m.Linear(10, 27, bias=False))),
    "containers": lambda m: m.ModuleDict({
        "blocks": m.ModuleList([m.Linear(4, 4) for _ in range(3)] + [m.SiLU()]),
        "out": m.Sequential(m.Unflatten(1, (2, 2)), m.Softmax(dim=-1), m.LeakyReLU(0.2)),
        "losses": m.ModuleList([m.CrossEntropyLoss(), m.MSELoss(), m.BCEWithLogitsLoss()])}),
}


@pytest.mark.parametrize("name", sorted(STRUCTURES))
def test_printed_model_and_state_dict_keys_match_torch(name: str) -> None:
    ours, theirs = _both(STRUCTURES[name])
    assert repr(ours) == repr(theirs)
    ours_state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(their_state)
    for key, value in their_state.items():
        assert ours_state[key].shape == tuple(value.shape), key
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    ours.load_state_dict(their_state)  # torch's tensors load as they are
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, their_state[key].numpy(), err_msg=key)


# -- layers: same weights, same input -> same output and input gradient ------------------------
LAYERS: dict[str, tuple[Callable, tuple[int, ...]]] = {
    "Linear": (lambda m: m.Linear(5, 3), (4, 5)),
    "Linear-no-bias-3d": (lambda m: m.Linear(5, 3, bias=False), (2, 4, 5)),
    "Conv2d-stride-padding": (lambda m: m.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 7, 7)),
    "Conv2d-same": (lambda m: m.Conv2d(2, 3, 5, padding="same"), (1, 2, 6, 6)),
    "Conv2d-rect": (lambda m: m.Conv2d(2, 3, (3, 1), padding=(1, 0)), (1, 2, 5, 4)),
    "MaxPool2d-padding": (lambda m: m.MaxPool2d(3, 2, padding=1), (2, 2, 7, 7)),
    "AvgPool2d-padding": (lambda m: m.AvgPool2d(2, padding=1), (2, 2, 5, 5)),
    "BatchNorm1d": (lambda m: m.BatchNorm1d(3), (6, 3)),
    "LayerNorm": (lambda m: m.LayerNorm((3, 4)), (2, 3, 4)),
    "GELU": (lambda m: m.GELU(), (3, 4)),
    "GELU-tanh": (lambda m: m.GELU(approximate="tanh"), (3, 4)),
    "SiLU": (lambda m: m.SiLU(), (3, 4)),
    "Softmax": (lambda m: m.Softmax(dim=0), (3, 4)),
    "LogSoftmax": (lambda m: m.LogSoftmax(dim=1), (3, 4)),
    "Flatten-range": (lambda m: m.Flatten(0, 1), (2, 3, 4)),
    "Unflatten": (lambda m: m.Unflatten(1, (2, 3)), (4, 6)),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_forward_and_backward_match_torch(name: str) -> None:
    build, shape = LAYERS[name]
    sg.set_default_dtype(np.float64)
    ours, theirs = build(sg.nn), build(torch.nn).double()
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(3).standard_normal(shape)
    xs, xt = sg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ys, yt = ours(xs), theirs(xt)
    np.testing.assert_allclose(ys.data, yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    weights = np.random.default_rng(4).standard_normal(tuple(yt.shape))
    (ys * sg.Tensor(weights)).sum().backward()
    (yt * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(np.asarray(xs.grad), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (key, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(np.asarray(p.grad), q.grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=key)


def test_embedding_matches_torch_and_never_trains_padding() -> None:
    sg.set_default_dtype(np.float64)
    ours, theirs = nn.Embedding(6, 3, padding_idx=2), torch.nn.Embedding(6, 3, padding_idx=2)
    assert not ours.weight.data[2].any()
    ours.load_state_dict(theirs.double().state_dict())
    index = np.array([[0, 2, 5], [2, 2, 1]])
    ys, yt = ours(sg.tensor(index)), theirs(torch.tensor(index))
    np.testing.assert_allclose(ys.data, yt.detach().numpy())
    ys.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(np.asarray(ours.weight.grad), theirs.weight.grad.numpy())


# -- losses ----------------------------------------------------------------------------------
LOSSES: dict[str, tuple[str, dict, str]] = {
    "ce": ("CrossEntropyLoss", {}, "classes"),
    "ce-sum": ("CrossEntropyLoss", {"reduction": "sum"}, "classes"),
    "ce-none-smoothing": ("CrossEntropyLoss", {"reduction": "none", "label_smoothing": 0.1},
                          "classes"),
    "ce-ignore-weight": ("CrossEntropyLoss", {"ignore_index": 1, "weight": "w"}, "classes"),
    "ce-probabilities": ("CrossEntropyLoss", {}, "probabilities"),
    "nll": ("NLLLoss", {"weight": "w"}, "log-probabilities"),
    "mse-none": ("MSELoss", {"reduction": "none"}, "real"),
    "l1": ("L1Loss", {}, "real"),
    "bce": ("BCELoss", {"weight": "w"}, "probability-pairs"),
    "bce-logits": ("BCEWithLogitsLoss", {"weight": "w", "reduction": "sum"}, "binary"),
}


def _loss_data(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    logits = rng.standard_normal((5, 4))
    if kind == "classes":
        return logits, np.array([0, 1, 3, 1, 2])
    if kind == "probabilities":
        p = rng.random((5, 4))
        return logits, p / p.sum(1, keepdims=True)
    if kind == "log-probabilities":
        return logits - np.log(np.exp(logits).sum(1, keepdims=True)), np.array([0, 1, 3, 1, 2])
    if kind == "probability-pairs":
        return 1 / (1 + np.exp(-logits)), (rng.random((5, 4)) > 0.5).astype(float)
    if kind == "binary":
        return logits, (rng.random((5, 4)) > 0.5).astype(float)
    return logits, rng.standard_normal((5, 4))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_modules_match_torch(name: str) -> None:
    kind, options, data = LOSSES[name]
    sg.set_default_dtype(np.float64)
    x, target = _loss_data(data, np.random.default_rng(5))
    w = np.array([0.5, 1.0, 2.0, 1.5])
    ours_opts = {k: (sg.tensor(w) if v == "w" else v) for k, v in options.items()}
    torch_opts = {k: (torch.tensor(w) if v == "w" else v) for k, v in options.items()}
    xs, xt = sg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ls = getattr(nn, kind)(**ours_opts)(xs, sg.tensor(target))
    lt = getattr(torch.nn, kind)(**torch_opts)(xt, torch.tensor(target))
    np.testing.assert_allclose(ls.data, lt.detach().numpy(), rtol=1e-10)
    ls.sum().backward()
    lt.sum().backward()
    np.testing.assert_allclose(np.asarray(xs.grad), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_loss_reduction_is_checked() -> None:
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")


# -- initialisation: PyTorch's distributions ---------------------------------------------------
@pytest.mark.parametrize(("build", "fan_in"), [(lambda m: m.Linear(300, 200), 300),
                                               (lambda m: m.Conv2d(16, 32, 3), 16 * 9),
                                               (lambda m: m.Embedding(500, 64), None)],
                         ids=["Linear", "Conv2d", "Embedding"])
def test_default_init_has_torch_statistics(build: Callable, fan_in: int | None) -> None:
    torch.manual_seed(0)
    ours, theirs = _both(build)
    for (key, p), q in zip(ours.named_parameters(), theirs.parameters()):
        a, b = p.data.ravel(), q.detach().numpy().ravel()
        assert p.data.dtype == np.float32, key
        # the sample std of n draws wanders by about std / sqrt(n): biases are short
        assert a.std() == pytest.approx(b.std(), rel=max(0.05, 3 / math.sqrt(a.size))), key
        assert abs(a.mean()) < 4 * b.std() / math.sqrt(a.size) + 1e-3, key
        if fan_in is not None:  # kaiming_uniform_(a=sqrt(5)) and the bias: U(+-1/sqrt(fan_in))
            bound = 1 / math.sqrt(fan_in)
            assert np.abs(b).max() <= bound * (1 + 1e-6), key
            assert 0.8 * bound <= np.abs(a).max() <= bound * (1 + 1e-6), key


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
                                  "xavier_normal_"])
def test_init_functions_have_torch_statistics(name: str) -> None:
    ours = nn.Parameter(np.zeros((256, 128, 3, 3), dtype=np.float32))
    theirs = torch.zeros(256, 128, 3, 3)
    kwargs = {"nonlinearity": "relu"} if name.startswith("kaiming") else {"gain": 1.7}
    getattr(nn.init, name)(ours, **kwargs)
    getattr(torch.nn.init, name)(theirs, **kwargs)
    assert ours.data.std() == pytest.approx(float(theirs.std()), rel=0.01)
    if name.endswith("uniform_"):
        assert np.abs(ours.data).max() == pytest.approx(float(theirs.abs().max()), rel=1e-3)


@pytest.mark.parametrize("args", [("relu", None), ("tanh", None), ("leaky_relu", None),
                                  ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)])
def test_calculate_gain_matches_torch(args: tuple) -> None:
    assert nn.init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


# -- gradient clipping ---------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float) -> None:
    rng = np.random.default_rng(6)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    ours = [nn.Parameter(np.zeros(g.shape)) for g in grads]
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = sg.Tensor(g.copy()), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    torch_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert total.item() == pytest.approx(torch_total.item(), rel=1e-12)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(p.grad), q.grad.numpy(), rtol=1e-12)


def test_clip_grad_value_and_nonfinite_norm() -> None:
    p = nn.Parameter(np.zeros(3))
    p.grad = sg.Tensor(np.array([-3.0, 0.5, np.inf]))
    with pytest.raises(RuntimeError, match="total norm of order 2.0 .* is inf"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(np.asarray(p.grad), [-1.0, 0.5, 1.0])
