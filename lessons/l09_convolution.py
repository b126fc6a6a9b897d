"""Lesson 9: convolution. The small digits CNN, and two bugs in conv2d's backward.

Also home of the op probes the lessons 9 to 12 share: fixed small inputs for each op of the
CNNs, so a run can finish by checking every op's backward against finite differences
(`gradcheck_ops`), while a bug is still injected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad.function import Context
from stepgrad.lessons import datasets, models, training
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, patch_op
from stepgrad.lessons.diagnosis import BACKWARD, WHICH_CONV_PART, backward, concept, op_named
from stepgrad.lessons.quiz import grad_shape, output_shape
from stepgrad.ops.conv import col2im, offset_views, unpad2d

LR, EPOCHS, BATCH = 0.01, 8, 64
TARGET = 0.95

TEXT = """\
A convolution slides a small kernel over the image and takes a dot product at every
position. `Conv2d(1, 8, 3, padding=1)` holds 8 kernels of 1 x 3 x 3 weights: each one
becomes one *output channel*, a feature map as large as the image.

    out[n, o, y, x] = b[o] + sum over c, i, j of w[o, c, i, j] * x_pad[n, c, y + i, x + j]

## im2col: a convolution is a matrix product

stepgrad computes it the way most libraries do (`stepgrad/ops/conv.py`):

1. `im2col` cuts every 3 x 3 window (over all input channels) out of the padded input and
   lays it out as one row: (N, C, H, W) -> (N*H*W rows, C*3*3 columns).
2. One matrix product with the weight viewed as (O, C*3*3) gives every output pixel of
   every channel: `rows = cols @ W.T + b`, shape (N*H*W, O).

## Backward, the same path in reverse

With `G` the upstream gradient laid out as rows (N*H*W, O):

* `dL/dW = G.T @ cols`, shape (O, C*3*3), viewed back as (O, C, 3, 3).
  Out-channels first, in-channels second: the layout of the weight.
* `dL/db = G` summed over the rows.
* `dL/dcols = G @ W`, then `col2im` puts each window's gradient back on the image.
  Windows overlap (with a 3 x 3 kernel and stride 1 each pixel is in up to 9 windows), and a
  pixel used by several windows must receive **the sum** of their gradients: the chain rule
  adds over every path (the same reason a tensor used twice accumulates its `.grad`).

The model is two of these, each followed by ReLU and 2 x 2 max-pooling, then a linear layer:

    conv1 (1->8) relu pool -> conv2 (8->16) relu pool -> flatten (64) -> linear (10)

Only conv2's input gradient goes through col2im (nothing upstream of conv1 needs one).

## How to catch a wrong backward

A network often *still learns* with a wrong gradient, just worse, because the other layers
make up for it. So do not trust the loss curve alone: in the debugger, check a node against
finite differences (`sg.check_node("conv2d", inputs, attrs, upstream)`, which the debugger's
gradient check runs for you). At the end of a run this lesson checks each op of the model
the same way, on small fixed inputs (`result.extra["gradcheck"]`).

## PyTorch equivalent

    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    torch.autograd.gradcheck(F.conv2d, (x, w, b))       # double-precision inputs
