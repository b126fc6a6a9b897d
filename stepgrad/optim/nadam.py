"""NAdam: Adam with Nesterov momentum. The step uses the momentum it will have after this
step (m looked ahead by one), and the momentum coefficient mu_t warms up over the first
few hundred steps (momentum_decay). PyTorch: `torch.optim.NAdam`."""

from __future__ import annotations

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


class NAdam(Optimizer):
    """mu_t = b1 (1 - 0.96^(t psi) / 2) (psi: momentum_decay);  m, v as in Adam;
    w -= lr (1 - mu_t) / (1 - prod mu_1..t) * g / d + lr mu_t+1 / (1 - prod mu_1..t+1) * m / d
    with d = sqrt(v / (1 - b2^t)) + eps (Dozat, 2016). Weight decay joins the gradient, or
    with decoupled_weight_decay=True shrinks the weight as AdamW does."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        check_adam_options(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        refuse_graph_options("NAdam", capturable, differentiable)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach,
                                      capturable=capturable, differentiable=differentiable))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        lr, (b1, b2) = group["lr"], group["betas"]
        start, g = weight_decayed(weight, grad, group)
        t = state.get("step", 0) + 1
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * group["momentum_decay"]))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * group["momentum_decay"]))
        # PyTorch keeps the product of the mu's in a float32 scalar tensor: so do we
        mu_product = np.float32(state.get("mu_product", 1.0)) * np.float32(mu)
        m = lerp(moment(state, "exp_avg", weight), g, 1 - b1)
        v = moment(state, "exp_avg_sq", weight) * b2 + (1 - b2) * g * g
        state.update(step=t, mu_product=np.asarray(mu_product), exp_avg=m, exp_avg_sq=v)
        denom = np.sqrt(v / (1 - b2**t)) + group["eps"]
        mu_product_next = float(mu_product) * mu_next
        now = (-lr * (1.0 - mu) / (1.0 - float(mu_product))) * g / denom
        ahead = ((-lr * mu_next) / (1.0 - mu_product_next)) * m / denom
        return changed(weight, (start + now) + ahead)
