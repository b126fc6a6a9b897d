"""Lesson 1: the chain rule, node by node (a scalar expression; predict each gradient)."""

from __future__ import annotations

import numpy as np

import stepgrad as sg
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, patch_op
from stepgrad.lessons.diagnosis import BACKWARD, op_named

TEXT = """\
A model is a composite function, and backpropagation is the chain rule applied one node
at a time. This lesson fits a line `y = w*x + b` to eight points with a single scalar
expression per example:

    loss = (w * x + b - y) ** 2

Evaluating it builds four nodes: `mul_1 = w * x`, `add_1 = mul_1 + b`,
`sub_1 = add_1 - y`, `pow_1 = sub_1 ** 2`. Backward visits them in reverse. Each node
receives the gradient of the loss with respect to its output (the *upstream* gradient)
and multiplies it by its *local* derivative to get what each input receives:

| node            | local derivative                | what the input receives |
|-----------------|---------------------------------|-------------------------|
| `p = e ** 2`    | dp/de = 2e                      | upstream * 2e           |
| `e = s - y`     | de/ds = 1                       | upstream                |
| `s = m + b`     | ds/dm = 1, ds/db = 1            | upstream, to both       |
| `m = w * x`     | dm/dw = x, dm/dx = w            | upstream * x to w       |

So dloss/dw = 2(wx + b - y) * x and dloss/db = 2(wx + b - y).

**The prediction game.** At every backward step the debugger asks what gradient an input
will receive. Work it out from the upstream gradient and the local derivative, type
`predict <number>`, and compare with what backward actually sent. When your chain rule
and the engine disagree, one of you is wrong: `gradcheck` runs finite differences on the node.

**In PyTorch** the same expression is `loss = (w * x + b - y) ** 2; loss.backward()`,
with `w = torch.tensor(0.5, requires_grad=True)`; `w.grad` then holds dloss/dw.

**Your task.** One op's backward has been broken. Training does not reach its target.
Find the node whose gradients disagree with the chain rule and `diagnose` it
(for example `diagnose sub backward`).
"""

POINTS = np.linspace(-1.0, 1.0, 8, dtype=np.float32)
SLOPE, INTERCEPT = 2.0, -1.0
W0, B0, LR, EPOCHS = 0.5, 0.0, 0.1, 15
TARGET_MSE = 1e-3


def mse(w: float, b: float) -> float:
    """The mean squared error of the line over the eight points (plain numpy)."""
    return float(np.mean((w * POINTS + b - (SLOPE * POINTS + INTERCEPT)) ** 2))


def train(hooks: Hooks, seed: int) -> RunResult:
    """Stochastic gradient descent, one point per iteration, in a shuffled order."""
    rng = np.random.default_rng(seed)
    w = sg.tensor(W0, requires_grad=True, name="w")
    b = sg.tensor(B0, requires_grad=True, name="b")
    if hooks.init is not None:
        hooks.init((w, b))
    optimizer = sg.optim.SGD([w, b], lr=hooks.lr(LR))
    result, iteration = RunResult(), 0
    for epoch in range(EPOCHS):
        for i in rng.permutation(len(POINTS)):
            x_value, y_value = float(POINTS[i]), SLOPE * float(POINTS[i]) + INTERCEPT
            if hooks.zero_grad:
                optimizer.zero_grad()
            x, y = sg.tensor(x_value, name="x"), sg.tensor(y_value, name="y")
            loss = (w * x + b - y) ** 2
            loss.backward()
            if iteration == 0:
                _record_first_grads(result, w, b, x_value, y_value)
            optimizer.step()
            result.losses.append(float(loss.item()))
            sg.mark_iteration(iteration, epoch=epoch, loss=loss, w=float(w.item()),
                              b=float(b.item()))
            iteration += 1
        error = mse(float(w.item()), float(b.item()))
        result.history.append({"epoch": float(epoch), "mse": error})
        sg.mark_epoch(epoch, mse=error)
    result.metrics = {"mse": result.history[-1]["mse"], "w": float(w.item()),
                      "b": float(b.item())}
    return result


