"""Lesson 2: a value used twice (fan-out) and gradient accumulation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import stepgrad as sg
from stepgrad.lessons import datasets
from stepgrad.lessons.base import Bug, Hooks, Lesson, RunResult, combine, patch_op, with_hooks
from stepgrad.lessons.diagnosis import ZERO_GRAD_MISSING, backward, op_named
from stepgrad.lessons.fixing import Code, number_result
from stepgrad.lessons.quiz import grad_value
from stepgrad.lessons.training import LoopPart

TEXT = """\
When a value feeds two places, a change in it changes the loss along *both* paths, so
the chain rule *adds* the two gradients (the multivariable chain rule sums over paths):

    e = pred - y
    loss = sum(e * e) / n        # e is used twice, by the same multiplication
    dloss/de = (e + e) / n = 2e / n

In the debugger the multiplication's backward step sends one gradient to each of its two
inputs, and both go into `e`: the second arrival is marked *accumulated*. autograd adds
them; assigning instead of adding would lose a path.

The same rule holds for parameters: `loss.backward()` *adds* into `w.grad`. That is why
this lesson's loop can split each batch in two **micro-batches** and call backward twice
before one update (gradient accumulation, how large batches fit in small memory):

    for part in (first_half, second_half):
        loss = ((part.x * w + b - part.y) ** 2).sum() / n
        loss.backward()                      # w.grad += this part's gradient
    optimizer.step()
    optimizer.zero_grad()                    # forget them before the next iteration

**In PyTorch** accumulation works the same: `.grad` is summed across backward calls until
`optimizer.zero_grad()` (or `w.grad = None`) clears it.

**Your task.** Fit a line to 51 noisy points with full-batch gradient descent; the loop
also compares its first gradient with the exact one (computed by hand in numpy). A fault
was injected; find where gradients should have been added (or forgotten) and `diagnose` it.
"""

LR, ITERATIONS, TARGET_MSE = 0.3, 40, 0.03


def load() -> datasets.Dataset:
    return datasets.line(n=64, slope=2.0, intercept=-1.0, noise=0.1, seed=0)


#: The iteration of this loop: a bug replaces it, and `fix check` puts the learner's code in.
ITERATION = LoopPart("lesson 2: the iteration")
Batches = list[tuple[np.ndarray, np.ndarray]]


def train(hooks: Hooks, seed: int) -> RunResult:
    """Full-batch gradient descent on a line, each batch in two micro-batches."""
    data = load() if hooks.data is None else hooks.data(load())
    w = sg.tensor(np.array([0.5], dtype=np.float32), requires_grad=True, name="w")
    b = sg.tensor(np.array([0.0], dtype=np.float32), requires_grad=True, name="b")
    if hooks.init is not None:
        hooks.init((w, b))
    optimizer = sg.optim.SGD([w, b], lr=hooks.lr(LR))
    n, half = len(data.x), len(data.x) // 2
    batches = [(data.x[part], data.y[part]) for part in (slice(0, half), slice(half, n))]
    step = ITERATION.current() or iteration
    result = RunResult()
    norms: list[float] = []  # what before_update measured in this iteration

    def before_update() -> None:
        """Between the backward calls and the update: the first gradients, the norm."""
        if "grads" not in result.extra:
            _record_first_grads(result, data, w, b)
        norms.append(float(np.sqrt(sum(float(np.sum(np.asarray(t.grad) ** 2))
                                        for t in (w, b) if t.grad is not None))))

    for number in range(ITERATIONS):
        norms.clear()
        total = step(w, b, optimizer, batches, before_update)
        if not norms:
            raise RuntimeError("the iteration must call before_update() between the backward "
                               "calls and the update")
        norm = norms[-1]
        result.losses.append(total)
        result.grad_norms.append(norm)
        sg.mark_iteration(number, epoch=0, loss=total, grad_norm=norm)
        if not np.isfinite(total):
            result.stopped = f"the loss became {total} at iteration {number}"
            break
    test_mse = _mse(data.x_test, data.y_test, w.data, b.data)
    result.history.append({"epoch": 0.0, "test_mse": test_mse})
    sg.mark_epoch(0, test_mse=test_mse)
    result.metrics = {"test_mse": test_mse, "final_loss": result.final_loss,
                      "first_grad_ratio": grad_ratio(result),
                      "w": float(w.data[0]), "b": float(b.data[0])}
    return result


def iteration(w: sg.Tensor, b: sg.Tensor, optimizer: sg.optim.Optimizer, batches: Batches,
              before_update: Callable[[], None]) -> float:
    """One iteration: a backward per micro-batch (their gradients add up in .grad), then one
    update; returns the loss of the whole batch."""
    n = sum(len(x) for x, _ in batches)
    total = 0.0
    for x_part, y_part in batches:
        x, y = sg.tensor(x_part, name="x"), sg.tensor(y_part, name="y")
        e = x * w + b - y
        loss = (e * e).sum() / n
        loss.backward()
        total += float(loss.item())
    before_update()
    optimizer.step()
    optimizer.zero_grad()
    return total


def _mse(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray) -> float:
    with np.errstate(all="ignore"):
        return float(np.mean((x * w + b - y) ** 2))


def _record_first_grads(result: RunResult, data: datasets.Dataset, w: sg.Tensor,
                        b: sg.Tensor) -> None:
    """Backward's first gradients next to the exact ones (numpy, float64)."""
    x, y = data.x.astype(np.float64), data.y.astype(np.float64)
    e = x * 0.5 + 0.0 - y
    result.extra["expected_grads"] = {"w": float(np.mean(2 * e * x)), "b": float(np.mean(2 * e))}
    result.extra["grads"] = {name: None if t.grad is None else float(t.grad[0])
                             for name, t in (("w", w), ("b", b))}


