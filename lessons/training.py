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
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad.lessons.base import Hooks, RunResult, current_hooks
from stepgrad.lessons.datasets import Dataset
from stepgrad.nn import functional as F

LossFn = Callable[[sg.Tensor, Any], sg.Tensor]
Evaluate = Callable[[sg.nn.Module, Dataset], dict[str, float]]


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
          first_epoch: int = 0) -> RunResult:
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
    rng = np.random.default_rng(seed)
    iteration = first_iteration
    try:
        model.train()
        for epoch in range(first_epoch, first_epoch + epochs):
            schedule = lr_schedule(epoch - first_epoch) if lr_schedule else 1.0
            optimizer.lr = hooks.lr(base_lr) * schedule
            order = rng.permutation(len(data.x)) if shuffle else np.arange(len(data.x))
            epoch_losses = []
            for first in range(0, len(order), batch_size):
                batch = order[first: first + batch_size]
                loss, norm = _step(model, optimizer, hooks, loss_fn, data.x[batch],
                                   data.y[batch])
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


def _step(model: sg.nn.Module, optimizer: sg.optim.Optimizer, hooks: Hooks, loss_fn: LossFn,
          x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """One iteration: zero_grad, forward, loss, backward, step. Returns (loss, grad norm)."""
    if hooks.zero_grad:
        optimizer.zero_grad()
    loss = loss_fn(model(sg.tensor(x, name="x")), y)
    loss.backward()
    if hooks.after_backward is not None:
        hooks.after_backward(model)
    norm = grad_norm(model)
    optimizer.step()
    return float(loss.item()), norm


__all__ = ["accuracy", "default_loss", "evaluate", "grad_norm", "train"]
