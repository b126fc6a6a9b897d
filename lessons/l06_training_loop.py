"""Lesson 6: the training loop (zero_grad, backward, step, and the learning rate)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad.lessons import datasets
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, combine, with_hooks
from stepgrad.lessons.diagnosis import ZERO_GRAD_MISSING, concept
from stepgrad.lessons.fixing import Code, number_result
from stepgrad.lessons.models import MLP
from stepgrad.lessons.quiz import first_step, grad_shape
from stepgrad.lessons.training import LoopPart, LossFn
from stepgrad.lessons.training import train as train_loop

TEXT = """\
Every training loop, in every framework, is these five lines per mini-batch:

    optimizer.zero_grad()                 # 1. forget the last batch's gradients
    loss = loss_fn(model(x), y)           # 2. forward
    loss.backward()                       # 3. backward: .grad += dloss/dparam
    optimizer.step()                      # 4. w <- w - lr * (momentum-smoothed) grad
    sg.mark_iteration(i, loss=loss)       # 5. (here) tell the debugger an iteration ended

plus a learning-rate **schedule** between epochs; this lesson decays it exponentially,
`lr = 0.05 * 0.8 ** epoch` (PyTorch's `ExponentialLR(optimizer, gamma=0.8)`).

Each line can go wrong in its own recognisable way:

- **.grad accumulates** (lesson 2): without `zero_grad` every step uses the sum of all
  gradients so far, so the steps keep growing.
- **The sign of the update**: gradient *descent* moves against the gradient. Adding it
  climbs the loss instead, from the very first step.
- **The step size**: too large a learning rate makes the loss jump out of its valley;
  the gradient norm, which shrinks in a healthy run, spikes instead.

The debugger shows all three at the boundaries: an `OptimizerStep` lists, per parameter,
the gradient, the update and the update-to-weight ratio (healthy: about 1e-3 to 1e-2);
`ZeroGrad` marks each zero_grad; every iteration marker carries `loss` and `grad_norm`.

**In PyTorch**: the same loop with `torch.optim.SGD(model.parameters(), lr=0.05,
momentum=0.9)` and `torch.optim.lr_scheduler.ExponentialLR`.

**Your task.** An MLP learns the digits; healthy, it passes 95% test accuracy in 8 epochs.
One line of the loop is broken. Find which, and `diagnose` it (for example
`diagnose zero_grad`, `diagnose update sign`, `diagnose learning rate`).
"""

SIZES, LR, MOMENTUM, GAMMA, EPOCHS, BATCH = (64, 32, 10), 0.05, 0.9, 0.8, 8, 32
TARGET_ACCURACY = 0.95

#: The parts of this loop a bug replaces, and `fix check` puts the learner's code in.
STEP = LoopPart("lesson 6: the iteration")
LEARNING_RATE = LoopPart("lesson 6: the learning rate per epoch")


def train(hooks: Hooks, seed: int) -> RunResult:
    model = MLP(SIZES)
    optimizer = sg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    return train_loop(model, optimizer, datasets.load_digits(seed=0), EPOCHS, BATCH, hooks,
                      seed=seed, lr_schedule=lambda epoch: GAMMA ** epoch,
                      step=STEP.current(), learning_rate=LEARNING_RATE.current())


def reached(result: RunResult) -> bool:
    return result.metric("test_accuracy") >= TARGET_ACCURACY


def first_epoch(result: RunResult) -> list[float]:
    per_epoch = len(result.losses) // max(1, len(result.history)) if result.history else 0
    return result.losses[: max(per_epoch, 1)]


def climbs_at_once(result: RunResult) -> bool:
    """The loss over iterations 20-29 averages more than twice the first loss."""
    return len(result.losses) > 30 and not np.mean(result.losses[20:30]) < 2 * result.losses[0]


def norms_grow(result: RunResult) -> bool:
    """The gradient norm after 20 steps is 5x its first value (it should shrink)."""
    return len(result.grad_norms) > 20 and result.grad_norms[20] > 5 * result.grad_norms[0]


def spikes_later(result: RunResult) -> bool:
    """A good first epoch, then a loss 10x the first epoch's end and a gradient norm above
    anything the first epoch saw."""
    first = first_epoch(result)
    end_of_first = float(np.mean(first[-5:]))
    later_losses = [h["loss"] for h in result.history[1:]]
    later_norms = result.grad_norms[len(first):]
    return bool(end_of_first < 0.5 * result.losses[0] and later_losses
                and max(later_losses) > 10 * end_of_first
                and max(later_norms, default=0.0) > 1.5 * max(result.grad_norms[: len(first)]))


# -- the bugs -------------------------------------------------------------------------------
# Each bug runs its own code in this lesson's loop (a LoopPart), which `fix` gives the learner
# to rewrite. It also sets the hooks as before: the capstone's loop, which has no such part,
# reads them, and they tell bugs of the same effect apart. The functions' names and
# docstrings say nothing of what is wrong: `where` and the source pane show them.

def train_step(model: sg.nn.Module, optimizer: sg.optim.Optimizer, loss_fn: LossFn,
               x: np.ndarray, y: np.ndarray,
               before_update: Callable[[sg.nn.Module], None]) -> float:
    """One iteration of the loop; returns the loss."""
    loss = loss_fn(model(sg.tensor(x, name="x")), y)
    loss.backward()
    before_update(model)
    optimizer.step()
    return float(loss.item())


def learning_rate(base_lr: float, epoch: int) -> float:
    """The learning rate of `epoch` (counted from 0)."""
    return -base_lr * GAMMA ** epoch


def epoch_rate(base_lr: float, epoch: int) -> float:
    """The learning rate of `epoch` (counted from 0)."""
    return base_lr * 2.5 ** epoch


def _rate_result(value: Any) -> str | None:
    return number_result("learning_rate", "the learning rate", value)


NO_ZERO_GRAD = Bug(
    id="no-zero-grad",
    title="optimizer.zero_grad() is never called: gradients pile up across iterations",
    kind="loop",
    inject=combine(with_hooks(zero_grad=False), STEP.swap(train_step)),
    symptom="The gradient norm grows iteration after iteration instead of shrinking; the "
            "loss climbs into the hundreds and accuracy falls to chance.",
    hints=(
        "Watch `grad_norm` at the first few iteration markers: should it grow?",
        "Count the ZeroGrad events between two iterations.",
        "Without zero_grad, what does w.grad hold after the tenth backward?",
        "The loop skips optimizer.zero_grad(), so each step uses the sum of every "
        "gradient so far.",
    ),
    answers=("zero_grad", "no zero_grad", "grad not reset"),
    concepts=ZERO_GRAD_MISSING,
    code=Code("train_step", train_step, STEP.swap, portable=False,
              result=lambda value: number_result("train_step", "the loss", value)),
    explanation="backward adds into .grad. Without optimizer.zero_grad() at the start of each "
                "iteration, the gradient after k steps is the sum of k gradients, the steps "
                "grow without bound and the loss diverges. The fix: call "
                "`optimizer.zero_grad()` before every backward.",
    shows=lambda r: norms_grow(r) and not reached(r),
)

UPDATE_ADDS = Bug(
    id="update-adds-grad",
    title="the update adds the gradient (w += lr * grad): gradient ascent",
    kind="loop",
    inject=combine(with_hooks(update_sign=-1.0), LEARNING_RATE.swap(learning_rate)),
    symptom="The loss goes up from the very first step and keeps climbing until it is "
            "infinite.",
    hints=(
        "Is the loss ever lower than at the first iteration?",
        "Step to an OptimizerStep: compare the sign of each update with the sign of its "
        "gradient.",
        "Gradient descent moves against the gradient: update = -lr * grad. What does this "
        "loop do?",
        "The update has the same sign as the gradient: the loop climbs the loss.",
    ),
    answers=("update adds grad", "negative lr"),
    concepts=(concept("update", "step", "lr", "optimizer", "descent", "ascent", "sign", "sgd"),
              concept("add", "sign", "ascent", "negative", "wrong direction", "opposite",
                      "flip", "plus", "invert", "reverse", "uphill", "minus",
                      ask="what is wrong with the update?")),
    code=Code("learning_rate", learning_rate, LEARNING_RATE.swap, portable=False,
              result=_rate_result),
    explanation="The gradient points uphill, so descent subtracts it: w <- w - lr * grad. "
                "The broken loop added it (equivalently, used a negative learning rate), so "
                "every step made the loss larger. The fix: subtract the gradient.",
    shows=lambda r: climbs_at_once(r) and not reached(r),
)

LR_EXPLODES = Bug(
    id="lr-explodes",
    title="the learning-rate schedule multiplies the rate by 2.5 each epoch instead of 0.8",
    kind="loop",
    inject=combine(with_hooks(flags={"lr_gamma": 2.5}), LEARNING_RATE.swap(epoch_rate)),
    symptom="The first epoch looks healthy; then the loss jumps up, the gradient norm spikes "
            "far above anything in the first epoch, and accuracy collapses.",
    hints=(
        "The first epoch is fine. What changes between epochs?",
        "Look at `lr` in the OptimizerStep events of epoch 0, 1, 2 and 3.",
        "The learning rate should shrink by 0.8 each epoch. What happens to it instead?",
        "The schedule's factor is 2.5, not 0.8: the learning rate grows until the steps "
        "throw the weights out of the valley.",
    ),
    answers=("lr schedule", "lr grows"),
    concepts=(concept("lr", "schedule", "scheduler", "gamma", "decay"),
              concept("grow", "increase", "explode", "too high", "too large", "too big",
                      "large", "big", "high", "gamma", "schedule", "decay", "rise",
                      ask="what is wrong with the learning rate?")),
    code=Code("learning_rate", epoch_rate, LEARNING_RATE.swap, portable=False,
              result=_rate_result),
    explanation="A learning rate that grows every epoch eventually makes each step larger "
                "than the valley the weights sit in: the loss jumps, gradients spike, and the "
                "network is thrown into a region it cannot learn from. The fix: decay the "
                "rate (gamma = 0.8 < 1), and watch the update-to-weight ratio (about 1e-3).",
    shows=lambda r: spikes_later(r) and not reached(r),
)

QUESTIONS = (
    first_step(
        "SGD", "the first SGD step (momentum 0.9, lr {lr}): {param} has gradient {g}. "
        "By how much will this step change {param}?",
        "On the first step the momentum buffer is just the gradient, so the change is "
        "-lr * grad; later steps add 0.9 times the previous change.",
        truth=lambda g, lr: -abs(lr) * g),
    grad_shape(
        "linear", 1, "{name} = linear(x, weight, bias) with x of shape {xshape} receives an "
        "upstream gradient of shape {upstream}. What shape is the weight's gradient?",
        "A gradient has the shape of what it is the gradient of: (out, in) like the weight, "
        "so optimizer.step() can subtract it elementwise."),
)

LESSON = Lesson(
    number=6, slug="training_loop", title="The training loop",
    text=TEXT,
    goals=("Write the five lines of a training loop and say what each does",
           "Recognise a missing zero_grad, a wrong update sign and an exploding learning "
           "rate by their curves",
           "Read an OptimizerStep: gradient, update and update-to-weight ratio"),
    data="UCI handwritten digits, 8x8 pixels scaled to [0, 1]: 1,438 train, 359 test",
    model=f"MLP 64-32-10 with ReLU, cross-entropy, SGD lr {LR} momentum {MOMENTUM}, "
          f"lr x {GAMMA} per epoch, batch {BATCH}, {EPOCHS} epochs",
    target=f"test accuracy >= {TARGET_ACCURACY:.0%}",
    bugs=(NO_ZERO_GRAD, UPDATE_ADDS, LR_EXPLODES),
    train=train, reached=reached,
    questions=QUESTIONS,
)
