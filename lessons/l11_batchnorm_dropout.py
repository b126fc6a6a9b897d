"""Lesson 11: batch normalisation and dropout, the two layers that behave differently in
training and in evaluation. A digits CNN with BatchNorm2d after each convolution and Dropout
before the classifier."""

from __future__ import annotations

from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad import nn
from stepgrad.lessons import datasets, training
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, patch_op
from stepgrad.lessons.diagnosis import WHICH_DROPOUT_PART, backward, concept, op_named
from stepgrad.lessons.fixing import Code
from stepgrad.lessons.l07_optimizers import patch_attribute
from stepgrad.lessons.l09_convolution import CNN_OPS, gradcheck_fails, gradcheck_ops
from stepgrad.lessons.quiz import batch_norm_mean, dropout_kept
from stepgrad.nn import functional as F

LR, EPOCHS, BATCH, DROPOUT = 0.01, 8, 64, 0.5
TARGET = 0.95
BN_CNN_OPS = CNN_OPS + ("batch_norm", "dropout")

TEXT = """\
Both layers change how the network behaves between `model.train()` and `model.eval()`, and
both are easy to get subtly wrong. The model is the digits CNN with a `BatchNorm2d` after
each convolution and a `Dropout(0.5)` before the linear classifier.

## Batch normalisation

In training, `BatchNorm2d` normalises each channel with the statistics of **this batch**
(over batch, height and width), then scales and shifts with learned `gamma` and `beta`:

    mu = mean(x),  var = mean((x - mu)**2),  x_hat = (x - mu) / sqrt(var + eps)
    out = gamma * x_hat + beta

`mu` and `var` are computed *from x*, so they are part of the graph: moving one input moves
the mean and the variance, which moves every output of the channel. The full gradient
(m = the number of values per channel, g = grad * gamma) is

    dL/dx = 1 / sqrt(var + eps) * (g - mean(g) - x_hat * mean(g * x_hat))

The two subtracted terms are the paths through `mu` and through `var`. In evaluation the
running averages are used instead: constants, and then `g / sqrt(var + eps)` *is* the whole
gradient.

## Dropout

In training, dropout zeroes each value with probability `p` and scales the survivors by
`1 / (1 - p)`, so that the expected value of each output equals its input:

    out = x * keep / (1 - p),   keep ~ Bernoulli(1 - p)

In evaluation dropout does nothing: `out = x`. Because of the rescaling, the next layer sees
activations of the same size in both modes. The backward is the same mask and scale.

## What to watch

Step through a `batch_norm` backward step and compare the gradient it sends to `x` with
`grad * gamma / std`: in training they must differ. Step through a `dropout` forward step:
the kept values must be twice their input (p = 0.5). And after `model.eval()` (the test
evaluation at the end of each epoch) no `dropout` node should appear at all.

## PyTorch equivalent

    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5),
                          nn.Linear(64, 10))
    model.train()   # batch statistics, dropout on
    model.eval()    # running statistics, dropout off
"""

GOALS = (
    "Derive batch norm's backward, including the paths through the batch mean and variance",
    "Explain why dropout scales the kept units by 1 / (1 - p)",
    "Say what changes between model.train() and model.eval(), and check it while stepping",
)


class DigitsBatchNormCNN(nn.Module):
    """conv1 -> bn1 -> relu -> pool -> conv2 -> bn2 -> relu -> pool -> flatten -> dropout -> fc."""

    def __init__(self, channels: tuple[int, int] = (8, 16), p: float = DROPOUT) -> None:
        super().__init__()
        c1, c2 = channels
        self.conv1, self.bn1 = nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1)
        self.relu1, self.pool1 = nn.ReLU(), nn.MaxPool2d(2)
        self.conv2, self.bn2 = nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2)
        self.relu2, self.pool2 = nn.ReLU(), nn.MaxPool2d(2)
        self.flatten, self.dropout = nn.Flatten(), nn.Dropout(p)
        self.fc = nn.Linear(c2 * 2 * 2, 10)

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        return self.fc(self.dropout(self.flatten(x)))


# -- the bugs ------------------------------------------------------------------------------------

