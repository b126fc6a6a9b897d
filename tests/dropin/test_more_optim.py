"""Adamax, NAdam, RAdam and the warm-up, chained and cyclic lr schedulers against PyTorch:
the same model trained from the same weights ends at the same weights; every scheduler
gives torch's lr (and momentum) at every step, through state_dict round trips; the errors
and warnings are torch's."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest

import stepgrad as sg
import stepgrad.optim as optim
from stepgrad.optim import lr_scheduler

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

OPTIMIZERS = {
    "adamax": ("Adamax", dict()),
    "adamax-options": ("Adamax", dict(lr=0.01, betas=(0.3, 0.5), eps=1e-4, weight_decay=0.1,
                                      maximize=True)),
    "nadam": ("NAdam", dict()),
    "nadam-options": ("NAdam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1,
                                    momentum_decay=0.02, foreach=True)),
    "nadam-decoupled": ("NAdam", dict(lr=0.02, weight_decay=0.2, decoupled_weight_decay=True,
                                      maximize=True)),
    "radam": ("RAdam", dict()),
    "radam-options": ("RAdam", dict(lr=0.01, betas=(0.6, 0.9), eps=1e-6, weight_decay=0.1)),
    "radam-decoupled": ("RAdam", dict(lr=0.03, weight_decay=0.3, decoupled_weight_decay=True)),
}


def _model_weights(dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shapes = [(4, 8), (8,), (8, 3), (3,)]
    return [rng.standard_normal(shape).astype(dtype) * 0.5 for shape in shapes]


def _loss(lib, params: list, x, y):
    """The same two-layer network, written once for both libraries."""
    w1, b1, w2, b2 = params
    out = lib.tanh(x @ w1 + b1) @ w2 + b2
    return ((out - y) ** 2).mean()


def _train(kind: str, options: dict, dtype: type, steps: int = 20, groups: bool = False):
    """Train the network in stepgrad and torch from the same weights on the same batches;
    returns both optimizers."""
    start = _model_weights(dtype)
    ours = [sg.nn.Parameter(w.copy()) for w in start]
    theirs = [torch.nn.Parameter(torch.tensor(w)) for w in start]
    if groups:  # the biases in a group of their own, with their own lr
        ours = [{"params": ours[::2]}, {"params": ours[1::2], "lr": 0.004}]
        theirs = [{"params": theirs[::2]}, {"params": theirs[1::2], "lr": 0.004}]
    opt = getattr(optim, kind)(ours, **options)
    torch_opt = getattr(torch.optim, kind)(theirs, **options)
    _run(opt, torch_opt, dtype, steps)
    return opt, torch_opt


def _run(opt, torch_opt, dtype: type, steps: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.standard_normal((16, 4)).astype(dtype)
        y = rng.standard_normal((16, 3)).astype(dtype)
        opt.zero_grad()
        torch_opt.zero_grad()
        _loss(sg, _params(opt), sg.tensor(x), sg.tensor(y)).backward()
        _loss(torch, _params(torch_opt), torch.tensor(x), torch.tensor(y)).backward()
        opt.step()
        torch_opt.step()


def _params(opt) -> list:
    """The parameters in the model's order (w1, b1, w2, b2), however they are grouped."""
    found = [p for group in opt.param_groups for p in group["params"]]
    return found if len(opt.param_groups) == 1 else [found[0], found[2], found[1], found[3]]


def _assert_same(opt, torch_opt, dtype: type, what: str) -> None:
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == np.float64 else dict(rtol=0, atol=1e-6)
    for i, (p, q) in enumerate(zip(_params(opt), _params(torch_opt))):
        assert p.data.dtype == dtype
        np.testing.assert_allclose(p.data, q.detach().numpy(), **tol, err_msg=f"{what}: param {i}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", sorted(OPTIMIZERS))
