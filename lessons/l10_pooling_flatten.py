"""Lesson 10: pooling and flatten. The digits CNN again; the bugs are in max-pool's backward
(where the gradient goes) and in flatten's backward (the order the values are put back in)."""

from __future__ import annotations

from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad.lessons import datasets, models, training
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, patch_op
from stepgrad.lessons.diagnosis import BACKWARD, WHICH_POOL_PART, backward, concept, op_named
from stepgrad.lessons.l09_convolution import CNN_OPS, gradcheck_fails, gradcheck_ops
from stepgrad.lessons.quiz import grad_shape, window_grads
from stepgrad.ops.conv import offset_views

LR, EPOCHS, BATCH = 0.01, 8, 64
TARGET = 0.95

TEXT = """\
Between the convolutions of the digits CNN sit two layers with no weights at all, and yet a
wrong backward in either of them quietly ruins what the convolutions learn.

## Max-pooling

`MaxPool2d(2)` cuts each feature map into 2 x 2 windows and keeps the largest value of each:
an (N, C, 8, 8) map becomes (N, C, 4, 4). Its derivative follows from "out = max(a, b, c, d)":
the output changes only when the winning element changes, so

    d out / d winner = 1,   d out / d (each other element) = 0

Backward sends each window's upstream gradient to **the one element that was the maximum**
(PyTorch remembers its index, `return_indices=True` shows it) and zero to the other three.
stepgrad stores the flat index of the maximum inside each window (`ctx.winner`, 0..3 for a
2 x 2 window, row by row: index `i * kw + j` is row `i`, column `j`).

Average pooling (`AvgPool2d`) is the contrast: every element counts, so each receives
`grad / 4`.

## Flatten

`Flatten()` turns the (N, 16, 2, 2) maps into (N, 64) rows for the linear layer. It moves no
value: `reshape` keeps numpy's row-major order, so feature `k` of a row is channel `k // 4`,
position `k % 4`. Its backward is the inverse reshape: the gradient of feature `k` must go
back to exactly that channel and position. Any other order scrambles which feature map
is told what.

## What the gradients look like when stepping

At a `max_pool2d` backward step, the gradient sent down has exactly one non-zero per window.
At the `reshape` (flatten) backward step, the gradient sent down is the upstream one with
the same values in the same order, only reshaped.

## PyTorch equivalent

    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64, 10))
    F.max_pool2d(x, 2, return_indices=True)   # the values and where each came from
"""

GOALS = (
    "Derive max-pooling's backward: the whole gradient to the window's maximum, none elsewhere",
    "Contrast it with average pooling's grad / (k * k) to every element",
    "Explain why flatten's backward must undo exactly the order its forward used",
)


# -- the bugs ------------------------------------------------------------------------------------

def max_pool2d_backward_to_every_element(ctx: Any, grad: np.ndarray) -> tuple:
    """max_pool2d's backward (as in ops/conv.py) that forgets which element was the maximum."""
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    for view in offset_views(grad_x, ctx.kernel, ctx.stride, grad.shape[2:]):
        view += grad  # BUG: should be `grad * (ctx.winner == k)` for the view of offset k
    return (grad_x,)


def max_pool2d_backward_transposed_index(ctx: Any, grad: np.ndarray) -> tuple:
    """max_pool2d's backward that decodes the winner's index column by column."""
    kh, kw = ctx.kernel
    grad_x = np.zeros(ctx.shape, dtype=grad.dtype)
    for k, view in enumerate(offset_views(grad_x, ctx.kernel, ctx.stride, grad.shape[2:])):
        i, j = divmod(k, kw)                         # view k is row i, column j of the window
        view += grad * (ctx.winner == j * kh + i)    # BUG: that offset's index is i * kw + j
    return (grad_x,)


def reshape_backward_channels_last(ctx: Any, grad: np.ndarray) -> tuple:
    """reshape's backward that puts a flattened (N, C*H*W) gradient back as if the features
    had been laid out channels-last (N, H, W, C), TensorFlow's image layout."""
    if len(ctx.shape) == 4:
        n, c, h, w = ctx.shape
        # BUG: the features were laid out (C, H, W); should be grad.reshape(ctx.shape)
        return (grad.reshape(n, h, w, c).transpose(0, 3, 1, 2),)
    return (grad.reshape(ctx.shape),)


MAXPOOL_TO_EVERY_ELEMENT = Bug(
    id="maxpool-grad-to-every-element",
    title="max_pool2d's backward sends each window's gradient to all four elements",
    kind="op", op="max_pool2d",
    inject=patch_op("max_pool2d", backward=max_pool2d_backward_to_every_element),
    symptom="Training still gets somewhere: test accuracy ends a little below a "
            "healthy run's.",
    hints=(
        "Check each kind of node's backward against finite differences; one of the weightless "
        "layers fails.",
        "max_pool2d fails the gradient check. Step to a max_pool2d backward step and look at "
        "the gradient it sends down, window by window.",
        "How many elements of a 2 x 2 window should receive a gradient, given that only the "
        "maximum made it to the output?",
        "Look at max-pool's backward: where does it use ctx.winner?",
    ),
    answers=("max_pool2d backward to every element", "maxpool grad to all elements"),
    concepts=(op_named("max_pool2d"), BACKWARD,
              concept("every", "all", "each", "whole window", "same", "spread", "evenly",
                      "not just", "not only", "broadcast", "copy", ask=WHICH_POOL_PART)),
    explanation="out = max over the window, so d out / d x is 1 for the maximum and 0 for the "
                "others: a small change to a non-maximum does not change the output at all. "
                "Sending the gradient to every element tells the conv layer below that all four "
                "inputs mattered (that is average pooling's rule, and without its 1/4: four "
                "times the gradient in total). Fix: multiply by the mask "
                "(ctx.winner == k) for the view of window offset k = i * kw + j, as "
                "max_pool2d's backward does.",
    shows=gradcheck_fails("max_pool2d", 0),
)

