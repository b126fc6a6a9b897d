"""The loss functions of `torch.nn.functional` (re-exported by stepgrad.nn.functional).

Arguments and defaults are PyTorch's: `reduction=` ("mean", "sum", "none") everywhere,
and for the classification losses `weight=` (per class), `ignore_index=`,
`label_smoothing=`, and class scores shaped (N, C) or (N, C, d1, d2, ...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad import ops
from stepgrad.nn.functional import _labels, _reduce, _tensor, log_softmax
from stepgrad.tensor import Tensor


def _attrs(reduction: str, **more: Any) -> dict[str, Any]:
    """Only what differs from the op's defaults, so a lesson's patched op still fits."""
    attrs = {key: value for key, value in more.items() if value is not None}
    if reduction != "mean":
        attrs["reduction"] = reduction
    return attrs


def _check_classes(labels: np.ndarray, classes: int, ignore_index: int, what: str) -> None:
    used = labels[labels != ignore_index]
    if used.size and (used.min() < 0 or used.max() >= classes):
        raise ValueError(f"{what}: targets must lie in 0..{classes - 1} for {classes} classes "
                         f"(or equal ignore_index={ignore_index}), got values from "
                         f"{used.min()} to {used.max()}")


def nll_loss(input: Tensor, target: Any, weight: Any = None,  # noqa: A002 (PyTorch's names)
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer targets under log-probabilities `input`."""
    labels = _labels(target, "nll_loss")
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    _check_classes(labels, classes, ignore_index, "nll_loss")
    weight = None if weight is None else np.asarray(weight)
    return ops.NLLLoss.apply(input, labels, **_attrs(reduction, weight=weight,
                                                     ignore_index=ignore_index
                                                     if ignore_index != -100 else None))


def cross_entropy(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class axis (1) then nll_loss; integer targets, or class
    probabilities shaped like `input`. The common case (N, C) logits, mean, no extras is
    the single fused op `cross_entropy`."""
    target_data = np.asarray(target.data if isinstance(target, Tensor) else target)
    class_axis = 1 if input.ndim > 1 else 0
    if target_data.dtype.kind == "f" and target_data.shape == tuple(input.shape):
        return _soft_cross_entropy(input, target, class_axis, weight, reduction, label_smoothing)
    labels = _labels(target_data, "cross_entropy")
    classes = input.shape[class_axis]
    plain = input.ndim == 2 and weight is None and reduction == "mean" and not label_smoothing
    if plain and not 0 <= ignore_index < classes and labels.size and labels.min() >= 0 and \
            labels.max() < classes:
        # the usual case in one pass over the labels: every one is a class, so none is the
        # ignore_index (which names no class here); 2 µs of a 150 µs MLP step less
        return ops.CrossEntropy.apply(input, labels)
    _check_classes(labels, classes, ignore_index, "cross_entropy")
    if plain and not np.any(labels == ignore_index):
        return ops.CrossEntropy.apply(input, labels)
    log_probs = log_softmax(input, dim=class_axis)
    loss = nll_loss(log_probs, labels, weight, ignore_index=ignore_index, reduction=reduction)
    if not label_smoothing:
        return loss
    w = np.ones(classes) if weight is None else np.asarray(weight, dtype=np.float64)
    shape = [1] * input.ndim
    shape[class_axis] = classes
    kept = labels != ignore_index
    smooth = -(log_probs * w.reshape(shape).astype(input.dtype)).sum(dim=class_axis) * kept
    if reduction == "mean":
        total = w[np.where(kept, labels, 0)][kept].sum() if weight is not None else kept.sum()
        smooth = smooth.sum() / float(total)
    elif reduction == "sum":
        smooth = smooth.sum()
    return loss * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def _soft_cross_entropy(input: Tensor, target: Any, class_axis: int, weight: Any,  # noqa: A002
                        reduction: str, label_smoothing: float) -> Tensor:
    """Cross-entropy against class probabilities: -sum_c w_c p_c log softmax(x)_c."""
    classes = input.shape[class_axis]
    probs = _tensor(target)
    if label_smoothing:
        probs = probs * (1 - label_smoothing) + label_smoothing / classes
    terms = log_softmax(input, dim=class_axis) * probs
    if weight is not None:
        shape = [1] * input.ndim
        shape[class_axis] = classes
        terms = terms * np.asarray(weight).reshape(shape)
    return _reduce(-terms.sum(dim=class_axis), reduction)


def mse_loss(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
             reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of the squared differences."""
    return ops.MSELoss.apply(input, target, **_attrs(reduction))


def l1_loss(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
            reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Mean (or sum) of the absolute differences: a composite of sub, abs and mean."""
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities `input` in [0, 1] against targets."""
    weight = None if weight is None else np.asarray(weight)
    return ops.BCELoss.apply(input, target, **_attrs(reduction, weight=weight))


def binary_cross_entropy_with_logits(input: Tensor, target: Any,  # noqa: A002
                                     weight: Any = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """Binary cross-entropy of logits (sigmoid inside, computed stably)."""
    if pos_weight is not None:
        raise NotImplementedError("binary_cross_entropy_with_logits(pos_weight=...) is outside "
                                  "stepgrad's course subset")
    if weight is None:
        return ops.BCEWithLogits.apply(input, target, **_attrs(reduction))
    losses = ops.BCEWithLogits.apply(input, target, reduction="none")
    return _reduce(losses * weight, reduction)


def smooth_l1_loss(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
                   reduce: Any = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta   (d = input - target);
    beta = 0 is l1_loss, as in PyTorch."""
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    d = input - target
    small = (d * d) * (0.5 / beta)
    return _reduce(ops.Where.apply(small, d.abs() - 0.5 * beta,
                                   condition=np.abs(d.data) < beta), reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean",  # noqa: A002
               delta: float = 1.0, weight: Any = None) -> Tensor:
    """0.5 d**2 where |d| < delta, else delta (|d| - 0.5 delta): delta * smooth_l1(beta=delta),
    quadratic near 0 and linear (gradient +-delta) beyond."""
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None and np.shape(getattr(weight, "data", weight)) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    losses = smooth_l1_loss(input, target, reduction="none", beta=delta) * delta
    return _reduce(losses if weight is None else losses * weight, reduction)


def kl_div(input: Tensor, target: Any, size_average: Any = None, reduce: Any = None,  # noqa: A002
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target * (log target - input), input being log-probabilities (PyTorch's convention);
    "batchmean" divides the sum by the batch size, the mathematically right mean."""
    target = _tensor(target)
    if log_target:
        terms = target.exp() * (target - input)
    else:  # 0 * log 0 counts as 0; log of the target itself, so its gradient is right too
        terms = target * (target.where(target.data > 0, 1.0).log() - input)
    if reduction == "batchmean":
        return terms.sum() / input.shape[0]
    return _reduce(terms, reduction)