def test_training_matches_torch(config: str, dtype: type) -> None:
    kind, options = OPTIMIZERS[config]
    opt, torch_opt = _train(kind, options, dtype, groups=config.endswith("options"))
    _assert_same(opt, torch_opt, dtype, f"{config} after 20 steps")
    start = _model_weights(dtype)
    assert not np.allclose(_params(opt)[0].data, start[0], atol=1e-3)  # it did train


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", sorted(OPTIMIZERS))
def test_the_same_gradients_give_torchs_weights_to_the_last_bits(config: str,
                                                                 dtype: type) -> None:
    """Fed the very same gradients (not two engines' backward, which round differently),
    every setting stays within 10 ulps of torch over 30 steps (measured: 0 to 8), since the
    update rules round as PyTorch's do (NAdam's float32 mu_product included); what is left
    is torch's fused multiply-adds in lerp_ and addcmul_. RAdam in float64 is bit for bit."""
    kind, options = OPTIMIZERS[config]
    rng = np.random.default_rng(3)
    start = _model_weights(dtype)
    ours = [sg.nn.Parameter(w.copy()) for w in start]
    theirs = [torch.nn.Parameter(torch.tensor(w)) for w in start]
    opt = getattr(optim, kind)(ours, **options)
    torch_opt = getattr(torch.optim, kind)(theirs, **options)
    for _ in range(30):
        for p, q in zip(ours, theirs):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad, q.grad = sg.Tensor(g), torch.tensor(g)
        opt.step()
        torch_opt.step()
    for p, q in zip(ours, theirs):
        if (config, dtype) == ("radam", np.float64):
            np.testing.assert_array_equal(p.data, q.detach().numpy())
        np.testing.assert_array_max_ulp(p.data, q.detach().numpy(), maxulp=10)


@pytest.mark.parametrize("kind", ["Adamax", "NAdam", "RAdam"])
def test_param_groups_hold_torchs_options(kind: str) -> None:
    opt, torch_opt = _train(kind, dict(lr=0.01), np.float64, steps=1, groups=True)
    for ours, theirs in zip(opt.param_groups, torch_opt.param_groups):
        assert set(ours) == set(theirs)
        assert {k: v for k, v in ours.items() if k != "params"} == {
            k: v for k, v in theirs.items() if k != "params"}
    first = _params(opt)[0]
    assert sorted(opt.state[first]) == sorted(torch_opt.state[_params(torch_opt)[0]])


@pytest.mark.parametrize("config", ["adamax-options", "nadam-options", "radam"])
def test_state_dict_round_trips_ours_and_torchs(config: str) -> None:
    """Stopped after 8 steps and resumed (from our state_dict, and from torch's), training
    goes on exactly as the optimizer that never stopped."""
    kind, options = OPTIMIZERS[config]
    opt, torch_opt = _train(kind, options, np.float64, steps=8)
    lr = opt.param_groups[0]["lr"]
    for saved in (opt.state_dict(), torch_opt.state_dict()):
        fresh = getattr(optim, kind)(_params(opt), lr=0.5)
        fresh.load_state_dict(saved)
        assert fresh.param_groups[0]["lr"] == lr
        opt = fresh
    _run(opt, torch_opt, np.float64, 12, seed=5)
    _assert_same(opt, torch_opt, np.float64, f"{config} resumed")


BAD_OPTIONS = [dict(lr=-0.1), dict(eps=-1.0), dict(betas=(1.0, 0.9)), dict(betas=(0.9, -0.1)),
               dict(weight_decay=-0.01)]


@pytest.mark.parametrize("kind", ["Adamax", "NAdam", "RAdam"])
@pytest.mark.parametrize("bad", BAD_OPTIONS + [dict(momentum_decay=-1.0)])
def test_validation_errors_are_torchs(kind: str, bad: dict) -> None:
    if "momentum_decay" in bad and kind != "NAdam":
        return
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, kind)([torch.nn.Parameter(torch.ones(2))], **bad)
    with pytest.raises(ValueError) as ours:
        getattr(optim, kind)([sg.nn.Parameter(np.ones(2))], **bad)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("kind", ["Adamax", "NAdam", "RAdam"])
def test_capturable_and_differentiable_are_refused_in_one_line(kind: str) -> None:
    w = sg.nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match=f"^{kind}: capturable=True is for CUDA graphs"):
        getattr(optim, kind)([w], capturable=True)
    with pytest.raises(ValueError, match="differentiable=True .* not supported"):
        getattr(optim, kind)([w], differentiable=True)


