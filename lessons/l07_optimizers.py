"""Lesson 7: optimizers, stepped through. SGD with momentum, then Adam, on the spirals.

The two bugs live in the optimizers' update rules, not in any op: each is injected by
swapping an optimizer class's `_update` inside a `with` block (`swap_attribute`), and the
original comes back when the block ends, so no file is edited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad.lessons import datasets, models, training
from stepgrad.lessons.base import Bug, Hooks, Injector, Lesson, RunResult, use_hooks
from stepgrad.lessons.diagnosis import concept
from stepgrad.lessons.fixing import Code
from stepgrad.lessons.quiz import first_step

SGD_LR, ADAM_LR, MOMENTUM = 0.05, 0.03, 0.9
EPOCHS, BATCH = 60, 32
TARGET = 0.90

TEXT = """\
`loss.backward()` fills every `.grad`; `optimizer.step()` decides what to do with them. This
lesson trains the same small network twice on three interleaved spirals: first with **SGD with
momentum**, then with **Adam**, and you step through their updates (`OptimizerStep` events show,
for every parameter, its grad, its update and the update-to-weight ratio).

## SGD with momentum

Plain SGD moves each weight against its gradient, `w -= lr * g`. Momentum keeps a running
*velocity* per weight, a buffer that remembers past gradients:

    buf = momentum * buf + g          # buf survives from one step to the next
    w  -= lr * buf

With `momentum = 0.9` a gradient that keeps pointing the same way is added up about
`1 / (1 - 0.9) = 10` times, so progress along a long gentle valley is ten times faster,
while gradients that flip sign from step to step cancel out. The buffer is the optimizer's
*state*: `optimizer.state` holds one per parameter.

## Adam

Adam keeps two running averages per weight, of the gradient (`m`, first moment) and of its
square (`v`, second moment), and divides one by the square root of the other:

    m = b1 * m + (1 - b1) * g                 # b1 = 0.9
    v = b2 * v + (1 - b2) * g**2              # b2 = 0.999
    m_hat = m / (1 - b1**t)                   # bias correction, t = step number (1, 2, ...)
    v_hat = v / (1 - b2**t)
    w -= lr * m_hat / (sqrt(v_hat) + eps)

`m` and `v` start at 0, so in the first steps they are far too small: after one step
`m = 0.1 g` and `v = 0.001 g**2`. Dividing by `1 - b**t` undoes exactly that shrinkage,
which makes **the first update `lr * g / |g|`: every weight moves by `lr`**, and later ones
stay around `lr` or below. That is a property you can check while stepping.

## What is on the screen, in PyTorch

    model = MLP([2, 64, 64, 3], activation="tanh")         # nn.Sequential of Linear/Tanh
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    # ... 60 epochs, then a fresh model with
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()          # stepgrad: an OptimizerStep event per step