MAXPOOL_TRANSPOSED_INDEX = Bug(
    id="maxpool-grad-to-wrong-element",
    title="max_pool2d's backward decodes the winner's index column-major: the top-right and "
          "bottom-left winners swap",
    kind="op", op="max_pool2d",
    inject=patch_op("max_pool2d", backward=max_pool2d_backward_transposed_index),
    symptom="Training reaches a test accuracy a few points below a healthy "
            "run's.",
    hints=(
        "Check each kind of node's backward against finite differences; one of the weightless "
        "layers fails.",
        "max_pool2d fails, yet each window gets exactly one non-zero gradient. Compare its "
        "position with where the maximum was in the forward input of that node.",
        "Windows whose maximum is top-left or bottom-right are right; top-right and bottom-left "
        "are swapped. How is the flat index 0..3 of a 2 x 2 window turned into (row, column)?",
        "Look at the mask in max-pool's backward: the index of row i, column j.",
    ),
    answers=("max_pool2d backward wrong element", "max pool backward argmax index"),
    concepts=(op_named("max_pool2d"), BACKWARD,
              concept("wrong", "index", "argmax", "column", "position", "transpose", "row",
                      "decode", "location", "place", "swap", ask=WHICH_POOL_PART)),
    explanation="The forward stores the flat index of each window's maximum in row-major order: "
                "index = i * kw + j for row i, column j (numpy's order, and PyTorch's for "
                "return_indices). Decoding it as j * kh + i reads it column-major, which for a "
                "2 x 2 window swaps indices 1 and 2: the gradient goes to a non-maximal element "
                "in every window whose maximum is top-right or bottom-left. Fix: compare "
                "ctx.winner with i * kw + j.",
    shows=gradcheck_fails("max_pool2d", 0),
)

FLATTEN_CHANNELS_LAST = Bug(
    id="flatten-backward-channels-last",
    title="flatten's backward (reshape) restores the gradient in channels-last order",
    kind="op", op="reshape",
    inject=patch_op("reshape", backward=reshape_backward_channels_last),
    symptom="Training slows down: test accuracy ends a few points below a healthy "
            "run's.",
    hints=(
        "Check each kind of node's backward against finite differences; one of the weightless "
        "layers fails.",
        "reshape (flatten) fails. Step to its backward: compare the upstream gradient (N, 64) "
        "with the gradient sent down (N, 16, 2, 2), value by value.",
        "Every upstream value is there, but not where the forward took it from: feature k came "
        "from channel k // 4. Which channel does the gradient of feature 1 go to?",
        "Look at reshape's backward: in which axis order does it rebuild the (N, C, H, W) "
        "gradient?",
    ),
    answers=("flatten backward", "reshape backward order"),
    concepts=(op_named("reshape", "flatten"),
              backward("order", "channel", "nhwc", "layout", "permute", "transpose")),
    explanation="Flatten's forward lays an (N, C, H, W) map out row-major: feature k of a row is "
                "channel k // (H*W), position k % (H*W). Its backward must be exactly the "
                "inverse, grad.reshape(N, C, H, W). Reading the row as (H, W, C), the layout of "
                "channels-last (TensorFlow's NHWC), and transposing back sends each feature's "
                "gradient to another channel and position, so conv2's filters are trained on "
                "somebody else's error. Fix: return grad.reshape(ctx.shape).",
    shows=gradcheck_fails("reshape", 0),
)


# -- the run ---------------------------------------------------------------------------------------

def train(hooks: Hooks, seed: int) -> RunResult:
    data = datasets.load_digits(images=True)
    model = models.DigitsCNN()
    optimizer = sg.optim.Adam(model.parameters(), lr=LR)
    result = training.train(model, optimizer, data, EPOCHS, BATCH, hooks, seed=seed)
    result.extra["gradcheck"] = gradcheck_ops(CNN_OPS + ("avg_pool2d",))
    return result


QUESTIONS = (
    window_grads(),
    grad_shape(
        "reshape", 0, "{name} flattened its input; its backward receives an upstream "
        "gradient of shape {upstream}. What shape does it send back?",
        "Backward undoes the forward: the gradient goes back in the input's shape, each "
        "number to the place its value came from."),
)

LESSON = Lesson(
    number=10, slug="pooling_flatten", title="Pooling and flatten",
    text=TEXT, goals=GOALS,
    data="8x8 digits as (1, 8, 8) images: 1438 training and 359 test images",
    model="CNN conv 1->8, ReLU, max-pool, conv 8->16, ReLU, max-pool, flatten, linear 64->10; "
          "Adam (lr 0.01)",
    target="test accuracy >= 95% in 8 epochs",
    bugs=(MAXPOOL_TO_EVERY_ELEMENT, MAXPOOL_TRANSPOSED_INDEX, FLATTEN_CHANNELS_LAST),
    train=train,
    reached=lambda r: r.metric("test_accuracy") >= TARGET,
    questions=QUESTIONS,
)

__all__ = ["FLATTEN_CHANNELS_LAST", "LESSON", "MAXPOOL_TO_EVERY_ELEMENT",
           "MAXPOOL_TRANSPOSED_INDEX", "max_pool2d_backward_to_every_element",
           "max_pool2d_backward_transposed_index", "reshape_backward_channels_last"]
