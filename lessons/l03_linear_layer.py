"""Lesson 3: one linear layer on a batch: broadcasting and the bias gradient."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

import stepgrad as sg
from stepgrad.lessons import datasets
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, patch_op
from stepgrad.lessons.diagnosis import BACKWARD, WHICH_LINEAR_PART, backward, concept, op_named
from stepgrad.lessons.quiz import grad_shape, grad_value
from stepgrad.lessons.training import train as train_loop

TEXT = """\
A linear layer maps a batch of inputs X (N rows, 4 features) to outputs Y (N rows, 2):

    Y = X @ W.T + b          W: (2, 4), as PyTorch stores it;  b: (2,)

The bias has one number per output, yet it is added to **every row**: numpy *broadcasts*
b from (2,) to (N, 2). Each of b's numbers was used N times, so (lesson 2) its gradient
is the sum of N contributions, one per row:

    dL/db = sum over rows of dL/dY                           shape (2,)
    dL/dW = (dL/dY).T @ X                                    shape (2, 4), like W
    dL/dX = dL/dY @ W                                        shape (N, 4), like X

A good habit: every gradient has the shape of the thing it is the gradient of. The shapes
alone tell you the order of a product: (2, N) @ (N, 4) is the only way to get (2, 4).

**In PyTorch**: `nn.Linear(4, 2)`, weight `(out_features, in_features)`; `F.linear(x, w, b)`.
In TensorFlow, `Dense` keeps the kernel the other way round, (in, out).

**Your task.** The layer learns a noisy linear map with mini-batch SGD and mean squared
error. Its backward has been broken. Step to the `linear` node's backward, compare each
gradient's shape and values with the formulas above (`gradcheck` the node), and `diagnose`.
"""

FEATURES, OUTPUTS = 4, 2
LR, EPOCHS, BATCH = 0.1, 30, 32
TARGET_MSE = 0.02


OFFSET = np.array([1.5, -2.0], dtype=np.float32)  # a bias worth learning


def load() -> datasets.Dataset:
    data = datasets.line(n=200, features=FEATURES, outputs=OUTPUTS, noise=0.1, seed=3)
    return replace(data, y=data.y + OFFSET, y_test=data.y_test + OFFSET)


def train(hooks: Hooks, seed: int) -> RunResult:
    model = sg.nn.Linear(FEATURES, OUTPUTS)
    optimizer = sg.optim.SGD(model.parameters(), lr=LR)
    return train_loop(model, optimizer, load(), EPOCHS, BATCH, hooks, seed=seed)


def reached(result: RunResult) -> bool:
    return result.metric("test_loss") < TARGET_MSE


# -- the bugs -------------------------------------------------------------------------------

def linear_backward_bias_first_row(ctx: sg.Context, grad: np.ndarray) -> tuple:
    """BUG: the bias gradient is the first row's only, not the sum over the batch."""
    rows = grad.reshape(-1, grad.shape[-1])
    grad_x = grad @ ctx.weight
    grad_w = rows.T @ ctx.x.reshape(-1, ctx.x.shape[-1])
    return grad_x, grad_w, rows[0]


def linear_backward_weight_transposed(ctx: sg.Context, grad: np.ndarray) -> tuple:
    """BUG: the weight gradient is X.T @ grad, (in, out), forced into W's (out, in) shape
    with a reshape instead of computed as grad.T @ X."""
    rows = grad.reshape(-1, grad.shape[-1])
    grad_x = grad @ ctx.weight
    grad_w = (ctx.x.reshape(-1, ctx.x.shape[-1]).T @ rows).reshape(ctx.weight.shape)
    return grad_x, grad_w, rows.sum(axis=0)