def test_new_optimizers_emit_optimizer_steps_and_keep_recorded_arrays() -> None:
    w = sg.nn.Parameter(np.array([1.0, -2.0]))
    opt = optim.NAdam([w], lr=0.1)
    with sg.trace() as t:
        before = w.data
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()
    assert before is not w.data and before.tolist() == [1.0, -2.0]  # a new array, not a write
    (step,) = t.of_kind("optimizer_step")
    assert step.optimizer == "NAdam"
    np.testing.assert_allclose(step.params[0].update, w.data - before, atol=1e-15)


# -- schedulers ----------------------------------------------------------------------------------
SCHEDULERS: dict[str, tuple[str, Callable]] = {
    "LinearLR": ("SGD", lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=12)),
    "LinearLR-down": ("SGD", lambda m, o: m.LinearLR(o, 1.0, 0.25, total_iters=30)),
    "ConstantLR": ("SGD", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=7)),
    "PolynomialLR": ("SGD", lambda m, o: m.PolynomialLR(o, total_iters=40, power=2.0)),
    "SequentialLR": ("SGD", lambda m, o: m.SequentialLR(o, [
        m.LinearLR(o, start_factor=0.2, total_iters=5), m.ExponentialLR(o, gamma=0.9),
        m.CosineAnnealingLR(o, T_max=10, eta_min=0.001)], milestones=[5, 20])),
    "SequentialLR-step": ("SGD", lambda m, o: m.SequentialLR(o, [
        m.ConstantLR(o, factor=0.1, total_iters=3), m.StepLR(o, step_size=4, gamma=0.5),
        m.MultiStepLR(o, milestones=[3, 9], gamma=0.3)], milestones=[3, 25])),
    "ChainedScheduler": ("SGD", lambda m, o: m.ChainedScheduler([
        m.ConstantLR(o, factor=0.1, total_iters=2), m.ExponentialLR(o, gamma=0.95)])),
    "OneCycleLR-cos-sgd": ("SGD", lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.1],
                                                            total_steps=60)),
    "OneCycleLR-linear-adam": ("Adam", lambda m, o: m.OneCycleLR(
        o, max_lr=0.02, epochs=6, steps_per_epoch=10, pct_start=0.25,
        anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0,
        base_momentum=0.8, max_momentum=0.9)),
    "OneCycleLR-three-phase": ("NAdam", lambda m, o: m.OneCycleLR(
        o, max_lr=0.3, total_steps=61, three_phase=True, pct_start=0.4)),
    "OneCycleLR-no-momentum": ("Adagrad", lambda m, o: m.OneCycleLR(
        o, max_lr=0.3, total_steps=60, cycle_momentum=False)),
    "CyclicLR-triangular": ("SGD", lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2],
                                                           step_size_up=7)),
    "CyclicLR-triangular2": ("RMSprop", lambda m, o: m.CyclicLR(
        o, 0.001, 0.05, step_size_up=4, step_size_down=9, mode="triangular2")),
    "CyclicLR-exp-range-adam": ("Adam", lambda m, o: m.CyclicLR(
        o, 0.001, 0.01, step_size_up=5, mode="exp_range", gamma=0.97,
        base_momentum=0.7, max_momentum=0.95)),
    "CyclicLR-scale-fn": ("SGD", lambda m, o: m.CyclicLR(
        o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations",
        cycle_momentum=False)),
    "CosineAnnealingWarmRestarts": ("SGD", lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=5, eta_min=0.001)),
    "CosineAnnealingWarmRestarts-mult": ("SGD", lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01)),
}

OPTIONS = {"SGD": dict(lr=0.1, momentum=0.9), "Adam": dict(lr=0.01), "NAdam": dict(lr=0.01),
           "RMSprop": dict(lr=0.01, momentum=0.5), "Adagrad": dict(lr=0.1)}


def _scheduled(name: str):
    """Our and torch's optimizer (two groups, the second with lr 0.05) and scheduler."""
    kind, make = SCHEDULERS[name]
    start = _model_weights(np.float64)
    ours = [sg.nn.Parameter(w.copy()) for w in start]
    theirs = [torch.nn.Parameter(torch.tensor(w)) for w in start]
    ours = [{"params": ours[::2]}, {"params": ours[1::2], "lr": 0.05}]
    theirs = [{"params": theirs[::2]}, {"params": theirs[1::2], "lr": 0.05}]
    opt = getattr(optim, kind)(ours, **OPTIONS[kind])
    torch_opt = getattr(torch.optim, kind)(theirs, **OPTIONS[kind])
    return opt, torch_opt, make(lr_scheduler, opt), make(torch.optim.lr_scheduler, torch_opt)


