"""Lesson 5: softmax and cross-entropy on the 8x8 digits."""

from __future__ import annotations

import numpy as np

import stepgrad as sg
from stepgrad.lessons import datasets
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, patch_op
from stepgrad.lessons.diagnosis import FORWARD, Concept, backward, op_named
from stepgrad.lessons.models import MLP
from stepgrad.lessons.quiz import grad_value
from stepgrad.lessons.training import train as train_loop
from stepgrad.nn import functional as F

TEXT = """\
Ten classes of handwritten digits, 8x8 pixels. The network gives ten scores (*logits*) z
per image; softmax turns them into probabilities and cross-entropy scores the true class:

    p_i = e**z_i / sum_j e**z_j             log p_i = z_i - log sum_j e**z_j
    loss = -mean over the batch of log p[target]

**The max trick.** float32 overflows past e**88.7: a logit of 90 gives inf, and inf/inf is
NaN. Softmax does not change when the same number is subtracted from every logit, so a
correct implementation subtracts the largest one first (then every exponent is <= 0):

    log p_i = (z_i - m) - log sum_j e**(z_j - m),   m = max_j z_j

**The gradient.** d loss / d z = (p - one_hot(target)) / N for a batch of N: the 1/N comes
from the *mean*. Summing instead of averaging makes every gradient N times larger, which
for SGD is the same as an N times larger learning rate.

This lesson's network caps its logits with a scaled tanh (a sharp "logit soft-cap"), so
they live in [-100, 100] and a confident network pushes them towards the ends:

    logits = 100 * tanh(mlp(x))            mlp: 64 -> 64 (ReLU) -> 10
    loss = -(log_softmax(logits)[range(N), y]).mean()

**In PyTorch**: `F.log_softmax(z, dim=1)` and `F.nll_loss`, or both at once with
`F.cross_entropy(z, y)`, which averages over the batch (`reduction="mean"`).

**Your task.** Healthy training reaches 95% test accuracy in 15 epochs of SGD. With the
bug it does not. `break nan` and the gradient norm at the iteration markers are your
friends; find the broken op and `diagnose` it.
"""

CAP, LR, MOMENTUM, EPOCHS, BATCH = 100.0, 0.002, 0.9, 15, 32
TARGET_ACCURACY = 0.95


class CappedMLP(sg.nn.Module):
    """logits = cap * tanh(mlp(x)): bounded scores in [-cap, cap]."""

    def __init__(self, cap: float = CAP) -> None:
        super().__init__()
        self.mlp = MLP([64, 64, 10])
        self.cap = cap

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        return self.mlp(x).tanh() * self.cap


def nll(logits: sg.Tensor, target: np.ndarray) -> sg.Tensor:
    """Mean negative log-likelihood, written out: log_softmax, pick the target, mean."""
    log_probs = F.log_softmax(logits, dim=1)
    return -(log_probs[np.arange(len(target)), target]).mean()


def train(hooks: Hooks, seed: int) -> RunResult:
    model = CappedMLP()
    optimizer = sg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    return train_loop(model, optimizer, datasets.load_digits(seed=0), EPOCHS, BATCH, hooks,
                      nll, seed=seed)


def reached(result: RunResult) -> bool:
    return result.metric("test_accuracy") >= TARGET_ACCURACY


# -- the bugs -------------------------------------------------------------------------------

def log_softmax_without_max(ctx: sg.Context, a: np.ndarray, axis: int = -1) -> np.ndarray:
    """BUG: log of a softmax computed without subtracting the max first."""
    e = np.exp(a)
    ctx.out, ctx.axis = np.log(e / e.sum(axis=axis, keepdims=True)), axis
    return ctx.out


def mean_backward_not_divided(ctx: sg.Context, grad: np.ndarray) -> tuple:
    """BUG: spreads the gradient over the reduced elements without dividing by their count."""
    if ctx.axis is None:
        spread = grad.reshape((1,) * len(ctx.shape))
    elif ctx.keepdims:
        spread = grad
    else:
        axes = tuple(int(a) % len(ctx.shape) for a in np.atleast_1d(ctx.axis))
        spread = np.expand_dims(grad, axes)
    return (np.broadcast_to(spread, ctx.shape),)


