"""stepgrad.optim against torch.optim: the same gradients give the same weights, step by
step, for every optimizer and option; schedulers give torch's lr at every epoch."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import stepgrad as sg
import stepgrad.optim as optim
from stepgrad.optim import lr_scheduler

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

CONFIGS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd-nesterov-decay": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    "sgd-dampening-maximize": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, maximize=True)),
    "adam-amsgrad": ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw-amsgrad": ("AdamW", dict(lr=0.02, betas=(0.8, 0.95), weight_decay=0.3, amsgrad=True)),
    "rmsprop-centered": ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5)),
    "adagrad": ("Adagrad", dict(lr=0.1)),
    "adagrad-options": ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1,
                                        initial_accumulator_value=0.2)),
    "adadelta": ("Adadelta", dict()),
    "adadelta-options": ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
}

SHAPES = [(3, 4), (4,)]


def _pair(kind: str, options: dict, groups: bool = False) -> tuple:
    """Ours and torch's optimizer over the same float64 weights (two groups if asked)."""
    rng = np.random.default_rng(1)
    start = [rng.standard_normal(shape) for shape in SHAPES]
    ours = [sg.nn.Parameter(w.copy()) for w in start]
    theirs = [torch.nn.Parameter(torch.tensor(w)) for w in start]
    if groups:  # the second group has its own lr
        ours = [{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.003}]
        theirs = [{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.003}]
    return getattr(optim, kind)(ours, **options), getattr(torch.optim, kind)(theirs, **options)