def _assert_schedule_state(opt, torch_opt, ours, theirs, when: str) -> None:
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-15), when
    assert [g["lr"] for g in opt.param_groups] == ours.get_last_lr(), when
    for key in ("momentum", "betas"):
        if key in torch_opt.defaults:
            assert [g[key] for g in opt.param_groups] == pytest.approx(
                [g[key] for g in torch_opt.param_groups], rel=1e-12), f"{key} {when}"


def _step_both(opt, torch_opt, ours, theirs, steps: int, start: int) -> None:
    for i in range(start, start + steps):
        _run(opt, torch_opt, np.float64, 1, seed=i)
        ours.step()
        theirs.step()
        _assert_schedule_state(opt, torch_opt, ours, theirs, f"step {i + 1}")


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_matches_torch_for_60_steps_and_resumes(name: str) -> None:
    opt, torch_opt, ours, theirs = _scheduled(name)
    _assert_schedule_state(opt, torch_opt, ours, theirs, "at the start")
    _step_both(opt, torch_opt, ours, theirs, 25, 0)
    # stop after 25 and resume a fresh optimizer + scheduler from the two state_dicts
    saved_opt, saved, weights = opt.state_dict(), ours.state_dict(), _params(opt)
    opt, _, ours, _ = _scheduled(name)
    for p, w in zip(_params(opt), weights):  # as a checkpoint holds model.state_dict() too
        p.data = w.data
    opt.load_state_dict(saved_opt)
    ours.load_state_dict(saved)
    _assert_schedule_state(opt, torch_opt, ours, theirs, "resumed")
    _step_both(opt, torch_opt, ours, theirs, 35, 25)
    _assert_same(opt, torch_opt, np.float64, f"trained under {name}")
    if hasattr(theirs, "last_epoch"):
        assert ours.last_epoch == theirs.last_epoch


@pytest.mark.parametrize("name", ["LinearLR", "PolynomialLR", "OneCycleLR-cos-sgd",
                                  "CyclicLR-triangular2", "CosineAnnealingWarmRestarts-mult",
                                  "SequentialLR", "ChainedScheduler"])
def test_loads_torchs_scheduler_state_dict(name: str) -> None:
    opt, torch_opt, ours, theirs = _scheduled(name)
    _step_both(opt, torch_opt, ours, theirs, 17, 0)
    opt, _, ours, _ = _scheduled(name)
    for p, q in zip(_params(opt), _params(torch_opt)):
        p.data = q.detach().numpy().copy()
    opt.load_state_dict(torch_opt.state_dict())
    ours.load_state_dict(theirs.state_dict())
    _step_both(opt, torch_opt, ours, theirs, 20, 17)


def test_one_cycle_stepping_past_total_steps_raises_torchs_error() -> None:
    opt, torch_opt, ours, theirs = _scheduled("OneCycleLR-cos-sgd")
    _step_both(opt, torch_opt, ours, theirs, 60, 0)
    with pytest.raises(ValueError) as their_error:
        theirs.step()
    with pytest.raises(ValueError) as our_error:
        ours.step()
    assert str(our_error.value) == str(their_error.value) == (
        "Tried to step 61 times. The specified number of total steps is 60")


def test_warm_restarts_take_fractional_epochs() -> None:
    """step(epoch + i / iters) after each batch, as PyTorch's docs show, T_mult 1 and 2."""
    for t_mult in (1, 2):
        opt, torch_opt, _, _ = _scheduled("SequentialLR")
        ours = lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=t_mult,
                                                        eta_min=0.002)
        theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            torch_opt, T_0=2, T_mult=t_mult, eta_min=0.002)
        for epoch in range(12):
            for i in range(5):
                ours.step(epoch + i / 5)
                theirs.step(epoch + i / 5)
                assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)
                assert (ours.T_cur, ours.T_i, ours.last_epoch) == pytest.approx(
                    (theirs.T_cur, theirs.T_i, theirs.last_epoch))
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        ours.step(-1)


