"""One training loop for the lessons: mini-batches, markers for the debugger, and the hooks.

    result = train(model, sg.optim.SGD(model.parameters(), lr=0.1), data, epochs=5,
                   batch_size=32, hooks=current_hooks())

Each iteration is the loop every PyTorch tutorial writes:

    optimizer.zero_grad()          # skipped when hooks.zero_grad is False
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()               # lr scaled by hooks.lr_scale, negated by update_sign -1
    sg.mark_iteration(i, epoch=e, loss=loss, grad_norm=...)

and each epoch ends with an evaluation on the test set and `sg.mark_epoch(e, ...)`, so the
debugger can stop at iteration or epoch boundaries and break on a metric.

A lesson may hand the loop its own iteration (`step=`) or its own learning rate per epoch
(`learning_rate=`), taken from a `LoopPart`: a bug swaps the part for broken code, and
`fix check` swaps in the learner's rewrite of it, as `sg.ops.patch` does for an op.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad.lessons.base import Hooks, Injector, RunResult, current_hooks
from stepgrad.lessons.datasets import Dataset
from stepgrad.nn import functional as F

LossFn = Callable[[sg.Tensor, Any], sg.Tensor]
Evaluate = Callable[[sg.nn.Module, Dataset], dict[str, float]]
#: (model, optimizer, loss_fn, x, y, before_update) -> the batch's loss, as a float
Step = Callable[..., float]
#: (base_lr, epoch counted from 0) -> the learning rate of that epoch
LearningRate = Callable[[float, int], float]


class LoopPart:
    """A part of a lesson's own loop that a bug, or a learner's fix of it, replaces.

    The lesson hands `part.current()` to its loop (None: the loop's own code), and
    `part.swap(fn)` is an injector that makes `fn` current inside a `with` block, reversibly,
    as `sg.ops.patch` does for an op. Only the lesson that owns a part reads it, so another
    lesson (the capstone, which trains through the same `train`) never runs it.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._stack: list[Callable[..., Any]] = []

    def current(self) -> Callable[..., Any] | None:
        """The innermost swapped-in function, or None when nothing is swapped in."""
        return self._stack[-1] if self._stack else None

    def swap(self, function: Callable[..., Any]) -> Injector:
        """An injector that runs `function` as this part inside the block."""
        return functools.partial(self._swapped, function)

    @contextlib.contextmanager
    def _swapped(self, function: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
        self._stack.append(function)
        try:
            yield function
        finally:  # remove this block's own entry, wherever it is now (blocks may interleave)
            for index in range(len(self._stack) - 1, -1, -1):
                if self._stack[index] is function:
                    del self._stack[index]
                    break

    def __repr__(self) -> str:
        return f"LoopPart({self.name!r})"


def grad_norm(model: sg.nn.Module) -> float:
    """The L2 norm of every parameter's gradient taken together (0 when there is none)."""
    total = 0.0
    for p in model.parameters():
        if p.grad is not None:
            total += float(np.sum(np.square(p.grad, dtype=np.float64)))
    return math.sqrt(total)


def default_loss(data: Dataset) -> LossFn:
    """Cross-entropy for class labels, mean squared error for real-valued targets."""
    return F.cross_entropy if data.classes else F.mse_loss


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=-1) == labels))


def evaluate(model: sg.nn.Module, data: Dataset, loss_fn: LossFn | None = None) -> dict[str, float]:
    """Test loss (and test accuracy for classification), in eval mode and without a graph."""
    loss_fn = loss_fn or default_loss(data)
    was_training = model.training
    model.eval()
    try:
        with sg.no_grad():
            out = model(sg.tensor(data.x_test, name="x_test"))
            metrics = {"test_loss": float(loss_fn(out, data.y_test).item())}
        if data.classes:
            metrics["test_accuracy"] = accuracy(out.data, data.y_test)
    finally:
        model.train(was_training)
    return metrics