def _steps(opt: optim.Optimizer, torch_opt, n: int, seed: int = 2) -> None:
    """n steps of both optimizers on the same random gradients (set as .grad directly)."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        for p, q in zip(opt.parameters(), _torch_params(torch_opt)):
            g = rng.standard_normal(p.shape)
            p.grad, q.grad = sg.Tensor(g), torch.tensor(g)
        opt.step()
        torch_opt.step()


def _torch_params(torch_opt) -> list:
    return [p for group in torch_opt.param_groups for p in group["params"]]


def _assert_same_weights(opt: optim.Optimizer, torch_opt, what: str) -> None:
    for i, (p, q) in enumerate(zip(opt.parameters(), _torch_params(torch_opt))):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=f"{what}: parameter {i}")


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_update_matches_torch_on_the_same_gradients(config: str) -> None:
    kind, options = CONFIGS[config]
    opt, torch_opt = _pair(kind, options, groups=True)
    _steps(opt, torch_opt, 25)
    _assert_same_weights(opt, torch_opt, f"{config} after 25 steps")
    assert opt.param_groups[1]["lr"] == 0.003 and opt.param_groups[0]["lr"] == options.get(
        "lr", opt.defaults["lr"])


def test_a_parameter_without_grad_is_skipped_and_zero_grad_sets_none() -> None:
    opt, _ = _pair("SGD", dict(lr=0.1))
    before = [p.data.copy() for p in opt.parameters()]
    opt.step()  # no gradients yet: nothing moves
    for p, b in zip(opt.parameters(), before):
        np.testing.assert_array_equal(p.data, b)
    for p in opt.parameters():
        p.grad = sg.Tensor(np.ones(p.shape))
    opt.zero_grad(set_to_none=False)
    assert all(np.asarray(p.grad).shape == p.shape and not np.asarray(p.grad).any()
               for p in opt.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in opt.parameters())


def test_state_is_keyed_by_parameter_and_survives_a_state_dict_round_trip() -> None:
    opt, torch_opt = _pair("Adam", dict(lr=0.05))
    _steps(opt, torch_opt, 3)
    first = opt.parameters()[0]
    assert opt.state[first]["step"] == 3 and opt.state[first]["exp_avg"].shape == first.shape
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0, 1] and set(saved["state"]) == {0, 1}
    exp_avg = saved["state"][0]["exp_avg"]
    assert isinstance(exp_avg, sg.Tensor) and exp_avg.shape == first.shape  # as in PyTorch
    np.testing.assert_array_equal(exp_avg.data, opt.state[first]["exp_avg"])
    resumed = optim.Adam(opt.parameters(), lr=0.5)
    resumed.load_state_dict(saved)
    exp_avg.data[...] = 0  # copies both ways: neither optimizer's state changes
    assert opt.state[first]["exp_avg"].any() and resumed.state[first]["exp_avg"].any()
    assert resumed.param_groups[0]["lr"] == 0.05
    _steps(resumed, torch_opt, 4, seed=3)
    _assert_same_weights(resumed, torch_opt, "resumed from our state_dict")


def test_loads_torch_optimizer_state_dict() -> None:
    opt, torch_opt = _pair("SGD", dict(lr=0.05, momentum=0.9))
    _steps(opt, torch_opt, 3)
    fresh = optim.SGD(opt.parameters(), lr=1.0, momentum=0.9)
    fresh.load_state_dict(torch_opt.state_dict())
    _steps(fresh, torch_opt, 3, seed=4)
    _assert_same_weights(fresh, torch_opt, "resumed from torch's state_dict")


def test_add_param_group_and_bad_parameters() -> None:
    a, b = sg.nn.Parameter(np.ones(2)), sg.nn.Parameter(np.ones(3))
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert opt.param_groups[1]["momentum"] == 0.9  # unset options take the defaults
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="iterable of tensors"):
        optim.SGD(a, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="must be tensors, got ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)


def test_closure_is_called_and_its_loss_returned() -> None:
    w = sg.nn.Parameter(np.array([3.0]))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and w.data[0] == pytest.approx(3.0 - 0.25 * 6.0)


# -- schedulers ---------------------------------------------------------------------------------
SCHEDULERS: dict[str, Callable] = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda epoch: 1 / (1 + epoch)),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=5, eta_min=0.01),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_matches_torch_every_epoch(name: str) -> None:
    opt, torch_opt = _pair("SGD", dict(lr=0.1, momentum=0.9), groups=True)
    ours = SCHEDULERS[name](lr_scheduler, opt)
    theirs = SCHEDULERS[name](torch.optim.lr_scheduler, torch_opt)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr())
    for epoch in range(16):
        _steps(opt, torch_opt, 1, seed=epoch)
        ours.step()
        theirs.step()
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12), epoch
        assert [g["lr"] for g in opt.param_groups] == ours.get_last_lr()
    _assert_same_weights(opt, torch_opt, f"{name} after 16 epochs")
    assert ours.state_dict()["last_epoch"] == theirs.state_dict()["last_epoch"] == 16


@pytest.mark.parametrize("options", [dict(), dict(mode="max", factor=0.5, patience=1,
                                                   threshold=0.1, threshold_mode="abs",
                                                   cooldown=2, min_lr=0.02)])
def test_reduce_lr_on_plateau_matches_torch(options: dict) -> None:
    opt, torch_opt = _pair("SGD", dict(lr=0.1))
    ours = lr_scheduler.ReduceLROnPlateau(opt, **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **options)
    metrics = [1.0, 0.9, 0.95, 0.9, 0.9, 0.91] * 5 + [0.5] + [0.6] * 15
    for epoch, metric in enumerate(metrics):
        ours.step(sg.Tensor(np.array(metric)))
        theirs.step(metric)
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr()), epoch
    assert ours.get_last_lr() != [0.1]  # the schedule did reduce


def test_scheduler_errors_say_what_to_do() -> None:
    opt, _ = _pair("SGD", dict(lr=0.1))
    with pytest.raises(TypeError, match="expected an optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=2.0)
    with pytest.raises(ValueError, match="expected 1 lr_lambdas"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0, lambda e: 2.0])


def test_a_missing_optimizer_or_scheduler_names_itself() -> None:
    with pytest.raises(AttributeError, match="torch.optim.LBFGS is outside stepgrad's course"):
        optim.LBFGS  # noqa: B018
    with pytest.raises(AttributeError, match="lr_scheduler.MultiplicativeLR is outside stepgr"):
        lr_scheduler.MultiplicativeLR  # noqa: B018
    from stepgrad.optim.lr_scheduler import StepLR

    assert StepLR is lr_scheduler.StepLR and optim.lr_scheduler is lr_scheduler


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_recorded_history_stays_true_across_steps(kind: str) -> None:
    """A step gives each weight a new array: what the debugger recorded keeps the old values,
    and each OptimizerStep's update is exactly the change the weight saw."""
    w = sg.nn.Parameter(np.array([1.0, -2.0]))
    opt = getattr(optim, kind)([w], lr=0.1)
    seen = []
    with sg.trace() as t:
        for _ in range(3):
            seen.append(w.data.copy())
            opt.zero_grad()
            (w * w).sum().backward()
            opt.step()
    uses = [e for e in t.of_kind("forward") if w.name in e.input_names]
    for event, before in zip(uses, seen):
        np.testing.assert_array_equal(event.inputs[event.input_names.index(w.name)], before)
    steps = t.of_kind("optimizer_step")
    assert [s.step for s in steps] == [1, 2, 3] and [s.optimizer for s in steps] == [kind] * 3
    for step, before, after in zip(steps, seen, seen[1:] + [w.data]):
        np.testing.assert_allclose(step.params[0].update, after - before, atol=1e-15)
        np.testing.assert_array_equal(step.params[0].grad, 2 * before)
    assert [e.kind for e in t.events].count("zero_grad") == 3