def test_step_with_an_epoch_warns_and_uses_the_closed_form() -> None:
    opt, torch_opt, _, _ = _scheduled("LinearLR")
    ours = lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=12)
    theirs = torch.optim.lr_scheduler.LinearLR(torch_opt, start_factor=0.1, total_iters=12)
    _run(opt, torch_opt, np.float64, 1)
    with pytest.warns(UserWarning) as their_warnings:
        theirs.step(7)
    with pytest.warns(UserWarning) as our_warnings:
        ours.step(7)
    assert [str(w.message) for w in our_warnings] == [str(w.message) for w in their_warnings]
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_scheduler_step_before_optimizer_step_warns_as_torch() -> None:
    opt, torch_opt, ours, theirs = _scheduled("ConstantLR")
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`") as their_warnings:
        theirs.step()
    with pytest.warns(UserWarning) as our_warnings:
        ours.step()
    assert [str(w.message) for w in our_warnings] == [str(w.message) for w in their_warnings]
    _run(opt, torch_opt, np.float64, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.step()  # once is enough, as in PyTorch


BAD_SCHEDULERS = {
    "ConstantLR factor": lambda m, o: m.ConstantLR(o, factor=1.5),
    "LinearLR start": lambda m, o: m.LinearLR(o, start_factor=0),
    "LinearLR end": lambda m, o: m.LinearLR(o, end_factor=2.0),
    "OneCycleLR no length": lambda m, o: m.OneCycleLR(o, max_lr=0.1),
    "OneCycleLR total_steps": lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=0),
    "OneCycleLR epochs": lambda m, o: m.OneCycleLR(o, max_lr=0.1, epochs=0, steps_per_epoch=3),
    "OneCycleLR steps_per_epoch": lambda m, o: m.OneCycleLR(o, 0.1, epochs=2,
                                                            steps_per_epoch=2.5),
    "OneCycleLR pct_start": lambda m, o: m.OneCycleLR(o, 0.1, 10, pct_start=1),
    "OneCycleLR anneal": lambda m, o: m.OneCycleLR(o, 0.1, 10, anneal_strategy="step"),
    "OneCycleLR max_lr list": lambda m, o: m.OneCycleLR(o, [0.1, 0.2, 0.3], 10),
    "OneCycleLR no momentum": lambda m, o: m.OneCycleLR(o, 0.1, 10),  # on Adagrad
    "CyclicLR mode": lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="sawtooth"),
    "Warm restarts T_0": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
    "Warm restarts T_mult": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5),
    "SequentialLR milestones": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o), m.ConstantLR(o)], milestones=[2, 4]),
    "SequentialLR plateau": lambda m, o: m.SequentialLR(o, [m.ReduceLROnPlateau(o)], []),
    "ChainedScheduler empty": lambda m, o: m.ChainedScheduler([]),
}


@pytest.mark.parametrize("name", sorted(BAD_SCHEDULERS))
def test_scheduler_errors_are_torchs(name: str) -> None:
    kind = "Adagrad" if name == "OneCycleLR no momentum" else "SGD"
    start = _model_weights(np.float64)
    opt = getattr(optim, kind)([{"params": [sg.nn.Parameter(start[0])]},
                                {"params": [sg.nn.Parameter(start[1])]}], lr=0.1)
    torch_opt = getattr(torch.optim, kind)([{"params": [torch.nn.Parameter(torch.ones(2))]},
                                            {"params": [torch.nn.Parameter(torch.ones(2))]}],
                                           lr=0.1)
    with pytest.raises((ValueError, TypeError)) as theirs:
        BAD_SCHEDULERS[name](torch.optim.lr_scheduler, torch_opt)
    with pytest.raises(theirs.type) as ours:
        BAD_SCHEDULERS[name](lr_scheduler, opt)
    assert str(ours.value) == str(theirs.value)


def test_composites_refuse_schedulers_of_another_optimizer() -> None:
    opt, other = (optim.SGD([sg.nn.Parameter(np.ones(2))], lr=0.1) for _ in range(2))
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optim"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.ConstantLR(other)], milestones=[])
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optim"):
        lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(opt),
                                       lr_scheduler.ConstantLR(other)])
