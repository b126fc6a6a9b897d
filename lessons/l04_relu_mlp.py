"""Lesson 4: an MLP with ReLU on the 2-D spirals: the ReLU mask and dead units."""

from __future__ import annotations

import numpy as np

import stepgrad as sg
from stepgrad.lessons import datasets
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, patch_op, with_hooks
from stepgrad.lessons.diagnosis import backward, concept, op_named
from stepgrad.lessons.fixing import Code
from stepgrad.lessons.models import MLP
from stepgrad.lessons.quiz import forward_count, grad_value
from stepgrad.lessons.training import train as train_loop

TEXT = """\
Three spiral arms wind around each other in the plane; no straight line separates them.
An MLP bends the plane with ReLUs:

    h1 = relu(x @ W1.T + b1)      32 units
    h2 = relu(h1 @ W2.T + b2)     32 units
    logits = h2 @ W3.T + b3       3 classes, cross-entropy loss

**ReLU's backward is a gate.** relu(a) = max(a, 0), so its local derivative is 1 where
a > 0 and 0 elsewhere: a 0/1 *mask*. Backward multiplies the upstream gradient by the
mask and nothing else, whatever the size of the activation:

    grad_a = grad * (a > 0)

**Dead units.** A unit whose pre-activation is negative for every input outputs 0 and
passes no gradient back, so its weights never change again: it is *dead*. The training
loop reports `dead_relu`, the share of hidden units that were 0 for the whole batch, at
every iteration; a healthy network keeps it small. The debugger can also stop at a relu
node whose outputs are almost all zero: `break dead relu > 0.9` (in a healthy network
about half of them are).

**In PyTorch**: `nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
nn.Linear(32, 3))`; biases start uniform in ±1/sqrt(fan_in) (`nn.init` changes that).

**Your task.** Training should reach 90% test accuracy in 60 epochs of SGD with
momentum. It does
not. Watch the loss, the activations and `dead_relu`, find the fault and `diagnose` it.
"""

SIZES, LR, MOMENTUM, EPOCHS, BATCH = (2, 32, 32, 3), 0.05, 0.9, 60, 16
TARGET_ACCURACY = 0.90


def load() -> datasets.Dataset:
    return datasets.spirals(n=300, classes=3, noise=0.1, seed=0)


def train(hooks: Hooks, seed: int) -> RunResult:
    model = MLP(SIZES)
    optimizer = sg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    dead: list[float] = []

    def dead_relu(m: sg.nn.Module) -> dict[str, float]:
        assert isinstance(m, MLP)
        dead.append(m.dead_fraction)
        return {"dead_relu": m.dead_fraction}

    result = train_loop(model, optimizer, load(), EPOCHS, BATCH, hooks, seed=seed,
                        iteration_metrics=dead_relu)
    result.extra["dead_relu"] = dead
    result.metrics["dead_relu"] = float(np.mean(dead[-8:])) if dead else 0.0
    return result


def reached(result: RunResult) -> bool:
    return result.metric("test_accuracy") >= TARGET_ACCURACY


# -- the bugs -------------------------------------------------------------------------------

def relu_forward_keeping_output(ctx: sg.Context, a: np.ndarray) -> np.ndarray:
    """ReLU's forward as shipped, also keeping its output for the broken backward."""
    ctx.mask = a > 0
    ctx.out = np.maximum(a, 0)
    return ctx.out


def relu_backward_times_activation(ctx: sg.Context, grad: np.ndarray) -> tuple:
    """BUG: multiplies by the activation max(a, 0) instead of the 0/1 mask (a > 0)."""
    return (grad * ctx.out,)


def kill_relus(model: MLP) -> None:
    """BUG: every hidden bias starts at -3, far below what the inputs can push up."""
    for layer in model.linears()[:-1]:
        sg.nn.init.constant_(layer.bias, -3.0)


