"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay.
PyTorch: `torch.optim.SGD`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad.optim.optimizer import Optimizer


class SGD(Optimizer):
    """g = grad + weight_decay * w;  buf = momentum * buf + (1 - dampening) * g (the first
    step takes buf = g);  w -= lr * (g + momentum * buf if nesterov else buf).

    Momentum is a running sum of past gradients: steps along a direction the gradients
    keep agreeing on grow, zig-zags across a valley cancel out.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got lr={lr}, "
                             f"momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize, foreach=foreach))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            buf = g.copy() if buf is None else momentum * buf + (1 - group["dampening"]) * g
            state["momentum_buffer"] = buf
            g = g + momentum * buf if group["nesterov"] else buf
        return -group["lr"] * g
