"""Adadelta: a step whose size is the RMS of past steps over the RMS of past gradients,
so its units match the weight's and lr can stay 1. PyTorch: `torch.optim.Adadelta`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad.optim.optimizer import Optimizer


class Adadelta(Optimizer):
    """sq = rho sq + (1 - rho) g^2;  delta = sqrt(acc + eps) / sqrt(sq + eps) * g;
    acc = rho acc + (1 - rho) delta^2;  w -= lr * delta."""

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0.0, *, maximize: bool = False,
                 foreach: bool | None = None) -> None:
        if lr < 0 or not 0 <= rho <= 1 or eps < 0 or weight_decay < 0:
            raise ValueError(f"Adadelta: need lr >= 0, rho in [0, 1], eps >= 0 and "
                             f"weight_decay >= 0, got lr={lr}, rho={rho}, eps={eps}, "
                             f"weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
        rho, eps = group["rho"], group["eps"]
        sq = rho * state.get("square_avg", 0) + (1 - rho) * g * g
        acc = state.get("acc_delta", 0)
        delta = np.sqrt(acc + eps) / np.sqrt(sq + eps) * g
        acc = rho * acc + (1 - rho) * delta * delta
        state.update(step=state.get("step", 0) + 1, square_avg=sq, acc_delta=acc)
        return -group["lr"] * delta