RELU_TIMES_ACTIVATION = Bug(
    id="relu-times-activation",
    title="ReLU's backward multiplies by the activation max(a, 0) instead of the 0/1 mask",
    kind="op", op="relu",
    inject=patch_op("relu", forward=relu_forward_keeping_output,
                    backward=relu_backward_times_activation),
    symptom="The loss hardly moves from ln 3 = 1.0986 and test accuracy stays near one in "
            "three, although the ReLUs start out alive (`dead_relu` is low at first).",
    hints=(
        "`gradcheck` the nodes of one backward pass: which op disagrees with finite differences?",
        "The linear nodes pass their checks. Look at the activations' backward steps.",
        "relu's local derivative is 1 or 0. Compare what relu's backward sends with "
        "upstream * (a > 0).",
        "relu's backward multiplies the upstream gradient by max(a, 0), the activation "
        "itself, instead of the mask.",
    ),
    answers=("relu backward", "relu backward times activation"),
    concepts=(op_named("relu"), backward("mask", "activation")),
    explanation="d relu(a)/da is 1 where a > 0 and 0 elsewhere, so backward must send "
                "grad * (a > 0). The broken backward sent grad * max(a, 0): small "
                "activations choked the gradient and large ones inflated it. The fix: "
                "`return (grad * ctx.mask,)`.",
    shows=lambda r: not reached(r) and r.extra["dead_relu"][0] < 0.5,
)

DEAD_RELUS = Bug(
    id="dead-relu-init",
    title="hidden biases initialised to -3: almost every ReLU is dead from the start",
    kind="init",
    inject=with_hooks(init=kill_relus),
    symptom="The loss sits at ln 3 = 1.0986 from the first iteration and never moves; test "
            "accuracy is about one in three.",
    hints=(
        "Look at `dead_relu` in the iteration markers, or `break dead relu > 0.9`.",
        "Step through a forward pass: what do the relu nodes output?",
        "The hidden pre-activations are negative for every example. What makes them so "
        "negative: the weights or the biases?",
        "The biases of fc1 and fc2 all start at -3; inputs in [-1, 1] cannot lift the "
        "pre-activations above 0, so no gradient ever flows.",
    ),
    answers=("dead relu init", "bias init negative"),
    concepts=(concept("init", "bias", "dead", "start", "initial"),
              concept("bias", "negative", "3", "dead", "too low", "small", "never fire",
                      "inactive", "off", ask="what is wrong with the initialisation?")),
    code=Code("init", kill_relus, lambda fn: with_hooks(init=fn)),
    explanation="With every hidden bias at -3 the pre-activations are negative for all "
                "inputs, each ReLU outputs 0 and passes no gradient, so the hidden weights "
                "never learn: only the last bias moves and the loss stays at ln 3. The fix: "
                "initialise biases near 0 (PyTorch's default is uniform in ±1/sqrt(fan_in)).",
    shows=lambda r: r.extra["dead_relu"][0] > 0.9 and not reached(r),
)

QUESTIONS = (
    forward_count(
        "relu", "{name} = relu(a) on a batch of shape {shape}. How many of the {units} units "
        "of example 0 will output 0? (look at its input a[0])",
        "ReLU outputs 0 wherever its input is <= 0; those units also pass no gradient back. "
        "A unit that is 0 for every example is dead.",
        count=lambda out: float((out == 0).sum())),
    grad_value(
        "relu", 0, "at {name}'s backward, element 0 receives upstream gradient {u0}; the "
        "forward input there was {x0}. What gradient does the input's element 0 receive?",
        "ReLU's local derivative is the 0/1 mask (a > 0): the upstream gradient passes "
        "unchanged where the input was positive and is blocked elsewhere."),
)

LESSON = Lesson(
    number=4, slug="relu_mlp", title="An MLP with ReLU on the spirals",
    text=TEXT,
    goals=("Write ReLU's backward as a 0/1 mask and say why",
           "Recognise dead ReLUs and measure how many there are",
           "Tell a wrong backward from a bad initialisation by what each one shows"),
    data="3 spiral arms in the plane, 300 points with noise 0.1 (240 train, 60 test)",
    model=f"MLP 2-32-32-3 with ReLU, cross-entropy, SGD lr {LR} momentum {MOMENTUM}, "
          f"batch {BATCH}, {EPOCHS} epochs",
    target=f"test accuracy >= {TARGET_ACCURACY:.0%}",
    bugs=(RELU_TIMES_ACTIVATION, DEAD_RELUS),
    train=train, reached=reached,
    questions=QUESTIONS,
)
