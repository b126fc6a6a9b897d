"""RAdam: Adam with its step size rectified. In the first steps the running v averages too
few gradients to trust, so RAdam takes plain momentum steps until the variance of the
adaptive step is finite (rho_t > 5), then multiplies Adam's step by a factor r_t that
grows towards 1. It is a warm-up that needs no schedule. PyTorch: `torch.optim.RAdam`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad.optim.optimizer import (
    Optimizer,
    changed,
    check_adam_options,
    lerp,
    moment,
    refuse_graph_options,
    weight_decayed,
)


class RAdam(Optimizer):
    """m, v as in Adam;  rho_inf = 2 / (1 - b2) - 1;  rho_t = rho_inf - 2 t b2^t / (1 - b2^t);
    if rho_t > 5:  r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
        w -= lr * m / (1 - b1^t) * sqrt(1 - b2^t) / (sqrt(v) + eps) * r_t
    else:  w -= lr * m / (1 - b1^t)   (Liu et al., 2019)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        check_adam_options(lr, betas, eps, weight_decay)
        refuse_graph_options("RAdam", capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      differentiable=differentiable))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        lr, (b1, b2) = group["lr"], group["betas"]
        start, g = weight_decayed(weight, grad, group)
        t = state.get("step", 0) + 1
        m = lerp(moment(state, "exp_avg", weight), g, 1 - b1)
        v = moment(state, "exp_avg_sq", weight) * b2 + (1 - b2) * g * g
        state.update(step=t, exp_avg=m, exp_avg_sq=v)
        bias_correction2 = 1 - b2**t
        corrected = m / (1 - b1**t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2**t) / bias_correction2
        if rho_t <= 5.0:  # too few gradients in v: a plain momentum step
            return changed(weight, start - corrected * lr)
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                         / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        adaptive = bias_correction2**0.5 / (np.sqrt(v) + group["eps"])
        return changed(weight, start - corrected * lr * adaptive * rect)