BIAS_FIRST_ROW = Bug(
    id="bias-first-row",
    title="the bias gradient takes the first row of the batch instead of summing all rows",
    kind="op", op="linear",
    inject=patch_op("linear", backward=linear_backward_bias_first_row),
    symptom="The loss comes down but stalls well above the target, and the learned "
            "bias ends far from the true one.",
    hints=(
        "Which parameter is not learning? Compare fc weight and bias from epoch to epoch.",
        "`gradcheck` the linear node: one of its three gradients disagrees with finite "
        "differences.",
        "The bias was broadcast over the N rows of the batch. How many rows should its "
        "gradient add up?",
        "linear's backward returns rows[0] for the bias instead of rows.sum(axis=0).",
    ),
    answers=("linear backward bias", "bias grad not summed"),
    concepts=(op_named("linear", "bias", "b", "db"), backward("db"),
              concept("bias", "intercept", "first row", "first example", "sum", "b", "db",
                      ask=WHICH_LINEAR_PART)),
    explanation="The bias is added to every row, so its gradient is the sum over the batch "
                "of the upstream gradient. The broken backward returned only the first row, "
                "1/N of the signal and noisy. The fix: `grad_b = rows.sum(axis=0)`.",
    shows=lambda r: r.finite and not reached(r) and r.final_loss < r.losses[0],
)

WEIGHT_TRANSPOSED = Bug(
    id="weight-transposed",
    title="the weight gradient is X.T @ grad reshaped to W's shape, not grad.T @ X",
    kind="op", op="linear",
    inject=patch_op("linear", backward=linear_backward_weight_transposed),
    symptom="The loss goes down for a few steps, then climbs far above where it "
            "started.",
    hints=(
        "`gradcheck` the linear node and see which input's gradient disagrees.",
        "The weight gradient has shape (2, 4), as it should. Are its values where they "
        "should be? Compare it with upstream.T @ x by hand.",
        "X.T @ grad has shape (4, 2): the transpose of what W needs. Reshaping it to "
        "(2, 4) keeps the shape right and the numbers wrong.",
        "linear's backward computes x.T @ grad and reshapes it, instead of grad.T @ x.",
    ),
    answers=("linear backward weight", "weight grad transposed"),
    concepts=(op_named("linear", "weight", "w"), BACKWARD,
              concept("weight", "w", "transpose", "reshape", "x t", "order", "layout",
                      "swap", ask=WHICH_LINEAR_PART)),
    explanation="dL/dW must have W's shape (out, in) = grad.T (out, N) @ X (N, in). The "
                "broken backward computed X.T @ grad, shaped (in, out), and reshaped it, "
                "which scrambles the entries (for a square layer it would be the transpose). "
                "The fix: `grad_w = rows.T @ x`. A reshape is never a substitute for a "
                "transpose.",
    shows=lambda r: not r.finite or max(r.losses) > 10 * r.losses[0],
)

QUESTIONS = (
    grad_shape(
        "linear", 1, "{name} = linear(x, weight, bias) receives an upstream gradient of shape "
        "{upstream}. What shape is the gradient the weight receives?",
        "A parameter's gradient always has the parameter's shape: weight is (out, in), and "
        "its gradient is grad.T @ x."),
    grad_value(
        "linear", 2, "{name}'s upstream gradient has shape {upstream}: one row per example "
        "(`p grad[:, 0]` shows column 0). What does bias[0] receive?",
        "The bias is added to every row of the batch, so its gradient is the upstream "
        "gradient summed over the rows: grad.sum(axis=0).", pick=lambda g: float(g[0])),
)

LESSON = Lesson(
    number=3, slug="linear_layer", title="One linear layer on a batch",
    text=TEXT,
    goals=("Derive the three gradients of a linear layer and their shapes",
           "Explain why a broadcast bias gets the sum of the batch's gradients",
           "Use shapes to catch a transposed or scrambled gradient"),
    data="200 points y = x @ A + b + noise, x: 4 features in [-1, 1], y: 2 outputs, "
         "b = [1.5, -2] plus a random part; 160 for training",
    model=f"nn.Linear(4, 2), mean squared error, SGD lr {LR}, batch {BATCH}, {EPOCHS} epochs",
    target=f"test mean squared error below {TARGET_MSE:g}",
    bugs=(BIAS_FIRST_ROW, WEIGHT_TRANSPOSED),
    train=train, reached=reached,
    questions=QUESTIONS,
)
