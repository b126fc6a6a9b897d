"""Optimizers: SGD (momentum, Nesterov, weight decay), Adam and RMSprop, with PyTorch's
update rules exactly, so a run here and a run in PyTorch give the same numbers.

Each optimizer writes only `_update(param, grad, state, group)`, which returns the change
to add to the weight; `step()` applies it and, when a debugger listens, emits one
OptimizerStep event with every parameter's grad, update and update-to-weight ratio
(a healthy ratio is around 1e-3 per step).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.tensor import Tensor


class Optimizer:
    """Base class: parameter groups and per-parameter state. PyTorch: torch.optim.Optimizer."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list; pass "
                             f"model.parameters()")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        for group in groups:
            full = {**defaults, **group, "params": list(group["params"])}
            for value in full["params"]:
                if not isinstance(value, Tensor):
                    raise TypeError(f"{type(self).__name__}: parameters must be tensors, got "
                                    f"{type(value).__name__}")
            self.param_groups.append(full)
        self.state: dict[int, dict[str, Any]] = {}
        self.steps = 0

    @property
    def lr(self) -> float:
        return float(self.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value

    def parameters(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (call it before each backward)."""
        params = self.parameters()
        for p in params:
            p.grad = None if set_to_none or p.grad is None else np.zeros_like(p.grad)
        if events.listeners:
            events.emit(events.ZeroGrad(seq=events.next_seq(), owner=type(self).__name__,
                                        params=len(params)))

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        self.steps += 1
        listening = bool(events.listeners)
        updates = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(id(p), {})
                change = self._update(p.data, p.grad, state, group)
                if listening:
                    updates.append(_param_update(p, change))
                p.data += change.astype(p.data.dtype, copy=False)
        if listening:
            events.emit(events.OptimizerStep(seq=events.next_seq(), optimizer=type(self).__name__,
                                             lr=self.lr, step=self.steps, params=tuple(updates)))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError


def _norm(array: np.ndarray) -> float:
    return math.sqrt(float(np.vdot(array, array)))  # np.linalg.norm, without its overhead


def _param_update(p: Tensor, change: np.ndarray) -> events.ParamUpdate:
    # make(name, grad, update, weight_norm); the grad is copied (a user may change .grad in
    # place later), the update is a fresh array the step made
    return events.ParamUpdate.make(p.name, p.grad.copy(), change, _norm(p.data))


class SGD(Optimizer):
    """g = grad + weight_decay * w;  buf = momentum * buf + (1 - dampening) * g;
    w -= lr * (g + momentum * buf if nesterov else buf).  PyTorch: torch.optim.SGD."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False) -> None:
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: lr, momentum and weight_decay must be >= 0, got lr={lr}, "
                             f"momentum={momentum}, weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: nesterov needs momentum > 0 and dampening 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

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


class Adam(Optimizer):
    """m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  m_hat = m / (1 - b1^t);
    v_hat = v / (1 - b2^t);  w -= lr * m_hat / (sqrt(v_hat) + eps).  PyTorch: torch.optim.Adam."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        if lr < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise ValueError(f"Adam: need lr >= 0 and betas in [0, 1), got lr={lr}, betas={betas}")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
        (b1, b2), t = group["betas"], state.get("step", 0) + 1
        m = b1 * state.get("exp_avg", 0) + (1 - b1) * g
        v = b2 * state.get("exp_avg_sq", 0) + (1 - b2) * g * g
        state.update(step=t, exp_avg=m, exp_avg_sq=v)
        bias_correction1, bias_correction2 = 1 - b1**t, 1 - b2**t
        denom = np.sqrt(v) / np.sqrt(bias_correction2) + group["eps"]
        return -(group["lr"] / bias_correction1) * m / denom


class RMSprop(Optimizer):
    """sq = alpha sq + (1 - alpha) g^2;  w -= lr * g / (sqrt(sq) + eps)
    (centered: sqrt(sq - mean(g)^2); momentum: a buffer of g / (sqrt(sq) + eps)).
    PyTorch: torch.optim.RMSprop."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False) -> None:
        if lr < 0 or not 0 <= alpha <= 1:
            raise ValueError(f"RMSprop: need lr >= 0 and alpha in [0, 1], got lr={lr}, "
                             f"alpha={alpha}")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        g = grad + group["weight_decay"] * weight if group["weight_decay"] else grad
        alpha = group["alpha"]
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


__all__ = ["SGD", "Adam", "Optimizer", "RMSprop"]