def batch_norm_backward_constant_statistics(ctx: Any, grad: np.ndarray) -> tuple:
    """batch_norm's backward that treats the batch mean and variance as constants."""
    x_hat, axes = ctx.x_hat, ctx.axes
    grad_gamma = (grad * x_hat).sum(axis=axes)
    grad_beta = grad.sum(axis=axes)
    # BUG: in training, g must also lose mean(g) and x_hat * mean(g * x_hat) (paths via mu, var)
    g = grad * ctx.gamma / ctx.std
    return g, grad_gamma, grad_beta, None, None


def dropout_forward_unscaled(ctx: Any, a: np.ndarray, keep: np.ndarray,
                             p: float = 0.5) -> np.ndarray:
    """dropout's forward that zeroes units but does not scale the kept ones up."""
    ctx.scale = keep.astype(a.dtype)  # BUG: should be keep / (1 - p)
    return a * ctx.scale


def dropout_backward_unscaled(ctx: Any, grad: np.ndarray) -> tuple:
    return grad * ctx.scale, None


def dropout_layer_always_on(self: nn.Dropout, x: sg.Tensor) -> sg.Tensor:
    """nn.Dropout.forward that drops units in evaluation too."""
    return F.dropout(x, self.p)  # BUG: F.dropout's training defaults to True; pass self.training


BATCHNORM_CONSTANT_STATS = Bug(
    id="batchnorm-backward-constant-stats",
    title="batch_norm's backward treats the batch mean and variance as constants",
    kind="op", op="batch_norm",
    inject=patch_op("batch_norm", backward=batch_norm_backward_constant_statistics),
    symptom="Training is slower and noisier: the loss ends near 0.7 and test accuracy "
            "near 85-89% (healthy: 0.2 and about 96%).",
    hints=(
        "Check each kind of node's backward against finite differences, in training mode.",
        "batch_norm fails on its input x only. Step to a batch_norm backward step and compare "
        "the gradient it sends to x with grad * gamma / std.",
        "They are equal, which would be right in eval mode. In training, what else in the "
        "forward depends on x besides x itself?",
        "The batch mean and variance are computed from x. Look at batch_norm's backward: are "
        "the paths through them there?",
    ),
    answers=("batch_norm backward", "batch norm backward mean and variance constant"),
    concepts=(op_named("batch_norm"),
              backward("mean", "variance", "statistic", "constant", "std", "var")),
    explanation="In training, mu and var are functions of the batch, so dL/dx has three paths: "
                "directly through x_hat, through mu and through var. Summing them gives "
                "(g - mean(g) - x_hat * mean(g * x_hat)) / std with g = grad * gamma. Dropping "
                "the last two terms is only right in eval mode, where the running statistics "
                "are constants. Without them the gradient keeps a component that changes the "
                "channel's mean and scale, which normalisation removes anyway, so steps are "
                "partly wasted and noisier. Fix: subtract the two means when ctx.training.",
    shows=gradcheck_fails("batch_norm", 0),
)

DROPOUT_NOT_RESCALED = Bug(
    id="dropout-not-rescaled",
    title="dropout zeroes units but does not scale the kept ones by 1 / (1 - p)",
    kind="op", op="dropout",
    inject=patch_op("dropout", forward=dropout_forward_unscaled,
                    backward=dropout_backward_unscaled),
    symptom="The gradient check passes and the accuracy barely changes, yet the "
            "network's activations are not the same size in training and in evaluation.",
    hints=(
        "Every op passes the gradient check here: the bug is in a forward, and the backward is "
        "consistent with it. Compare the network in training and in evaluation.",
        "Step to a dropout forward step and compare its output with its input, element by "
        "element, where the unit was kept.",
        "With p = 0.5, what should a kept value be, so that the expected output equals the "
        "input? Compare with what the layer does in eval mode.",
        "Look at dropout's forward: the scale applied to the kept units.",
    ),
    answers=("dropout scale", "dropout not rescaled"),
    concepts=(op_named("dropout"),
              concept("scale", "rescale", "1 1 p", "divide", "division", "keep prob", "invert",
                      "twice", "factor", "2", "half", "forward", ask=WHICH_DROPOUT_PART)),
    explanation="Dropout keeps each unit with probability 1 - p. Without the 1 / (1 - p) scale "
                "the expected output in training is (1 - p) * x, while in evaluation it is x: "
                "the next layer is trained on activations half as large as it sees at test "
                "time. Inverted dropout (PyTorch's) scales the kept units by 1 / (1 - p) in "
                "training so both modes agree in expectation. The gradient check cannot see "
                "this: backward is the correct derivative of the wrong forward.",
    shows=lambda r: r.extra.get("dropout_mean_ratio", 1.0) < 0.75,
)

