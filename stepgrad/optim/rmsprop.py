"""RMSprop: divide each gradient by a running root-mean-square of its recent values.
PyTorch: `torch.optim.RMSprop`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    """sq = alpha sq + (1 - alpha) g^2;  w -= lr * g / (sqrt(sq) + eps)
    (centered: sqrt(sq - mean(g)^2); momentum: a buffer of g / (sqrt(sq) + eps))."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None) -> None:
        if lr < 0 or not 0 <= alpha <= 1:
            raise ValueError(f"RMSprop: need lr >= 0 and alpha in [0, 1], got lr={lr}, "
                             f"alpha={alpha}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize,
                                      foreach=foreach))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
        alpha = group["alpha"]
        state["step"] = state.get("step", 0) + 1
        sq = state["square_avg"] = alpha * state.get("square_avg", 0) + (1 - alpha) * g * g
        if group["centered"]:
            mean = state["grad_avg"] = alpha * state.get("grad_avg", 0) + (1 - alpha) * g
            avg = np.sqrt(sq - mean * mean) + group["eps"]
        else:
            avg = np.sqrt(sq) + group["eps"]
        if group["momentum"] > 0:
            buf = group["momentum"] * state.get("momentum_buffer", 0) + g / avg
            state["momentum_buffer"] = buf
            return -group["lr"] * buf
        return -group["lr"] * g / avg