"""

GOALS = (
    "Write a convolution as im2col plus one matrix product, and its backward as the reverse",
    "Explain why col2im must add where windows overlap",
    "Check one node's backward with finite differences instead of trusting the loss curve",
)


# -- op probes: small fixed inputs to gradcheck each op of the CNN lessons ---------------------

Probe = tuple[list[Any], dict[str, Any], np.ndarray]


def _probe_inputs() -> dict[str, list[Probe]]:
    """op -> probes (inputs, attrs, upstream), drawn from a fixed seed, float64 for finite
    differences. Upstream gradients are random, not ones, so a backward that puts the right
    values in the wrong places is caught too; mul is also probed with both inputs equal (a
    value used twice, x * x)."""
    rng = np.random.default_rng(1234)

    def normal(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape)

    square = normal(3, 4)
    return {
        "conv2d": [([normal(2, 3, 5, 5), normal(4, 3, 3, 3), normal(4)], {"padding": 1},
                    normal(2, 4, 5, 5))],
        "max_pool2d": [([normal(2, 3, 4, 4)], {"kernel_size": 2}, normal(2, 3, 2, 2))],
        "avg_pool2d": [([normal(2, 3, 4, 4)], {"kernel_size": 2}, normal(2, 3, 2, 2))],
        "reshape": [([normal(2, 3, 2, 2)], {"shape": (2, 12)}, normal(2, 12))],
        "relu": [([normal(4, 6)], {}, normal(4, 6))],
        "linear": [([normal(4, 6), normal(3, 6), normal(3)], {}, normal(4, 3))],
        "cross_entropy": [([normal(4, 5), np.array([0, 3, 1, 4])], {}, np.array(1.0))],
        "batch_norm": [([normal(6, 3, 2, 2), 1 + 0.5 * normal(3), normal(3), np.zeros(3),
                         np.ones(3)], {"training": True}, normal(6, 3, 2, 2))],
        "dropout": [([normal(4, 6), rng.random((4, 6)) >= 0.5], {"p": 0.5}, normal(4, 6))],
        "mul": [([normal(3, 4), normal(3, 4)], {}, normal(3, 4)),
                ([square, square.copy()], {}, normal(3, 4))],
        "add": [([normal(3, 4), normal(3, 4)], {}, normal(3, 4))],
        "sum": [([normal(3, 4)], {}, np.array(0.7)),
                ([normal(3, 4)], {"axis": 1}, normal(3))],
        "mean": [([normal(3, 4)], {}, np.array(0.7)),
                 ([normal(3, 4)], {"axis": 1}, normal(3))],
        "neg": [([normal(3, 4)], {}, normal(3, 4))],
        "log_softmax": [([normal(4, 5)], {"axis": -1}, normal(4, 5))],
    }


PROBES = _probe_inputs()


def gradcheck_ops(names: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """For each op, the inputs whose gradient disagrees with finite differences (() when the
    op's backward is right), checked with `sg.check_node` on the op's probes."""
    failing = {}
    for name in names:
        bad: set[int] = set()
        for inputs, attrs, upstream in PROBES[name]:
            check = sg.check_node(name, inputs, attrs, upstream)
            bad.update(m.input for m in check.worst if m is not None)
            bad.update(dropped_inputs(name, inputs, attrs, upstream))
        failing[name] = tuple(sorted(bad))
    return failing


def dropped_inputs(name: str, inputs: list[Any], attrs: dict[str, Any],
                   upstream: np.ndarray) -> list[int]:
    """The inputs that want a gradient but to which backward sends None (check_node skips
    those, as if there were nothing to check)."""
    cls = sg.ops.get(name)
    ctx = Context()
    wants = tuple(np.asarray(a).dtype.kind == "f" and (cls.differentiable is None
                                                       or i < cls.differentiable)
                  for i, a in enumerate(inputs))
    ctx.needs_input_grad = wants
    cls.forward(ctx, *[np.array(a) for a in inputs], **attrs)
    sent = cls.backward(ctx, np.array(upstream, dtype=np.float64))
    sent = sent if isinstance(sent, tuple) else (sent,)
    return [i for i, (want, grad) in enumerate(zip(wants, sent)) if want and grad is None]


def gradcheck_fails(op: str, input_index: int | None = None) -> Any:
    """A `Bug.shows` check: the end-of-run gradcheck of `op` failed (on that input)."""

    def shows(r: RunResult) -> bool:
        bad = r.extra.get("gradcheck", {}).get(op, ())
        return bool(bad) if input_index is None else input_index in bad

    return shows


# -- the bugs ------------------------------------------------------------------------------------

def col2im_overwriting(cols: np.ndarray, shape: tuple[int, ...], kernel: tuple[int, int],
                       stride: tuple[int, int], out_hw: tuple[int, int]) -> np.ndarray:
    """col2im (as in ops/conv.py) that writes each window's gradient over the image instead
    of adding it."""
    n, c, h, w = shape
    patches = cols.reshape(n, out_hw[0], out_hw[1], c, -1).transpose(4, 1, 2, 0, 3)
    patches = np.ascontiguousarray(patches)                              # (KH*KW, OH, OW, N, C)
    image = np.zeros((h, w, n, c), dtype=cols.dtype)
    nchw = image.transpose(2, 3, 0, 1)
    for view, patch in zip(offset_views(nchw, kernel, stride, out_hw), patches):
        view[...] = patch.transpose(2, 3, 0, 1)  # BUG: `=` keeps only one window; should be `+=`
    return np.ascontiguousarray(nchw)


# The two broken backwards below are whole copies of conv2d's backward in ops/conv.py, so
# `list` and `step into` show the learner real code (the debugger shows them as the op's own
# backward and hides the BUG comments). Only the marked place differs.

def conv2d_backward_channels_swapped(ctx: Any, grad: np.ndarray) -> tuple:
    rows = grad.transpose(0, 2, 3, 1).reshape(-1, grad.shape[1])          # (N*OH*OW, O)
    # BUG: (C*KH*KW, O) read as if it were (O, C, KH, KW); should be rows.T @ ctx.cols
    grad_w, grad_b = (ctx.cols.T @ rows).reshape(ctx.weight.shape), rows.sum(axis=0)
    grad_x = None
    if ctx.needs_input_grad[0]:
        cols = rows @ ctx.weight.reshape(ctx.weight.shape[0], -1)
        padded = col2im(cols, ctx.padded_shape, ctx.kernel, ctx.stride, ctx.out_hw)
        grad_x = unpad2d(padded, *ctx.pad)
    return grad_x, grad_w, grad_b


def _with_col2im(unfold_back: Any) -> Any:
    """conv2d's backward (a whole copy) whose `col2im` is `unfold_back`."""
    col2im = unfold_back  # the name the code below calls, as in ops/conv.py

    def conv2d_backward_col2im_overwrites(ctx: Any, grad: np.ndarray) -> tuple:
        rows = grad.transpose(0, 2, 3, 1).reshape(-1, grad.shape[1])          # (N*OH*OW, O)
        grad_w, grad_b = (rows.T @ ctx.cols).reshape(ctx.weight.shape), rows.sum(axis=0)
        grad_x = None
        if ctx.needs_input_grad[0]:
            cols = rows @ ctx.weight.reshape(ctx.weight.shape[0], -1)
            padded = col2im(cols, ctx.padded_shape, ctx.kernel, ctx.stride, ctx.out_hw)
            grad_x = unpad2d(padded, *ctx.pad)
        return grad_x, grad_w, grad_b

    return conv2d_backward_col2im_overwrites


conv2d_backward_col2im_overwrites = _with_col2im(col2im_overwriting)


WEIGHT_GRAD_SWAPPED = Bug(
    id="conv-weight-grad-channels-swapped",
    title="conv2d's weight gradient is laid out (in-channels x kernel, out-channels) and read "
          "as (out, in, kh, kw)",
    kind="op", op="conv2d",
    inject=patch_op("conv2d", backward=conv2d_backward_channels_swapped),
    symptom="The loss falls, but slowly and not far: after 8 epochs the test accuracy "
            "is about 75-80% (healthy: about 97%).",
    hints=(
        "The loss goes down, but more slowly than a healthy run. Check the backward of each "
        "kind of node against finite differences.",
        "conv2d fails the gradient check, on its weight (input 1) only; its input and bias "
        "gradients are right.",
        "The weight gradient has the right shape (O, C, KH, KW) but its values are in the wrong "
        "places. Compare it with grad_rows.T @ cols, laid out (O, C*KH*KW).",
        "Look at how conv2d's backward forms grad_w: which matrix is transposed, and in which "
        "order are the out- and in-channels when it is reshaped?",
    ),
    answers=("conv2d backward weight", "conv2d weight grad channels swapped"),
    concepts=(op_named("conv2d", "kernel", "filter"), BACKWARD,
              concept("weight", "kernel", "filter", "w", "channel", "layout", "transpose",
                      "swap", ask=WHICH_CONV_PART)),
    explanation="The weight gradient is G.T @ cols: (O, N*H*W) @ (N*H*W, C*KH*KW) = "
                "(O, C*KH*KW), which reshapes to the weight's (O, C, KH, KW). The buggy "
                "backward computes cols.T @ G instead, the transpose, laid out "
                "(C*KH*KW, O), and reshapes it to (O, C, KH, KW) anyway: the shape fits, so "
                "nothing complains, but each weight receives another weight's gradient, with "
                "in- and out-channels swapped. Fix: grad_w = (rows.T @ cols).reshape(w.shape).",
    shows=gradcheck_fails("conv2d", 1),
)

COL2IM_OVERWRITES = Bug(
    id="col2im-overwrites",
    title="col2im overwrites overlapping windows' gradients instead of adding them",
    kind="op", op="conv2d",
    inject=patch_op("conv2d", backward=conv2d_backward_col2im_overwrites),
    symptom="The run looks almost healthy: test accuracy 95-98%, at most a point or "
            "two below a healthy run.",
    hints=(
        "The loss curve hides this one. Check conv2d's backward against finite differences.",
        "conv2d's weight and bias gradients pass; the gradient for its input (input 0) fails, "
        "and backward's values are smaller than the finite differences.",
        "With a 3 x 3 kernel and stride 1, each input pixel sits in up to 9 windows. How many "
        "of those windows' gradients reach the pixel?",
        "Look at col2im, which puts window gradients back on the image: what happens where two "
        "windows overlap?",
    ),
    answers=("col2im", "conv2d backward input grad overwrites"),
    concepts=(op_named("conv2d", "col2im", "im2col"), backward("col2im"),
              concept("input", "image", "x", "col2im", "overlap", "overwrite", "overwritten",
                      "window", "add", ask=WHICH_CONV_PART)),
    explanation="A pixel that appears in several windows contributes to several output pixels, "
                "so by the chain rule its gradient is the sum over those windows. col2im must "
                "add (`+=`) each window's gradient into the image; with `=` every kernel offset "
                "overwrites what the previous offsets put there and only one window's share "
                "survives. Fix: image[...] += patches[...] (PyTorch's fold / col2im sums "
                "overlapping values for the same reason).",
    shows=gradcheck_fails("conv2d", 0),
)


# -- the run ---------------------------------------------------------------------------------------

CNN_OPS = ("conv2d", "relu", "max_pool2d", "reshape", "linear", "cross_entropy")


def train(hooks: Hooks, seed: int) -> RunResult:
    data = datasets.load_digits(images=True)
    model = models.DigitsCNN()
    optimizer = sg.optim.Adam(model.parameters(), lr=LR)
    result = training.train(model, optimizer, data, EPOCHS, BATCH, hooks, seed=seed)
    result.extra["gradcheck"] = gradcheck_ops(CNN_OPS)
    return result


QUESTIONS = (
    output_shape(
        "conv2d", "{name} = conv2d(x, weight, bias) with shapes {shapes} and {attrs}. What "
        "shape is its output?",
        "Padding 1 and stride 1 keep a 3x3 kernel's output the size of its input (H and W); "
        "the channels become the weight's out channels: (N, out, H, W)."),
    grad_shape(
        "conv2d", 1, "{name}'s backward receives an upstream gradient of shape {upstream}. "
        "What shape is the gradient its weight (the kernels) receives?",
        "The kernels' gradient has the kernels' shape (out, in, kh, kw): one number per "
        "weight, summed over every example and every window position."),
)

LESSON = Lesson(
    number=9, slug="convolution", title="Convolution",
    text=TEXT, goals=GOALS,
    data="8x8 digits as (1, 8, 8) images: 1438 training and 359 test images",
    model="CNN conv 1->8, ReLU, max-pool, conv 8->16, ReLU, max-pool, flatten, linear 64->10; "
          "Adam (lr 0.01)",
    target="test accuracy >= 95% in 8 epochs",
    bugs=(WEIGHT_GRAD_SWAPPED, COL2IM_OVERWRITES),
    train=train,
    reached=lambda r: r.metric("test_accuracy") >= TARGET,
    questions=QUESTIONS,
)

__all__ = ["CNN_OPS", "COL2IM_OVERWRITES", "LESSON", "PROBES", "WEIGHT_GRAD_SWAPPED",
           "col2im_overwriting", "conv2d_backward_channels_swapped",
           "conv2d_backward_col2im_overwrites", "gradcheck_fails", "gradcheck_ops"]