def _record_first_grads(result: RunResult, w: sg.Tensor, b: sg.Tensor, x: float,
                        y: float) -> None:
    """What backward gave at the first step, next to the chain rule's answer."""
    error = W0 * x + B0 - y
    result.extra["grads"] = {name: None if t.grad is None else float(t.grad)
                             for name, t in (("w", w), ("b", b))}
    result.extra["expected_grads"] = {"w": 2 * error * x, "b": 2 * error}


def grads_wrong(result: RunResult, name: str) -> bool:
    """True when backward's first gradient for `name` is missing or off the chain rule's."""
    got, want = result.extra["grads"][name], result.extra["expected_grads"][name]
    return got is None or abs(got - want) > 1e-4 * max(1.0, abs(want))


def reached(result: RunResult) -> bool:
    return result.metric("mse") < TARGET_MSE


# -- the bugs -------------------------------------------------------------------------------

def mul_backward_swapped(ctx: sg.Context, grad: np.ndarray) -> tuple:
    """BUG: each input receives upstream times *itself* (the local derivatives are swapped)."""
    return grad * ctx.a, grad * ctx.b


def add_backward_one_input(ctx: sg.Context, grad: np.ndarray) -> tuple:
    """BUG: only the first input of a + b receives the gradient; b receives zeros."""
    return grad, np.zeros_like(grad)


MUL_SWAPPED = Bug(
    id="mul-swapped",
    title="mul's backward swaps its inputs: a receives grad * a instead of grad * b",
    kind="op", op="mul",
    inject=patch_op("mul", backward=mul_backward_swapped),
    symptom="w never settles at the slope 2 (it drifts towards 0) and the error stays far "
            "above the target.",
    hints=(
        "Play the prediction game at each backward step and note where you disagree.",
        "The gradient that reaches b looks right; the one that reaches w does not.",
        "At mul_1 = w * x the local derivative with respect to w is x. What did w receive?",
        "`gradcheck` the mul node: its backward multiplies the upstream gradient by the wrong "
        "input.",
    ),
    answers=("mul backward", "mul backward swaps inputs"),
    concepts=(op_named("mul"), BACKWARD),
    explanation="Mul.backward returned (grad * a, grad * b): each input got its own value as "
                "the local derivative. For out = a * b, d out/d a = b and d out/d b = a, so "
                "the fix is `return grad * ctx.b, grad * ctx.a`.",
    shows=lambda r: grads_wrong(r, "w") and not grads_wrong(r, "b") and not reached(r),
)

ADD_ONE_INPUT = Bug(
    id="add-one-input",
    title="add's backward sends the gradient to its first input only",
    kind="op", op="add",
    inject=patch_op("add", backward=add_backward_one_input),
    symptom="The slope is learned but the intercept b never moves from its starting "
            "value 0, and the error stalls near 1.",
    hints=(
        "Watch w and b in the iteration markers: does each of them change?",
        "b never changes. Look at b.grad after backward: it is 0 every time.",
        "b enters the expression through add_1 = mul_1 + b. What does an addition send to "
        "each of its inputs?",
        "`gradcheck` the add node: d(a + b)/db = 1, so b should receive the upstream gradient.",
    ),
    answers=("add backward", "add backward sends one input nothing"),
    concepts=(op_named("add"), BACKWARD),
    explanation="Add.backward returned (grad, 0): only the first input received its "
                "gradient. Both inputs of a + b have local derivative 1, so the fix is "
                "`return grad, grad`.",
    shows=lambda r: not r.extra["grads"]["b"] and not reached(r),
)

LESSON = Lesson(
    number=1, slug="chain_rule", title="The chain rule, node by node",
    text=TEXT,
    goals=("Compute by hand what each node of a backward pass sends to its inputs",
           "Read a backward step: upstream gradient, local derivative, gradient sent",
           "Use a gradient check to tell a wrong backward from a wrong expectation"),
    data="8 points on the line y = 2x - 1, x evenly spaced in [-1, 1]",
    model="loss = (w * x + b - y) ** 2 with scalars w = 0.5, b = 0, SGD lr 0.1, 15 epochs",
    target=f"mean squared error over the points below {TARGET_MSE:g}",
    bugs=(MUL_SWAPPED, ADD_ONE_INPUT),
    train=train, reached=reached, predict=True,
)