def grad_ratio(result: RunResult) -> float:
    """Backward's first gradient for b divided by the exact one (1.0 when right)."""
    got, want = result.extra["grads"]["b"], result.extra["expected_grads"]["b"]
    return (got or 0.0) / want


def rises(result: RunResult) -> int:
    """How many iterations made the loss go up (0 for a healthy descent)."""
    return sum(after > before for before, after in zip(result.losses, result.losses[1:]))


def reached(result: RunResult) -> bool:
    """The fit is good and the first gradient is the exact one (this lesson is about it)."""
    return result.metric("test_mse") < TARGET_MSE and abs(grad_ratio(result) - 1) < 1e-3


# -- the bugs -------------------------------------------------------------------------------
# The loop bug runs its own iteration, which `fix` gives the learner to rewrite (its name and
# docstring say nothing of what is wrong: `where` and the source pane show them). It sets the
# hooks as before too: the capstone's loop, which has no such part, reads them.

def full_step(w: sg.Tensor, b: sg.Tensor, optimizer: sg.optim.Optimizer, batches: Batches,
              before_update: Callable[[], None]) -> float:
    """One iteration of the loop; returns the loss of the whole batch."""
    n = sum(len(x) for x, _ in batches)
    total = 0.0
    for x_part, y_part in batches:
        x, y = sg.tensor(x_part, name="x"), sg.tensor(y_part, name="y")
        e = x * w + b - y
        loss = (e * e).sum() / n
        loss.backward()
        total += float(loss.item())
    before_update()
    optimizer.step()
    return total


def mul_backward_one_path(ctx: sg.Context, grad: np.ndarray) -> tuple:
    """BUG: for a value multiplied by itself, only one of its two paths gets a gradient
    (as if the second arrival overwrote the first instead of adding to it)."""
    if ctx.a.shape == ctx.b.shape and np.array_equal(ctx.a, ctx.b):
        return grad * ctx.b, np.zeros_like(grad)
    return grad * ctx.b, grad * ctx.a