Both phases emit the usual iteration and epoch markers; their counters start again
at 0 for the Adam phase, whose iteration markers carry `adam=1` and `step_over_lr`, the
largest `|update| / lr` of that step (Adam keeps it near 1 or below).
"""

GOALS = (
    "Read an OptimizerStep: each parameter's grad, update and update-to-weight ratio",
    "Explain what a momentum buffer remembers and why it speeds SGD up 1/(1 - momentum) times",
    "Explain Adam's bias correction and predict the size of its first update (lr per weight)",
)


# -- injecting optimizer bugs ----------------------------------------------------------------

@contextlib.contextmanager
def swap_attribute(owner: Any, name: str, value: Any) -> Iterator[Any]:
    """Set `owner.name = value` inside the block and put the original back afterwards."""
    saved = owner.__dict__[name]
    setattr(owner, name, value)
    try:
        yield owner
    finally:
        setattr(owner, name, saved)


def patch_attribute(owner: Any, name: str, value: Any) -> Injector:
    """An injector that swaps `owner.name` (a class's method) for `value`, reversibly.

    It also marks the swap in the hooks in force (flag "patched: Owner.name"), so
    `base.injected()` knows a bug is in place, as it does for patched ops."""
    flag = f"patched: {getattr(owner, '__name__', owner)}.{name}"

    def inject() -> contextlib.AbstractContextManager[Any]:
        stack = contextlib.ExitStack()
        with stack:
            stack.enter_context(swap_attribute(owner, name, value))
            stack.enter_context(use_hooks(flags={flag: True}))
            return stack.pop_all()

    return inject


def patch_update(optimizer_class: type[sg.optim.Optimizer], update: Any) -> Injector:
    """An injector that replaces an optimizer class's update rule `_update(weight, grad,
    state, group) -> change` for every instance, reversibly."""
    return patch_attribute(optimizer_class, "_update", update)


# -- the bugs ------------------------------------------------------------------------------------

def adam_update_without_bias_correction(self: sg.optim.Adam, weight: np.ndarray, grad: np.ndarray,
                                        state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
    """Adam's update with the bias corrections 1 - b**t replaced by the constant 1."""
    g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
    (b1, b2), t = group["betas"], state.get("step", 0) + 1
    m = b1 * state.get("exp_avg", 0) + (1 - b1) * g
    v = b2 * state.get("exp_avg_sq", 0) + (1 - b2) * g * g
    state.update(step=t, exp_avg=m, exp_avg_sq=v)
    bias_correction1, bias_correction2 = 1.0, 1.0  # BUG: should be 1 - b1**t and 1 - b2**t
    denom = np.sqrt(v) / np.sqrt(bias_correction2) + group["eps"]
    return -(group["lr"] / bias_correction1) * m / denom


def sgd_update_forgetting_momentum(self: sg.optim.SGD, weight: np.ndarray, grad: np.ndarray,
                                   state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
    """SGD's update with a momentum buffer that starts afresh at every step."""
    g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
    momentum = group["momentum"]
    if momentum:
        buf = g.copy()  # BUG: should be momentum * state["momentum_buffer"] + (1 - dampening) * g
        state["momentum_buffer"] = buf
        g = g + momentum * buf if group["nesterov"] else buf
    return -group["lr"] * g


ADAM_NO_BIAS_CORRECTION = Bug(
    id="adam-no-bias-correction",
    title="Adam divides by the constant 1 instead of the bias correction 1 - beta**t",
    kind="loop",
    inject=patch_update(sg.optim.Adam, adam_update_without_bias_correction),
    symptom="In the Adam phase the loss leaps up in the first epoch (to about 4, four "
            "times its starting 1.1) before it comes down; the SGD phase is healthy.",
    hints=(
        "The SGD phase is fine; look at the Adam phase. Stop at its first OptimizerStep.",
        "Adam's first update should move every weight by about lr (m_hat / sqrt(v_hat) = g / |g| "
        "at t = 1). Compare the update with lr: it is about 3.2 times larger.",
        "After one step m = 0.1 g and v = 0.001 g**2, so m / sqrt(v) = 3.16 g / |g|. Which part "
        "of Adam's update is there to undo the fact that m and v start at zero?",
        "Look at the bias correction in Adam's update: m_hat = m / (1 - b1**t), "
        "v_hat = v / (1 - b2**t).",
    ),
    answers=("adam bias correction", "adam bias correction missing"),
    concepts=(concept("adam", "optimizer", "first moment", "second moment", "m hat", "v hat"),
              concept("bias correct", "correct", "1 beta", "beta", "m hat", "v hat",
                      "warm up", "first step", "too big", "too large",
                      ask="what is wrong with Adam's update?")),
    code=Code("_update", adam_update_without_bias_correction,
              lambda fn: patch_update(sg.optim.Adam, fn)),
    explanation="Adam's moments m and v start at 0, so early on they are biased towards 0: after "
                "t steps of a constant gradient g, m = (1 - b1**t) g and v = (1 - b2**t) g**2. "
                "Dividing by (1 - b1**t) and (1 - b2**t) removes that bias. With the constant 1 "
                "instead, the update is lr * (1 - b1**t) / sqrt(1 - b2**t) per unit gradient: "
                "3.2 x lr at step 1 and about 6.5 x lr at step 10, shrinking to lr only after "
                "thousands of steps. Those too-large first steps throw the weights far off, "
                "and the loss jumps. Fix: bias_correction1 = 1 - b1**t, "
                "bias_correction2 = 1 - b2**t (torch.optim.Adam does exactly this).",
    shows=lambda r: r.extra.get("adam_first_step_over_lr", 0.0) > 2.0
    and r.extra.get("adam_peak_loss", 0.0) > 3.0,
)

MOMENTUM_RESET = Bug(
    id="momentum-buffer-reset",
    title="SGD's momentum buffer is recreated at every step instead of carried over",
    kind="loop",
    inject=patch_update(sg.optim.SGD, sgd_update_forgetting_momentum),
    symptom="The SGD phase stalls: after 60 epochs its test accuracy is about 35% "
            "(chance is 33%) and its loss stays near 1.0, while the Adam phase reaches 99%.",
    hints=(
        "Adam trains well and SGD does not, on the same model and data: the difference is in "
        "the optimizer.",
        "Stop at an OptimizerStep of the SGD phase and compare each update with the grad. "
        "What is update / grad?",
        "update = -lr * grad exactly, as if momentum were 0. With momentum 0.9 the update should "
        "also carry about nine tenths of the previous update.",
        "Look at optimizer.state: what happens to the momentum buffer between two steps?",
    ),
    answers=("sgd momentum buffer reset", "momentum buffer"),
    concepts=(concept("sgd", "momentum", "velocity", "buffer"),
              concept("momentum", "buffer", "velocity", "reset", "recreate", "forget",
                      "zero", "plain", ask="what is wrong with SGD's update?")),
    code=Code("_update", sgd_update_forgetting_momentum,
              lambda fn: patch_update(sg.optim.SGD, fn)),
    explanation="The momentum buffer is state: buf = momentum * buf + g must use the buffer left "
                "by the previous step. Recreating it as buf = g at every step turns SGD with "
                "momentum into plain SGD, ten times slower (momentum 0.9 sums a steady gradient "
                "about 1 / (1 - 0.9) = 10 times), so in the same 60 epochs it barely moves. "
                "Fix: read state['momentum_buffer'] when it exists (torch.optim.SGD keeps it in "
                "optimizer.state[p]['momentum_buffer']).",
    shows=lambda r: r.metric("sgd_test_accuracy") < 0.6,
)


# -- the run ---------------------------------------------------------------------------------------

def spirals() -> datasets.Dataset:
    """480 training and 120 test points on three spiral arms."""
    return datasets.spirals(n=600, seed=0)


def build_model() -> models.MLP:
    return models.mlp([2, 64, 64, 3], activation="tanh")


class StepWatch:
    """Measures each step's largest |update| / lr: `hooks(h)` snapshots the weights after
    backward (before the step), and calling it with the model after the step gives the
    iteration metric `step_over_lr` (Adam keeps it near 1 or below)."""

    def __init__(self, optimizer: sg.optim.Optimizer) -> None:
        self.optimizer = optimizer
        self.before: list[np.ndarray] = []
        self.ratios: list[float] = []

    def hooks(self, hooks: Hooks) -> Hooks:
        """`hooks` with an after_backward that also snapshots the weights."""
        chained = hooks.after_backward

        def after_backward(model: sg.nn.Module) -> None:
            if chained is not None:
                chained(model)
            self.before = [p.data.copy() for p in model.parameters()]

        return replace(hooks, after_backward=after_backward)

    def __call__(self, model: sg.nn.Module) -> dict[str, float]:
        moved = [float(np.abs(p.data - b).max()) for p, b in zip(model.parameters(), self.before)]
        lr = abs(self.optimizer.lr)
        self.ratios.append(max(moved, default=0.0) / lr if lr else 0.0)
        return {"adam": 1.0, "step_over_lr": self.ratios[-1]}


def train(hooks: Hooks, seed: int) -> RunResult:
    """Phase 1: SGD with momentum; phase 2: Adam on a fresh model. Both on the spirals."""
    data = spirals()
    result = RunResult()
    sgd_model = build_model()
    sgd = training.train(sgd_model, sg.optim.SGD(sgd_model.parameters(), lr=SGD_LR,
                                                 momentum=MOMENTUM),
                         data, EPOCHS, BATCH, hooks, seed=seed)
    adam_model = build_model()
    adam_opt = sg.optim.Adam(adam_model.parameters(), lr=ADAM_LR)
    watch = StepWatch(adam_opt)
    adam = training.train(adam_model, adam_opt, data, EPOCHS, BATCH, watch.hooks(hooks),
                          seed=seed, iteration_metrics=watch,
                          first_iteration=len(sgd.losses), first_epoch=len(sgd.history))
    result.losses = sgd.losses + adam.losses
    result.grad_norms = sgd.grad_norms + adam.grad_norms
    result.history = [{**h, "adam": 0.0} for h in sgd.history] + \
                     [{**h, "adam": 1.0} for h in adam.history]
    result.stopped = sgd.stopped or adam.stopped
    result.metrics = {**{f"sgd_{k}": v for k, v in sgd.metrics.items()},
                      **{f"adam_{k}": v for k, v in adam.metrics.items()}}
    result.metrics["test_accuracy"] = min(result.metric("sgd_test_accuracy"),
                                          result.metric("adam_test_accuracy"))
    result.extra.update(
        sgd_losses=sgd.losses, adam_losses=adam.losses,
        adam_first_step_over_lr=watch.ratios[0] if watch.ratios else 0.0,
        adam_peak_loss=max(adam.losses[1:50], default=0.0))
    return result


QUESTIONS = (
    first_step(
        "SGD", "the first SGD step (momentum 0.9, lr {lr}): {param} has gradient {g}. "
        "By how much will this step change {param}?",
        "On the first step the momentum buffer is just the gradient, so the change is "
        "-lr * grad; later steps add 0.9 times the previous change.",
        truth=lambda g, lr: -abs(lr) * g),
    first_step(
        "Adam", "Adam's first step (lr {lr}): {param} has gradient {g}. How many times "
        "lr will {param} move (|change| / lr)?",
        "With the bias correction, m_hat = g and v_hat = g**2 at step 1, so the step is "
        "lr * g / |g|: exactly lr, whatever the gradient's size.",
        truth=lambda g, lr: 1.0 if g else 0.0),
)

LESSON = Lesson(
    number=7, slug="optimizers", title="Optimizers, stepped through",
    text=TEXT, goals=GOALS,
    data="spirals: 3 arms, 480 training and 120 test points in the plane",
    model="MLP 2-64-64-3 with tanh, trained twice: SGD (lr 0.05, momentum 0.9), "
          "then Adam (lr 0.03)",
    target="both optimizers reach >= 90% test accuracy in 60 epochs",
    bugs=(ADAM_NO_BIAS_CORRECTION, MOMENTUM_RESET),
    train=train,
    reached=lambda r: r.metric("sgd_test_accuracy") >= TARGET
    and r.metric("adam_test_accuracy") >= TARGET,
    questions=QUESTIONS,
)

__all__ = ["ADAM_NO_BIAS_CORRECTION", "LESSON", "MOMENTUM_RESET", "StepWatch",
           "adam_update_without_bias_correction", "patch_attribute", "patch_update",
           "sgd_update_forgetting_momentum", "swap_attribute"]
