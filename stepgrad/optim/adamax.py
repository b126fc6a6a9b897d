"""Adamax: Adam with the infinity norm. Instead of a running mean of g^2, each weight keeps
a decaying maximum of |g|, so one large gradient sets the step size until it decays away.
PyTorch: `torch.optim.Adamax`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad.optim.optimizer import (
    Optimizer,
    check_adam_options,
    lerp,
    moment,
    refuse_graph_options,
)


class Adamax(Optimizer):
    """g = grad + weight_decay * w;  m = b1 m + (1 - b1) g;  u = max(b2 u, |g| + eps);
    w -= lr / (1 - b1^t) * m / u   (Kingma & Ba, section 7.1)."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 capturable: bool = False) -> None:
        check_adam_options(lr, betas, eps, weight_decay)
        refuse_graph_options("Adamax", capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize,
                                      differentiable=differentiable, capturable=capturable))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
        (b1, b2), t = group["betas"], state.get("step", 0) + 1
        m = lerp(moment(state, "exp_avg", weight), g, 1 - b1)
        u = np.maximum(moment(state, "exp_inf", weight) * b2, np.abs(g) + group["eps"])
        state.update(step=t, exp_avg=m, exp_inf=u)
        return -(group["lr"] / (1 - b1**t)) * m / u