NO_MAX = Bug(
    id="softmax-no-max",
    title="log_softmax exponentiates the logits without subtracting their max",
    kind="op", op="log_softmax",
    inject=patch_op("log_softmax", forward=log_softmax_without_max),
    symptom="The loss falls at first, then becomes NaN (or inf) within the first epoch.",
    hints=(
        "`break nan` and continue: which node is the first to produce a NaN or an inf?",
        "The logits going in are finite (at most 100). The node after them is not.",
        "float32's e**x overflows to inf for x > 88.7. What keeps softmax's exponents small?",
        "log_softmax's forward computes log(e**z / sum e**z) without subtracting max(z) "
        "first.",
    ),
    answers=("log_softmax forward", "softmax without max"),
    concepts=(op_named("log_softmax", "logit"),
              Concept((*FORWARD.phrases, "max", "overflow", "subtract", "stable", "stability",
                       "nan", "inf", "large", "exp"), FORWARD.ask, FORWARD.wrong)),
    explanation="e**z overflows float32 when z > 88.7, and the logits here reach 100, so the "
                "naive log(e**z / sum e**z) gives inf / inf = NaN. Subtracting the row's max "
                "first changes nothing mathematically and keeps every exponent <= 0. The fix: "
                "`shifted = a - a.max(axis, keepdims=True); out = shifted - "
                "log(exp(shifted).sum(axis, keepdims=True))`.",
    shows=lambda r: not r.finite,
)

MEAN_NOT_DIVIDED = Bug(
    id="mean-not-divided",
    title="the loss's mean does not divide its gradient by the batch size",
    kind="op", op="mean",
    inject=patch_op("mean", backward=mean_backward_not_divided),
    symptom="From the first iteration the gradient norm is in the thousands (a healthy run "
            "starts at one or two hundred); the loss jumps up and stays high, and test "
            "accuracy falls to chance.",
    hints=(
        "Compare `grad_norm` at the first iteration marker with a healthy run's (one or two "
        "hundred here, because the logits are scaled by 100).",
        "The gradient is too big by exactly the batch size, 32. Which node is the first "
        "one in backward whose output gradient is too big?",
        "The loss is a mean over the batch: d mean / d x_i = 1/N. `gradcheck` the mean node.",
        "mean's backward broadcasts the upstream gradient without dividing it by N.",
    ),
    answers=("mean backward", "mean backward not divided by batch size"),
    concepts=(op_named("mean", "batch size", "loss"),
              backward("divide", "division", "batch size", "average", "scale", "n")),
    explanation="The loss is the mean over N examples, so each example's share of the "
                "gradient is 1/N. The broken backward sent the full upstream gradient to every "
                "element: a gradient N times too large, i.e. SGD with a 32 times larger "
                "learning rate, which throws the network into tanh's flat, saturated region. "
                "The fix: divide by the number of reduced elements.",
    shows=lambda r: r.finite and r.grad_norms[0] > 1000 and not reached(r),
)

QUESTIONS = (
    grad_value(
        "mean", 0, "{name} = mean of {n} numbers receives upstream gradient {u0}. What "
        "gradient does each of the {n} numbers receive?",
        "d mean / d x_i = 1 / n: each number gets upstream / n, so the loss's gradient "
        "does not grow with the batch size."),
    grad_value(
        "log_softmax", 0, "row 0 of {name}'s upstream gradient is in the debugger "
        "(`p grad[0]`). What do the 10 gradients that row 0 of its input receives add up to?",
        "log_softmax's backward is grad - softmax * grad.sum(): every row sums to 0, "
        "because adding a constant to all logits changes no probability.",
        pick=lambda g: float(g[0].sum())),
)

LESSON = Lesson(
    number=5, slug="softmax_digits", title="Softmax and cross-entropy on the digits",
    text=TEXT,
    goals=("Derive d loss / d logits = (softmax - one_hot) / N",
           "Explain why softmax subtracts the max, and spot an overflow with `break nan`",
           "Tell a gradient that is N times too large by its norm"),
    data="UCI handwritten digits, 8x8 pixels scaled to [0, 1]: 1,438 train, 359 test",
    model=f"logits = {CAP:g} * tanh(MLP 64-64-10), log_softmax + mean NLL, SGD lr {LR} "
          f"momentum {MOMENTUM}, batch {BATCH}, {EPOCHS} epochs",
    target=f"test accuracy >= {TARGET_ACCURACY:.0%}",
    bugs=(NO_MAX, MEAN_NOT_DIVIDED),
    train=train, reached=reached,
    questions=QUESTIONS,
)
