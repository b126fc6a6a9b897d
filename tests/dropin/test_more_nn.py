"""The second batch of torch.nn layers against PyTorch itself: activations (module and F
forms), adaptive and 1-D pooling, SmoothL1 / Huber / KL losses, distances, padding,
Dropout2d, ParameterList / ParameterDict. Values and every gradient (inputs and parameters,
from the same weights) in float32 and float64, printed forms, state-dict keys, default
initialisation, and the errors PyTorch raises for bad arguments."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch
TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}
TOLERANCE = {np.float32: {"rtol": 2e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}
DTYPES = pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])


def _namespaces(lib: Any) -> tuple[Any, Any]:
    return lib.nn, lib.nn.functional


def compare(build: Callable[[Any, Any], Callable[..., Any]], arrays: list[np.ndarray],
            dtype: Any, grads: bool = True, grad_rtol: float | None = None) -> None:
    """Run build(nn, F)'s function on the same inputs in both libraries: the same dtype,
    values and (for a random upstream gradient) input gradients."""
    ours_fn, their_fn = build(*_namespaces(sg)), build(*_namespaces(torch))
    xs = [sg.tensor(a.astype(dtype), requires_grad=grads) for a in arrays]
    ts = [torch.tensor(a.astype(dtype), requires_grad=grads) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, expected = ours_fn(*xs), their_fn(*(t * 1 for t in ts))  # inplace needs a non-leaf
    assert out.dtype == dtype and expected.dtype == TORCH_DTYPES[dtype]
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOLERANCE[dtype])
    if not grads:
        return
    upstream = np.random.default_rng(0).standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    tolerance = dict(TOLERANCE[dtype], **({"rtol": grad_rtol} if grad_rtol else {}))
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), **tolerance,
                                   err_msg=f"gradient of input {i}")


_rng = np.random.default_rng(7)
# random values and every kink and switch point of these activations
EDGES = np.array([-25.0, -6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 5.0, 6.0, 20.0, 25.0, 2.5])
POINTS = np.concatenate([3 * _rng.standard_normal(12), EDGES]).reshape(4, 6)

ACTIVATIONS: dict[str, Callable[[Any, Any], Callable[..., Any]]] = {
    "ELU": lambda nn, F: nn.ELU(),
    "ELU-alpha": lambda nn, F: nn.ELU(0.5, inplace=True),
    "F.elu": lambda nn, F: lambda x: F.elu(x, alpha=2.0),
    "SELU": lambda nn, F: nn.SELU(),
    "F.selu": lambda nn, F: F.selu,
    "CELU": lambda nn, F: nn.CELU(),
    "CELU-alpha": lambda nn, F: nn.CELU(2.5),
    "F.celu": lambda nn, F: lambda x: F.celu(x, 0.5),
    "Softplus": lambda nn, F: nn.Softplus(),
    "Softplus-beta-threshold": lambda nn, F: nn.Softplus(beta=2.0, threshold=10.0),
    "F.softplus": lambda nn, F: lambda x: F.softplus(x, 0.5, 3.0),
    "Softsign": lambda nn, F: nn.Softsign(),
    "F.softsign": lambda nn, F: F.softsign,
    "Hardtanh": lambda nn, F: nn.Hardtanh(),
    "Hardtanh-range": lambda nn, F: nn.Hardtanh(-3.0, 5.0),
    "F.hardtanh": lambda nn, F: lambda x: F.hardtanh(x, 0.0, 6.0),
    "ReLU6": lambda nn, F: nn.ReLU6(inplace=True),
    "F.relu6": lambda nn, F: F.relu6,
    "Hardswish": lambda nn, F: nn.Hardswish(),
    "F.hardswish": lambda nn, F: F.hardswish,
    "Hardsigmoid": lambda nn, F: nn.Hardsigmoid(),
    "F.hardsigmoid": lambda nn, F: F.hardsigmoid,
    "Mish": lambda nn, F: nn.Mish(),
    "F.mish": lambda nn, F: F.mish,
    "LogSigmoid": lambda nn, F: nn.LogSigmoid(),
    "F.logsigmoid": lambda nn, F: F.logsigmoid,
    "Softmin": lambda nn, F: nn.Softmin(dim=1),
    "Softmin-dim0": lambda nn, F: nn.Softmin(0),
    "F.softmin": lambda nn, F: lambda x: F.softmin(x, dim=-1),
    "GLU": lambda nn, F: nn.GLU(),
    "GLU-dim0": lambda nn, F: nn.GLU(dim=0),
    "F.glu": lambda nn, F: lambda x: F.glu(x, 1),
    "Tanhshrink": lambda nn, F: nn.Tanhshrink(),
    "F.tanhshrink": lambda nn, F: F.tanhshrink,
    "F.prelu": lambda nn, F: lambda x: F.prelu(x, x.new_tensor([0.1, -0.2, 0.3, 0.5, 2., 0.])),
}


@DTYPES
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_gradients_match_torch(name: str, dtype: Any) -> None:
    # PyTorch's float64 hardsigmoid gradient uses 1/6 rounded to float32 (3e-8 off)
    loose = "hardsigmoid" in name.lower() and dtype is np.float64
    compare(ACTIVATIONS[name], [POINTS], dtype, grad_rtol=1e-7 if loose else None)


def test_logsigmoid_and_softplus_stay_finite_far_out() -> None:
    compare(lambda nn, F: F.logsigmoid, [np.array([-1000.0, -50.0, 50.0, 1000.0])], np.float32)
    compare(lambda nn, F: nn.Softplus(beta=0.5), [np.array([-1e4, 39.0, 41.0, 1e4])],
            np.float64)


@DTYPES
@pytest.mark.parametrize("shape, channels", [((4, 6), 6), ((2, 3, 4, 5), 3), ((2, 3, 4), 1),
                                             ((5,), 1)])
def test_prelu_weight_and_gradients_match_torch(shape: tuple, channels: int, dtype: Any) -> None:
    theirs = torch.nn.PReLU(channels, init=0.3).to(TORCH_DTYPES[dtype])
    with torch.no_grad():
        theirs.weight.copy_(torch.linspace(-0.5, 1.5, channels))
    ours = sg.nn.PReLU(channels, init=0.3, dtype=dtype)
    ours.load_state_dict(theirs.state_dict())
    x = _rng.standard_normal(shape).astype(dtype)
    out, expected = ours(sg.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **TOLERANCE[dtype])
    upstream = _rng.standard_normal(shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    assert ours.weight.grad.dtype == dtype
    np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(),
                               **TOLERANCE[dtype])


def test_prelu_default_initialisation_and_dtype() -> None:
    layer = sg.nn.PReLU()
    assert layer.weight.shape == (1,) and layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.data, [0.25])
    layer = sg.nn.PReLU(4, init=-0.1, dtype=sg.float64)
    assert layer.weight.shape == (4,) and layer.weight.dtype == np.float64
    np.testing.assert_array_equal(layer.weight.data, np.full(4, -0.1))
    assert [n for n, _ in layer.named_parameters()] == ["weight"]


# -- pooling -----------------------------------------------------------------------------------
POOL_CASES = [((2, 3, 7, 5), (3, 2)), ((2, 3, 7, 5), 1), ((1, 2, 5, 5), 3),
              ((2, 2, 6, 4), (4, None)), ((3, 5, 7), (5, 7)), ((3, 4, 4), (None, 3)),
              ((1, 1, 3, 2), (7, 5)), ((2, 1, 9, 6), (4, 4))]


@DTYPES
@pytest.mark.parametrize("kind", ["Avg", "Max"])
@pytest.mark.parametrize("shape, size", POOL_CASES)
def test_adaptive_pools_match_torch(kind: str, shape: tuple, size: Any, dtype: Any) -> None:
    x = _rng.standard_normal(shape)
    compare(lambda nn, F: getattr(nn, f"Adaptive{kind}Pool2d")(size), [x], dtype)
    compare(lambda nn, F: lambda t: getattr(F, f"adaptive_{kind.lower()}_pool2d")(t, size),
            [x], dtype)


def test_adaptive_max_pool_ties_and_indices_match_torch() -> None:
    x = np.round(_rng.standard_normal((2, 3, 7, 6)))  # many ties: the first maximum wins
    compare(lambda nn, F: nn.AdaptiveMaxPool2d((3, 4)), [x], np.float64)
    values, indices = sg.nn.AdaptiveMaxPool2d((3, 4), return_indices=True)(sg.tensor(x))
    their_values, their_indices = torch.nn.AdaptiveMaxPool2d((3, 4), True)(torch.tensor(x))
    np.testing.assert_array_equal(values.data, their_values.numpy())
    np.testing.assert_array_equal(indices.data, their_indices.numpy())
    assert indices.dtype == np.int64


@DTYPES
@pytest.mark.parametrize("kind", ["Avg", "Max"])
@pytest.mark.parametrize("shape, args", [((2, 3, 8), (3,)), ((3, 9), (2,)), ((2, 2, 10), (3, 2, 1)),
                                         ((1, 3, 7), (4, 1, 2))])
def test_1d_pools_match_torch(kind: str, shape: tuple, args: tuple, dtype: Any) -> None:
    x = _rng.standard_normal(shape)
    compare(lambda nn, F: getattr(nn, f"{kind}Pool1d")(*args), [x], dtype)
    compare(lambda nn, F: lambda t: getattr(F, f"{kind.lower()}_pool1d")(t, *args), [x], dtype)


# -- losses and distances ----------------------------------------------------------------------
def _log_probs(shape: tuple) -> np.ndarray:
    z = _rng.standard_normal(shape)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


LOSSES: dict[str, tuple[Callable[[Any, Any], Callable[..., Any]], list[np.ndarray]]] = {}
_a, _b = 2 * _rng.standard_normal((4, 5)), 2 * _rng.standard_normal((4, 5))
for _reduction in ("mean", "sum", "none"):
    for _beta in (1.0, 0.5, 0.0):
        LOSSES[f"SmoothL1Loss-{_beta}-{_reduction}"] = (
            lambda nn, F, r=_reduction, b=_beta: nn.SmoothL1Loss(reduction=r, beta=b), [_a, _b])
    for _delta in (1.0, 0.4, 2.5):
        LOSSES[f"HuberLoss-{_delta}-{_reduction}"] = (
            lambda nn, F, r=_reduction, d=_delta: nn.HuberLoss(reduction=r, delta=d), [_a, _b])
LOSSES["F.smooth_l1_loss"] = (lambda nn, F: lambda a, b: F.smooth_l1_loss(a, b, beta=0.7),
                              [_a, _b])
LOSSES["F.huber_loss"] = (lambda nn, F: lambda a, b: F.huber_loss(a, b, "sum", 0.3), [_a, _b])
LOSSES["F.huber_loss-weight"] = (lambda nn, F: lambda a, b, w: F.huber_loss(a, b, delta=0.5,
                                                                           weight=w),
                                 [_a, _b, _rng.uniform(0, 2, _a.shape)])
_target = np.exp(_log_probs((3, 4)))
for _reduction in ("mean", "sum", "none", "batchmean"):
    LOSSES[f"KLDivLoss-{_reduction}"] = (
        lambda nn, F, r=_reduction: nn.KLDivLoss(reduction=r), [_log_probs((3, 4)), _target])
    LOSSES[f"KLDivLoss-log_target-{_reduction}"] = (
        lambda nn, F, r=_reduction: nn.KLDivLoss(reduction=r, log_target=True),
        [_log_probs((3, 4)), _log_probs((3, 4))])
LOSSES["F.kl_div"] = (lambda nn, F: lambda a, b: F.kl_div(a, b, reduction="batchmean"),
                      [_log_probs((2, 5)), np.exp(_log_probs((2, 5)))])
LOSSES["CosineSimilarity"] = (lambda nn, F: nn.CosineSimilarity(), [_a, _b])
LOSSES["CosineSimilarity-dim-broadcast"] = (lambda nn, F: nn.CosineSimilarity(-1, 1e-6),
                                            [_a, _b[0]])
LOSSES["PairwiseDistance"] = (lambda nn, F: nn.PairwiseDistance(), [_a, _b])
LOSSES["PairwiseDistance-p1-keepdim"] = (lambda nn, F: nn.PairwiseDistance(1.0, keepdim=True),
                                         [_a, _b[1]])
LOSSES["F.pairwise_distance-1d"] = (lambda nn, F: lambda a, b: F.pairwise_distance(a, b, 3.0),
                                    [_a[0], _b[0]])


@DTYPES
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_losses_and_distances_match_torch(name: str, dtype: Any) -> None:
    build, arrays = LOSSES[name]
    compare(build, arrays, dtype)


# -- padding and Dropout2d --------------------------------------------------------------------
PADS = {
    "ZeroPad2d-int": (lambda nn, F: nn.ZeroPad2d(2), (2, 3, 4, 5)),
    "ZeroPad2d-tuple-3d": (lambda nn, F: nn.ZeroPad2d((1, 0, 2, 3)), (3, 4, 5)),
    "ConstantPad2d": (lambda nn, F: nn.ConstantPad2d(1, 3.5), (2, 2, 3, 3)),
    "ConstantPad2d-crop": (lambda nn, F: nn.ConstantPad2d((-1, 2, 0, -2), -1.0), (1, 2, 5, 6)),
    "F.pad-crop": (lambda nn, F: lambda x: F.pad(x, (-1, -1, 2, 0)), (2, 3, 5, 5)),
}


@DTYPES
@pytest.mark.parametrize("name", sorted(PADS))
def test_padding_matches_torch(name: str, dtype: Any) -> None:
    build, shape = PADS[name]
    compare(build, [_rng.standard_normal(shape)], dtype)


@DTYPES
def test_dropout2d_drops_whole_channels_with_pytorch_scaling(dtype: Any) -> None:
    sg.manual_seed(0)
    layer = sg.nn.Dropout2d(p=0.25)
    x = sg.tensor(_rng.uniform(1, 2, (16, 32, 3, 3)).astype(dtype), requires_grad=True)
    out = layer(x)
    assert out.dtype == dtype
    scale = out.data / x.data
    per_channel = scale.reshape(16, 32, 9)
    np.testing.assert_allclose(per_channel, per_channel[..., :1] + 0 * per_channel,
                               rtol=1e-6)  # one decision per channel
    assert np.all((scale == 0) | np.isclose(scale, 1 / 0.75, rtol=1e-6))  # kept: x / (1 - p)
    assert 0.18 < np.mean(per_channel[..., 0] == 0) < 0.32  # 512 channels, p = 0.25
    out.sum().backward()
    np.testing.assert_allclose(x.grad.data, scale, rtol=1e-6)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x.data)
    assert np.all(sg.nn.Dropout2d(1.0)(x).data == 0)
    np.testing.assert_array_equal(sg.nn.functional.dropout2d(x, 0.0).data, x.data)


@pytest.mark.parametrize("shape, start", [((4, 8, 5), "dropout2d: Received a 3D input"),
                                          ((6, 5), "dropout2d: Received a 2-D input")])
def test_dropout2d_warns_as_pytorch_for_other_ranks(shape: tuple, start: str) -> None:
    with pytest.warns(UserWarning, match=start):
        out = sg.nn.functional.dropout2d(sg.ones(*shape), 0.5)
    with pytest.warns(UserWarning, match=start):
        torch.nn.functional.dropout2d(torch.ones(*shape), 0.5)
    mask = out.data.reshape(shape[0], shape[1], -1)
    assert np.all(mask == mask[..., :1])  # (N, C, L): each row of L kept or dropped whole


# -- containers --------------------------------------------------------------------------------
def _model(nn: Any, lib: Any) -> Any:
    model = nn.Module()
    model.scales = nn.ParameterList([nn.Parameter(lib.ones(3)), lib.zeros(2, 4)])
    model.extra = nn.ParameterDict({"gain": nn.Parameter(lib.ones(1)),
                                    "bias": lib.zeros(5, dtype=lib.float64)})
    model.head = nn.Linear(4, 2)
    model.scales.append(nn.Parameter(lib.ones(2)))
    model.extra["late"] = nn.Parameter(lib.zeros(2, 2))
    return model


def test_parameter_containers_register_like_torch() -> None:
    ours, theirs = _model(sg.nn, sg), _model(torch.nn, torch)
    assert repr(ours) == repr(theirs)
    assert repr(ours.scales) == repr(theirs.scales)
    assert repr(ours.extra) == repr(theirs.extra)
    state, their_state = ours.state_dict(), theirs.state_dict()
    assert list(state) == list(their_state) == [
        "scales.0", "scales.1", "scales.2", "extra.bias", "extra.gain", "extra.late",
        "head.weight", "head.bias"]
    for key, value in their_state.items():
        assert tuple(state[key].shape) == tuple(value.shape), key
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 8
    assert all(p.requires_grad for p in ours.parameters())
    assert isinstance(ours.scales[1], sg.nn.Parameter)  # a plain tensor became a Parameter
    assert ours.extra["bias"].dtype == np.float64
    ours.load_state_dict(their_state)


def test_parameter_containers_behave_like_list_and_dict() -> None:
    for nn, lib in ((sg.nn, sg), (torch.nn, torch)):
        plist = nn.ParameterList([nn.Parameter(lib.ones(i + 1)) for i in range(3)])
        assert len(plist) == 3 and plist[-1].shape[0] == 3
        assert [p.shape[0] for p in plist[1:]] == [2, 3]
        plist[0] = nn.Parameter(lib.zeros(7))
        assert [n for n, _ in plist.named_parameters()] == ["0", "1", "2"]
        plist += [nn.Parameter(lib.ones(1))]
        assert len(list(plist.parameters())) == 4
        pdict = nn.ParameterDict({"a": nn.Parameter(lib.ones(1))})
        pdict.update({"b": nn.Parameter(lib.ones(2))})
        assert list(pdict) == list(pdict.keys()) == ["a", "b"] and "a" in pdict
        assert pdict.pop("a").shape[0] == 1 and list(pdict) == ["b"]
        assert [n for n, _ in pdict.named_parameters()] == ["b"]
        assert pdict.get("zz") is None and len(pdict) == 1


# -- printed forms and errors ----------------------------------------------------------------
REPRS = [
    "ELU()", "ELU(0.5, True)", "SELU()", "SELU(True)", "CELU(2.0, inplace=True)", "Softplus()",
    "Softplus(2, 10)", "Softsign()", "Hardtanh()", "Hardtanh(-2, 3, True)", "ReLU6()",
    "ReLU6(True)", "Hardswish(True)", "Hardsigmoid()", "Mish(True)", "LogSigmoid()", "Softmin()",
    "Softmin(1)", "PReLU()", "PReLU(3, 0.1)", "GLU()", "GLU(1)", "Tanhshrink()",
    "AdaptiveAvgPool2d(3)", "AdaptiveAvgPool2d((None, 2))", "AdaptiveMaxPool2d((2, 3))",
    "AdaptiveMaxPool2d(2, return_indices=True)", "AvgPool1d(3)", "AvgPool1d(3, 2, 1)",
    "MaxPool1d(3)", "MaxPool1d(3, 2, 1)", "SmoothL1Loss(beta=0.5)", "HuberLoss(delta=2.0)",
    "KLDivLoss(reduction='batchmean', log_target=True)", "CosineSimilarity()",
    "PairwiseDistance(p=1.0)", "ZeroPad2d(2)", "ZeroPad2d((1, 2, 3, 4))",
    "ConstantPad2d(1, 3.5)", "ConstantPad2d((1, 0, 0, 2), 0)", "Dropout2d()",
    "Dropout2d(0.2, True)",
]


@pytest.mark.parametrize("text", REPRS)
def test_printed_form_matches_torch(text: str) -> None:
    assert repr(eval(f"sg.nn.{text}")) == repr(eval(f"torch.nn.{text}"))


ERRORS: dict[str, Callable[[Any, Any, Any], Any]] = {
    "Hardtanh max<=min": lambda nn, F, T: nn.Hardtanh(1.0, 1.0),
    "F.hardtanh min>max": lambda nn, F, T: F.hardtanh(T.ones(2), 1.0, -1.0),
    "CELU alpha=0": lambda nn, F, T: nn.CELU(0.0)(T.ones(2)),
    "GLU odd": lambda nn, F, T: nn.GLU()(T.ones(2, 3)),
    "GLU scalar": lambda nn, F, T: F.glu(T.ones(())),
    "prelu channels": lambda nn, F, T: F.prelu(T.ones(2, 3, 4), T.ones(2)),
    "prelu 1-d input": lambda nn, F, T: F.prelu(T.ones(3), T.ones(3)),
    "prelu 2-d weight": lambda nn, F, T: F.prelu(T.ones(2, 3), T.ones(1, 3)),
    "PReLU negative": lambda nn, F, T: nn.PReLU(-1),
    "adaptive size length": lambda nn, F, T: F.adaptive_avg_pool2d(T.ones(1, 2, 4, 4), (2,)),
    "adaptive size negative": lambda nn, F, T: F.adaptive_avg_pool2d(T.ones(1, 2, 4, 4), -1),
    "adaptive avg 2-d": lambda nn, F, T: nn.AdaptiveAvgPool2d(2)(T.ones(5, 5)),
    "adaptive avg 5-d": lambda nn, F, T: F.adaptive_avg_pool2d(T.ones(1, 1, 1, 5, 5), 2),
    "avg_pool1d 4-d": lambda nn, F, T: F.avg_pool1d(T.ones(1, 2, 3, 8), 3),
    "max_pool1d padding": lambda nn, F, T: nn.MaxPool1d(3, 2, 2)(T.ones(1, 2, 8)),
    "avg_pool1d padding": lambda nn, F, T: F.avg_pool1d(T.ones(1, 2, 8), 3, 2, 2),
    "smooth_l1 beta<0": lambda nn, F, T: nn.SmoothL1Loss(beta=-1.0)(T.ones(2), T.ones(2)),
    "huber delta=0": lambda nn, F, T: nn.HuberLoss(delta=0.0)(T.ones(2), T.ones(2)),
    "huber delta<0": lambda nn, F, T: F.huber_loss(T.ones(2), T.ones(2), delta=-1.0),
    "huber weight shape": lambda nn, F, T: F.huber_loss(T.ones(2, 3), T.ones(2, 3),
                                                        weight=T.ones(3)),
    "kl_div reduction": lambda nn, F, T: F.kl_div(T.ones(2), T.ones(2), reduction="foo"),
    "Dropout2d p>1": lambda nn, F, T: nn.Dropout2d(1.5),
    "dropout2d p<0": lambda nn, F, T: F.dropout2d(T.ones(1, 2, 3, 3), -0.1),
    "ZeroPad2d too long": lambda nn, F, T: nn.ZeroPad2d(1)(T.ones(3)),
    "pad odd": lambda nn, F, T: F.pad(T.ones(3, 3), (1, 2, 3)),
    "ParameterDict int key": lambda nn, F, T: nn.ParameterDict({1: nn.Parameter(T.ones(1))}),
    "ParameterDict dotted key": lambda nn, F, T: nn.ParameterDict({"a.b": nn.Parameter(T.ones(1))}),
    "ParameterDict missing": lambda nn, F, T: nn.ParameterDict()["z"],
    "ParameterList index": lambda nn, F, T: nn.ParameterList([nn.Parameter(T.ones(1))])[3],
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bad_arguments_raise_pytorch_errors(name: str) -> None:
    with pytest.raises(Exception) as theirs:
        ERRORS[name](torch.nn, torch.nn.functional, torch)
    with pytest.raises(Exception) as ours:
        ERRORS[name](sg.nn, sg.nn.functional, sg)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]


def test_kl_div_counts_0_log_0_as_0() -> None:
    log_probs, target = _log_probs((3, 4)), np.exp(_log_probs((3, 4)))
    target[0, 1] = 0.0
    for reduction in ("batchmean", "none"):
        x, t = sg.tensor(log_probs, requires_grad=True), torch.tensor(log_probs, requires_grad=True)
        out = sg.nn.KLDivLoss(reduction=reduction)(x, sg.tensor(target))
        expected = torch.nn.KLDivLoss(reduction=reduction)(t, torch.tensor(target))
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
        out.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12)


def test_huber_and_kl_reject_what_pytorch_rejects_at_the_call() -> None:
    with pytest.raises(ValueError, match="batchmean is not a valid value for reduction"):
        sg.nn.functional.huber_loss(sg.ones(2), sg.ones(2), reduction="batchmean")
    with pytest.raises(ValueError, match="reduction"):  # stepgrad's losses check at once
        sg.nn.KLDivLoss(reduction="foo")


def test_new_names_are_exported() -> None:
    for name in ("ELU", "SELU", "CELU", "Softplus", "Softsign", "Hardtanh", "ReLU6", "Hardswish",
                 "Hardsigmoid", "Mish", "LogSigmoid", "Softmin", "PReLU", "GLU", "Tanhshrink",
                 "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool1d", "MaxPool1d",
                 "SmoothL1Loss", "HuberLoss", "KLDivLoss", "CosineSimilarity", "PairwiseDistance",
                 "ParameterList", "ParameterDict", "ZeroPad2d", "ConstantPad2d", "Dropout2d"):
        assert name in sg.nn.__all__ and hasattr(torch.nn, name)
    for name in ("selu", "celu", "softsign", "hardtanh", "relu6", "hardswish", "hardsigmoid",
                 "mish", "logsigmoid", "softmin", "prelu", "glu", "tanhshrink", "huber_loss",
                 "adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool1d", "max_pool1d",
                 "pairwise_distance", "dropout2d"):
        assert name in sg.nn.functional.__all__ and callable(getattr(sg.nn.functional, name))
