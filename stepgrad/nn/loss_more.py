"""More loss modules: the robust regression losses and the KL divergence, each calling the
function of the same name in nn.functional.
PyTorch: `torch.nn.SmoothL1Loss`, `HuberLoss`, `KLDivLoss`.
"""

from __future__ import annotations

from typing import Any

from stepgrad.nn import functional as F
from stepgrad.nn.loss import _Loss
from stepgrad.tensor import Tensor


class SmoothL1Loss(_Loss):
    """0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta, averaged (d = input - target):
    squared near 0, absolute beyond, so outliers pull with a bounded gradient (+-1)."""

    defaults = {"beta": 1.0}

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 beta: float = 1.0) -> None:
        super().__init__(reduction, beta=beta)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002 (PyTorch's name)
        return F.smooth_l1_loss(input, target, **self._options())


class HuberLoss(_Loss):
    """0.5 d**2 where |d| < delta, else delta (|d| - 0.5 delta), averaged: SmoothL1Loss
    times delta (the same for delta = 1), so the gradient beyond delta is +-delta."""

    defaults = {"delta": 1.0}

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction, delta=delta)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.huber_loss(input, target, **self._options())


class KLDivLoss(_Loss):
    """KL(target || model) = sum target * (log target - input), input being log-probabilities
    (after LogSoftmax) and the target probabilities (log-probabilities with log_target=True).
    reduction="batchmean" divides the sum by the batch size: the true KL per sample, which
    PyTorch's default "mean" (over every element) is not."""

    defaults = {"log_target": False}

    def __init__(self, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                 log_target: bool = False) -> None:
        # _Loss knows the three common reductions; "batchmean" is KL's own
        super().__init__("mean" if reduction == "batchmean" else reduction,
                         log_target=log_target)
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.kl_div(input, target, **self._options())