ONE_PATH = Bug(
    id="fan-out-assigned",
    title="a value used twice receives one path's gradient instead of the sum of both",
    kind="op", op="mul",
    inject=patch_op("mul", backward=mul_backward_one_path),
    symptom="Training is slower than it should be, and the first gradient of w is not "
            "what finite differences of the loss give.",
    hints=(
        "Compare backward's gradient with a gradient check (`gradcheck` at the backward steps).",
        "The gradients are too small by the same factor everywhere: exactly one half.",
        "The halving starts at e * e. How many contributions should e receive there, "
        "and how many arrive?",
        "At the mul node both inputs are e: the first gets grad * e, the second gets 0. "
        "The two paths must add up to 2 * grad * e.",
    ),
    answers=("mul backward", "fan out not summed", "value used twice gets one path"),
    concepts=(op_named("mul", "e e", "square", "fan out", "used twice", "two path", "both path",
                       "second path", "one path", "value used twice"),
              backward("sum", "add", "assign", "overwrite", "overwritten", "only one", "second",
                       "half", "twice", "drop", "lost", "miss", "accumulate", "accumulation")),
    explanation="For a value used twice the chain rule sums the gradients of both paths. "
                "Here the backward of e * e sent e's second path nothing (as if the second "
                "gradient overwrote the first), so e got grad * e instead of 2 * grad * e. "
                "The fix: send `grad * b, grad * a` to the two inputs and let autograd add "
                "them (`pending[id] = previous + grad`, never `= grad`).",
    shows=lambda r: abs(grad_ratio(r) - 0.5) < 1e-3,
)

NOT_ZEROED = Bug(
    id="not-zeroed",
    title="gradients are not zeroed between iterations: every backward adds onto all the "
          "old ones",
    kind="loop",
    inject=combine(with_hooks(zero_grad=False), ITERATION.swap(full_step)),
    symptom="The loss drops at first, then swings up and down and never settles (it rises "
            "in about half of the iterations); the gradient norm does not shrink.",
    hints=(
        "Watch the loss and `grad_norm` at the iteration markers: both should shrink as "
        "the fit improves.",
        "At the start of an iteration, before any backward, what does w.grad hold?",
        "Two backward calls per iteration are meant to add up. Are the sums ever cleared?",
        "optimizer.zero_grad() is never called, so .grad accumulates across iterations.",
    ),
    answers=("zero grad", "no zero grad", "grad not reset between iterations"),
    concepts=ZERO_GRAD_MISSING,
    code=Code("iteration", full_step, ITERATION.swap, portable=False,
              result=lambda value: number_result("iteration", "the batch's loss", value)),
    explanation="backward adds into .grad, which is what makes the two micro-batches add "
                "up; but the sums must be cleared before the next iteration. Without "
                "`optimizer.zero_grad()` each step uses the sum of every gradient so far, "
                "steps keep growing and the loss diverges. The fix: zero the gradients once "
                "per iteration, after the update (or before the first backward).",
    shows=lambda r: not reached(r) and rises(r) >= len(r.losses) // 4,
)

QUESTIONS = (
    grad_value(
        "mul", 0, "{name} = e * e multiplies e ({input}) by itself: a value used twice. "
        "At element 0 the upstream gradient is {u0} and e is {x0}. What gradient does e[0] "
        "receive from this node, both paths together?",
        "Each use of e sends upstream * (the other factor) = upstream * e; a value used twice "
        "receives the sum of its paths: 2 * upstream * e.",
        fits=lambda m: m.forward is not None and m.forward.input_ids[0] == m.forward.input_ids[1],
        qid="fan-out"),
    grad_value(
        "div", 0, "loss = {name}, the sum of squares divided by n = {x1}. It receives "
        "upstream gradient {u0}. What gradient does the sum receive?",
        "d(s / n) / ds = 1 / n: dividing the loss by the batch size divides every gradient "
        "below it by the batch size too."),
)

LESSON = Lesson(
    number=2, slug="fan_out", title="A value used twice: fan-out and accumulation",
    text=TEXT,
    goals=("Explain why the gradients of a value used twice are added",
           "Spot an accumulated gradient in a backward step",
           "Know when .grad must be zeroed, and when accumulating it is what you want"),
    data="51 noisy points on y = 2x - 1 (13 more for testing), x uniform in [-1, 1]",
    model=f"loss = sum((x*w + b - y)**2) / n in two micro-batches; SGD lr {LR}, "
          f"{ITERATIONS} iterations",
    target=f"test mean squared error below {TARGET_MSE:g}, and the first step's gradient "
           f"equal to the exact one (to 0.1%)",
    bugs=(ONE_PATH, NOT_ZEROED),
    train=train, reached=reached,
    questions=QUESTIONS,
)