DROPOUT_IN_EVAL = Bug(
    id="dropout-active-in-eval",
    title="nn.Dropout keeps dropping units after model.eval()",
    kind="loop",
    inject=patch_attribute(nn.Dropout, "forward", dropout_layer_always_on),
    symptom="Evaluating the same test set twice gives different predictions (about "
            "10-15% of them change), and the test accuracy is lower and jumpy (about 90%, "
            "healthy 96%).",
    hints=(
        "Run the evaluation twice on the same weights: should the answers differ?",
        "Stop at the end of an epoch, in the test evaluation: which nodes does its forward pass "
        "go through? Compare with what model.eval() promises.",
        "A dropout node runs in eval mode, with a fresh random mask each time.",
        "Look at nn.Dropout's forward: how does it pass `training` on to F.dropout?",
    ),
    answers=("dropout in eval", "dropout eval mode"),
    concepts=(op_named("dropout"),
              concept("eval", "test", "inference", "mode", "train", "active", "always",
                      "disable", "turn off", "switch off", ask=WHICH_DROPOUT_PART)),
    code=Code("forward", dropout_layer_always_on,
              lambda fn: patch_attribute(nn.Dropout, "forward", fn)),
    explanation="model.eval() only sets `training = False` on every module; each layer must "
                "read it. F.dropout(x, p) defaults to training=True (in PyTorch too), so a "
                "layer that does not pass training=self.training keeps dropping half its "
                "units at test time: predictions are random and worse. Fix: "
                "F.dropout(x, self.p, self.training).",
    shows=lambda r: r.extra.get("eval_disagreement", 0.0) > 0.0,
)


# -- the run ---------------------------------------------------------------------------------------

def eval_disagreement(model: nn.Module, x: np.ndarray) -> float:
    """The share of examples whose predicted class changes between two evaluations."""
    model.eval()
    with sg.no_grad():
        first = model(sg.tensor(x)).data.argmax(1)
        second = model(sg.tensor(x)).data.argmax(1)
    model.train()
    return float(np.mean(first != second))


def dropout_mean_ratio(p: float = DROPOUT) -> float:
    """mean(dropout(x)) / mean(x) in training mode on a large constant input (1 when the
    kept units are rescaled, 1 - p when not)."""
    with sg.no_grad():
        out = F.dropout(sg.tensor(np.ones((64, 64))), p, training=True)
    return float(out.data.mean())


def train(hooks: Hooks, seed: int) -> RunResult:
    data = datasets.load_digits(images=True)
    model = DigitsBatchNormCNN()
    optimizer = sg.optim.Adam(model.parameters(), lr=LR)
    result = training.train(model, optimizer, data, EPOCHS, BATCH, hooks, seed=seed)
    result.extra.update(gradcheck=gradcheck_ops(BN_CNN_OPS),
                        eval_disagreement=eval_disagreement(model, data.x_test),
                        dropout_mean_ratio=dropout_mean_ratio())
    return result


QUESTIONS = (
    batch_norm_mean(),
    dropout_kept(),
)

LESSON = Lesson(
    number=11, slug="batchnorm_dropout", title="Batch normalisation and dropout",
    text=TEXT, goals=GOALS,
    data="8x8 digits as (1, 8, 8) images: 1438 training and 359 test images",
    model="CNN conv 1->8, BatchNorm, ReLU, max-pool, conv 8->16, BatchNorm, ReLU, max-pool, "
          "flatten, dropout 0.5, linear 64->10; Adam (lr 0.01)",
    target="test accuracy >= 95% in 8 epochs",
    bugs=(BATCHNORM_CONSTANT_STATS, DROPOUT_NOT_RESCALED, DROPOUT_IN_EVAL),
    train=train,
    reached=lambda r: r.metric("test_accuracy") >= TARGET,
    questions=QUESTIONS,
)

__all__ = ["BATCHNORM_CONSTANT_STATS", "DROPOUT_IN_EVAL", "DROPOUT_NOT_RESCALED",
           "DigitsBatchNormCNN", "LESSON", "batch_norm_backward_constant_statistics",
           "dropout_forward_unscaled", "dropout_layer_always_on", "eval_disagreement"]
