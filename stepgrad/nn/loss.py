"""Loss modules: `criterion = nn.CrossEntropyLoss(); loss = criterion(logits, target)`.
Each holds its options and calls the function of the same name in nn.functional, which
holds the math. PyTorch: `torch.nn.CrossEntropyLoss`, `MSELoss`, `NLLLoss`, ..."""

from __future__ import annotations

from typing import Any

from stepgrad.nn import functional as F
from stepgrad.nn.module import Module
from stepgrad.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    """A loss with `reduction` ("mean", "sum" or "none") and PyTorch's other options.
    Only the options that differ from PyTorch's defaults are passed on, so the call in the
    debugger reads as the user wrote it."""

    defaults: dict[str, Any] = {}

    def __init__(self, reduction: str = "mean", **options: Any) -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, "
                             f"got {reduction!r}")
        self.reduction = reduction
        for name, value in options.items():
            object.__setattr__(self, name, value)  # weight: an option, not a parameter

    def _options(self) -> dict[str, Any]:
        given = {"reduction": self.reduction} if self.reduction != "mean" else {}
        for name, default in self.defaults.items():
            value = getattr(self, name)
            if value is not default and (default is None or value != default):
                given[name] = value
        return given


class CrossEntropyLoss(_Loss):
    """-log softmax(input)[target], averaged: logits (N, C) or (N, C, d...) against class
    indices (N,) or class probabilities (N, C)."""

    defaults = {"weight": None, "ignore_index": -100, "label_smoothing": 0.0}

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100,
                 reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(reduction, weight=weight, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002 (PyTorch's name)
        return F.cross_entropy(input, target, **self._options())


class NLLLoss(_Loss):
    """-input[target], averaged: input holds log-probabilities (after LogSoftmax)."""

    defaults = {"weight": None, "ignore_index": -100}

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100,
                 reduction: str = "mean") -> None:
        super().__init__(reduction, weight=weight, ignore_index=ignore_index)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.nll_loss(input, target, **self._options())


class MSELoss(_Loss):
    """mean((input - target)^2)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.mse_loss(input, target, **self._options())


class L1Loss(_Loss):
    """mean(|input - target|)."""

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.l1_loss(input, target, **self._options())


class BCELoss(_Loss):
    """-(t log p + (1 - t) log(1 - p)), averaged: input holds probabilities (after Sigmoid)."""

    defaults = {"weight": None}

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__(reduction, weight=weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy(input, target, **self._options())


class BCEWithLogitsLoss(_Loss):
    """BCELoss of sigmoid(input), computed stably from the logits; pos_weight weighs the
    positive class."""

    defaults = {"weight": None, "pos_weight": None}

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean",
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(reduction, weight=weight, pos_weight=pos_weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:  # noqa: A002
        return F.binary_cross_entropy_with_logits(input, target, **self._options())
