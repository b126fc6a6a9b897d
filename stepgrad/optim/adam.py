"""Adam and AdamW: momentum (the first moment) divided by a running RMS of the gradient
(the second moment), both corrected for starting at zero. PyTorch: `torch.optim.Adam`,
`torch.optim.AdamW`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad.optim.optimizer import Optimizer


def _check(name: str, lr: float, betas: tuple[float, float], eps: float) -> None:
    if lr < 0 or eps < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
        raise ValueError(f"{name}: need lr >= 0, eps >= 0 and betas in [0, 1), got lr={lr}, "
                         f"eps={eps}, betas={betas}")


class Adam(Optimizer):
    """g = grad + weight_decay * w;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    w -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    (amsgrad: v in the denominator is the largest v seen so far)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None) -> None:
        _check(type(self).__name__, lr, betas, eps)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
        return adam_step(g, state, group)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): the weight shrinks by
    lr * weight_decay * w directly instead of weight decay joining the gradient, so the
    decay is not divided by Adam's RMS. w -= lr * weight_decay * w, then Adam's step."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         foreach=foreach)

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        decay = -group["lr"] * group["weight_decay"] * weight
        return decay + adam_step(grad, state, group)


def adam_step(g: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> np.ndarray:
    """Adam's change for gradient g, updating the moments in `state` (PyTorch's order of
    operations, so the numbers agree to rounding)."""
    (b1, b2), t = group["betas"], state.get("step", 0) + 1
    m = b1 * state.get("exp_avg", 0) + (1 - b1) * g
    v = b2 * state.get("exp_avg_sq", 0) + (1 - b2) * g * g
    state.update(step=t, exp_avg=m, exp_avg_sq=v)
    if group.get("amsgrad"):
        v = state["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", v), v)
    bias_correction1, bias_correction2 = 1 - b1**t, 1 - b2**t
    denom = np.sqrt(v) / np.sqrt(bias_correction2) + group["eps"]
    return -(group["lr"] / bias_correction1) * m / denom
