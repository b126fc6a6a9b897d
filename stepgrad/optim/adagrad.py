"""Adagrad: each weight's step shrinks with the sum of its squared gradients so far, so
often-updated weights slow down and rarely-updated ones keep a large step.
PyTorch: `torch.optim.Adagrad`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    """g = grad + weight_decay * w;  clr = lr / (1 + (t - 1) * lr_decay);
    sum += g^2;  w -= clr * g / (sqrt(sum) + eps)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False,
                 foreach: bool | None = None) -> None:
        if lr < 0 or lr_decay < 0 or weight_decay < 0 or initial_accumulator_value < 0:
            raise ValueError(f"Adagrad: lr, lr_decay, weight_decay and "
                             f"initial_accumulator_value must be >= 0, got lr={lr}, "
                             f"lr_decay={lr_decay}, weight_decay={weight_decay}, "
                             f"initial_accumulator_value={initial_accumulator_value}")
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize, foreach=foreach))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
        t = state.get("step", 0) + 1
        total = state.get("sum")
        if total is None:
            total = np.full_like(weight, group["initial_accumulator_value"])
        total = total + g * g
        state.update(step=t, sum=total)
        clr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
        return -clr * g / (np.sqrt(total) + group["eps"])
