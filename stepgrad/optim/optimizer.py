"""The optimizer base class: parameter groups, per-parameter state, and one step loop.

Each optimizer (sgd.py, adam.py, ...) writes only `_update(weight, grad, state, group)`,
which returns the change to add to the weight, so its update rule reads as the formula
it is. `step()` applies the change and, when a debugger listens, emits one OptimizerStep
event with every parameter's grad, update and update-to-weight ratio (a healthy ratio is
around 1e-3 per step). Lessons swap an optimizer's `_update` to inject their bugs.

PyTorch: `torch.optim.Optimizer` (param_groups, state, state_dict, add_param_group).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.grad_mode import enable_grad
from stepgrad.tensor import Tensor


class Optimizer:
    """Base class: `param_groups` (a list of dicts, each with its own lr and options) and
    `state` (one dict per parameter, keyed by the parameter as in PyTorch)."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params should be an iterable of tensors "
                            f"(model.parameters() or [w, b]), got a single tensor")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list; pass "
                             f"model.parameters()")
        self.defaults = defaults
        self.param_groups: list[dict[str, Any]] = []
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.steps = 0
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (unset ones take the defaults),
        e.g. a smaller lr for a pretrained body:
        `opt.add_param_group({"params": body.parameters(), "lr": 1e-4})`."""
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for value in params:
            if not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be tensors, got "
                                f"{type(value).__name__}")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one "
                             f"parameter group; give each tensor to one group only")
        self.param_groups.append({**self.defaults, **param_group, "params": params})

    @property
    def lr(self) -> float:
        """The first group's learning rate (setting it sets every group's): a shortcut of
        stepgrad's, where PyTorch writes `param_groups[0]["lr"]`."""
        return float(self.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        for group in self.param_groups:
            group["lr"] = value

    def parameters(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (call it before each backward). PyTorch 2
        sets them to None; `set_to_none=False` gives zeros of the gradient's shape."""
        params = self.parameters()
        for p in params:
            zero_grad_of(p, set_to_none)
        if events.listeners:
            events.emit(events.ZeroGrad(seq=events.next_seq(), owner=type(self).__name__,
                                        params=len(params)))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient. A `closure` that re-evaluates the
        model and returns the loss is called first (with gradients on), as in PyTorch."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self.steps += 1
        listening = bool(events.listeners)
        updates = []
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = grad_array(p)
                ascent = -grad if group.get("maximize") else grad
                weights = p.numpy()  # the plain array (p.data is a TensorData view of it)
                change = self._update(weights, ascent, self.state[p], group)
                if listening:
                    updates.append(_param_update(p, grad, change))
                # a new array, not a write into the old: arrays the debugger recorded stay true
                p.data = (weights + change).astype(weights.dtype, copy=False)
        if listening:
            events.emit(events.OptimizerStep(seq=events.next_seq(), optimizer=type(self).__name__,
                                             lr=self.lr, step=self.steps, params=tuple(updates)))
        return loss

    def _update(self, weight: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} has no update rule (_update)")

    # -- saving -----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}: parameters
        are numbered in group order, as in PyTorch, so the dict holds no tensors of the model."""
        index = {id(p): i for i, p in enumerate(self.parameters())}
        groups = [{**{k: v for k, v in g.items() if k != "params"},
                   "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        state = {index[id(p)]: {k: _copy(v) for k, v in s.items()}
                 for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by `state_dict` (also PyTorch's, tensors become
        numpy arrays); the parameter groups must have the same sizes."""
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in self.param_groups]
        if sizes != [len(g["params"]) for g in groups]:
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved parameter groups "
                             f"have sizes {[len(g['params']) for g in groups]}, this optimizer's "
                             f"have {sizes}")
        by_index: dict[int, Tensor] = {}
        for own, saved in zip(self.param_groups, groups):
            by_index.update(zip(saved["params"], own["params"]))
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            self.state[by_index[int(key)]] = {k: _from_saved(v) for k, v in values.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"


def grad_array(p: Tensor) -> np.ndarray:
    """A parameter's gradient as a numpy array, whether `.grad` holds a Tensor or an array."""
    grad = p.grad
    return grad.numpy() if isinstance(grad, Tensor) else np.asarray(grad)


def zero_grad_of(p: Tensor, set_to_none: bool) -> None:
    """Set one parameter's gradient to None, or to zeros of its shape."""
    if set_to_none or p.grad is None:
        p.grad = None
    elif isinstance(p.grad, Tensor):
        p.grad.data = np.zeros_like(p.grad.data)  # rebind: recorded gradients stay true
    else:
        p.grad = np.zeros_like(p.grad)


def lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """start + weight * (end - start), in the form PyTorch's `lerp_` picks for this weight
    (it turns around past 0.5 to keep rounding small), so moving averages agree bit for bit.
    Adam's m = b1 m + (1 - b1) g is `lerp(m, g, 1 - b1)` in PyTorch 2."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - start.dtype.type(weight))


def changed(weight: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The change that takes `weight` to `new`, for a rule PyTorch writes as several in-place
    updates of the weight (decay, then one or two steps): computing the new weight in
    PyTorch's order and subtracting gives back its rounding, since w + (new - w) == new
    whenever new and w are within a factor of 2 of each other (Sterbenz's lemma)."""
    return new - weight


def weight_decayed(weight: np.ndarray, grad: np.ndarray,
                   group: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(the weight to step from, the gradient to use) under `weight_decay`: decoupled (the
    weight shrinks by lr * decay first, AdamW's way) when the group says so, else the decay
    joins the gradient (L2)."""
    decay = group["weight_decay"]
    if decay and group.get("decoupled_weight_decay"):
        return weight * (1 - group["lr"] * decay), grad
    return weight, grad + decay * weight if decay else grad


def moment(state: dict[str, Any], key: str, weight: np.ndarray) -> np.ndarray:
    """A state array (a running moment), or zeros of the weight's shape before the first
    step, as PyTorch's optimizers start them."""
    value = state.get(key)
    return np.zeros_like(weight) if value is None else value


def check_adam_options(lr: float, betas: tuple[float, float], eps: float,
                       weight_decay: float) -> None:
    """The checks PyTorch's Adam family makes, with its messages."""
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def refuse_graph_options(name: str, capturable: bool, differentiable: bool) -> None:
    """PyTorch's `capturable` (CUDA graphs) and `differentiable` (backward through the step)
    have no meaning here: stepgrad runs on the CPU, and a step changes weights outside
    autograd so the debugger sees it as one OptimizerStep event."""
    if capturable:
        raise ValueError(f"{name}: capturable=True is for CUDA graphs and stepgrad has no GPU "
                         f"(PyTorch refuses it for CPU tensors too); leave it False")
    if differentiable:
        raise ValueError(f"{name}: differentiable=True (a backward through the optimizer step) "
                         f"is not supported: stepgrad's steps run outside autograd")


def _norm(array: np.ndarray) -> float:
    return math.sqrt(float(np.vdot(array, array)))  # np.linalg.norm, without its overhead


def _param_update(p: Tensor, grad: np.ndarray, change: np.ndarray) -> events.ParamUpdate:
    # make(name, grad, update, weight_norm); the grad is copied (a user may change .grad in
    # place later), the update is a fresh array the step made
    return events.ParamUpdate.make(p.name, grad.copy(), change, _norm(p.data))


def _copy(value: Any) -> Any:
    """A state array as a tensor of its own (a copy), as PyTorch's state_dict holds tensors."""
    return Tensor(value.copy()) if isinstance(value, np.ndarray) else value


def _from_saved(value: Any) -> Any:
    """A saved state value (stepgrad or PyTorch tensor, array, number) as the plain numpy
    array or number the update rules work with."""
    if isinstance(value, Tensor):
        value = value.data
    elif hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.item() if value.ndim == 0 else value.copy()
    return value