def train(model: sg.nn.Module, optimizer: sg.optim.Optimizer, data: Dataset, epochs: int,
          batch_size: int, hooks: Hooks | None = None, loss_fn: LossFn | None = None, *,
          seed: int = 0, evaluate_fn: Evaluate | None = None,
          iteration_metrics: Callable[[sg.nn.Module], dict[str, float]] | None = None,
          shuffle: bool = True, stop_on_nonfinite: bool = True,
          lr_schedule: Callable[[int], float] | None = None,
          result: RunResult | None = None, first_iteration: int = 0,
          first_epoch: int = 0, step: Step | None = None,
          learning_rate: LearningRate | None = None) -> RunResult:
    """Train `model` on `data` with mini-batches and return the losses and metrics.

    hooks               the loop's knobs (default: the ones in force, `current_hooks()`)
    loss_fn             (output, targets) -> scalar Tensor; default from the data
    evaluate_fn         (model, data) -> metrics after each epoch; default `evaluate`
    iteration_metrics   (model) -> extra metrics per iteration (such as a dead-ReLU share)
    lr_schedule         epoch -> multiplier of the learning rate for that epoch
                        (PyTorch's LambdaLR); the hooks' scale and sign apply on top
    stop_on_nonfinite   stop as soon as the loss is NaN or Inf (nothing more to learn)
    first_iteration, first_epoch   the numbers the markers start from, so a second phase of
                        training (another optimizer) continues the count instead of
                        restarting it
    step                a lesson's own iteration, called as `train_step` is (without
                        zero_grad=): it replaces `train_step` and the hooks' zero_grad
    learning_rate       a lesson's own (base_lr, epoch) -> rate: it replaces the hooks' scale
                        and sign times lr_schedule
    """
    # Longer than 50 lines on purpose: this is the training loop learners step through and
    # read in `list`; one loop in one place reads better than helpers it jumps between.
    hooks = hooks or current_hooks()
    loss_fn = loss_fn or default_loss(data)
    evaluate_fn = evaluate_fn or (lambda m, d: evaluate(m, d, loss_fn))
    result = result or RunResult()
    start = time.perf_counter()
    if hooks.data is not None:
        data = hooks.data(data)
    if hooks.init is not None:
        hooks.init(model)
    base_lr = optimizer.lr
    step = step or functools.partial(train_step, zero_grad=hooks.zero_grad)
    learning_rate = learning_rate or _scheduled(hooks, lr_schedule)
    norms: list[float] = []  # what before_update measured in this iteration
    before_update = _before_update(hooks, norms)
    rng = np.random.default_rng(seed)
    iteration = first_iteration
    try:
        model.train()
        for epoch in range(first_epoch, first_epoch + epochs):
            optimizer.lr = learning_rate(base_lr, epoch - first_epoch)
            order = rng.permutation(len(data.x)) if shuffle else np.arange(len(data.x))
            epoch_losses = []
            for first in range(0, len(order), batch_size):
                batch = order[first: first + batch_size]
                norms.clear()
                loss = step(model, optimizer, loss_fn, data.x[batch], data.y[batch],
                            before_update)
                if not norms:
                    raise RuntimeError("the step must call before_update(model) between "
                                       "backward and the update")
                norm = norms[-1]
                extra = iteration_metrics(model) if iteration_metrics else {}
                result.losses.append(loss)
                result.grad_norms.append(norm)
                epoch_losses.append(loss)
                sg.mark_iteration(iteration, epoch=epoch, loss=loss, grad_norm=norm, **extra)
                iteration += 1
                if stop_on_nonfinite and not math.isfinite(loss):
                    result.stopped = f"the loss became {loss} at iteration {iteration - 1}"
                    break
            metrics = {"loss": float(np.mean(epoch_losses)), **evaluate_fn(model, data)}
            result.history.append({"epoch": float(epoch), **metrics})
            sg.mark_epoch(epoch, **metrics)
            if result.stopped:
                break
    finally:
        optimizer.lr = base_lr
    last_epoch = {k: v for k, v in result.history[-1].items() if k != "epoch"} \
        if result.history else {}
    result.metrics = {**result.metrics, **last_epoch, "final_loss": result.final_loss}
    result.seconds = time.perf_counter() - start
    return result


def train_step(model: sg.nn.Module, optimizer: sg.optim.Optimizer, loss_fn: LossFn,
               x: np.ndarray, y: np.ndarray, before_update: Callable[[sg.nn.Module], None],
               zero_grad: bool = True) -> float:
    """One iteration: zero_grad, forward, loss, backward, update; returns the loss.
    `before_update(model)` measures the gradients between backward and the update (and runs
    a lesson's after_backward hook); zero_grad=False is a bug's setting of the hooks."""
    if zero_grad:
        optimizer.zero_grad()
    loss = loss_fn(model(sg.tensor(x, name="x")), y)
    loss.backward()
    before_update(model)
    optimizer.step()
    return float(loss.item())


def _before_update(hooks: Hooks, norms: list[float]) -> Callable[[sg.nn.Module], None]:
    """The `before_update` a step calls: the hooks' after_backward, then the gradient norm
    (into `norms`, where the loop reads this iteration's)."""
    def before_update(model: sg.nn.Module) -> None:
        if hooks.after_backward is not None:
            hooks.after_backward(model)
        norms.append(grad_norm(model))

    return before_update


def _scheduled(hooks: Hooks, lr_schedule: Callable[[int], float] | None) -> LearningRate:
    """The loop's own learning rate per epoch: the hooks' scale and sign, times the schedule."""
    def learning_rate(base_lr: float, epoch: int) -> float:
        return hooks.lr(base_lr) * (lr_schedule(epoch) if lr_schedule else 1.0)

    return learning_rate


__all__ = ["LearningRate", "LoopPart", "Step", "accuracy", "default_loss", "evaluate", "grad_norm",
           "train", "train_step"]
