"""Modules, optimizers and zero_grad of a torch program as stepgrad events.

    module calls     torch.nn.modules.module.register_module_forward_pre_hook / _hook
                     (global: every module) -> ModuleEnter / ModuleExit with full paths
    optimizer steps  torch.optim.optimizer.register_optimizer_step_pre_hook / _post_hook
                     -> OptimizerStep: per parameter its grad, update, update/weight ratio
    zero_grad        Optimizer.zero_grad and Module.zero_grad, wrapped while installed
                     (PyTorch has no hook for it) -> ZeroGrad

The hooks are global to the process; `install()` counts its callers and the last
`uninstall()` removes them. They act only in a thread where the bridge is active.
"""

from __future__ import annotations

import functools
import math
import threading
import weakref
from typing import Any

import numpy as np
import torch
from torch.nn.modules import module as nn_module
from torch.optim import optimizer as optim_module

from stepgrad import events
from stepgrad.torchbridge.state import local, snapshot, tag

_lock = threading.Lock()
_installed: list[Any] = []  # handles and undo functions while installed
_users = 0
_no_torch_function = torch._C.DisableTorchFunction


def install() -> None:
    """Register the global hooks (once, however many callers)."""
    global _users
    with _lock:
        _users += 1
        if _users > 1:
            return
        _installed.extend([
            nn_module.register_module_forward_pre_hook(_enter_module),
            nn_module.register_module_forward_hook(_exit_module, always_call=True),
            optim_module.register_optimizer_step_pre_hook(_before_step),
            optim_module.register_optimizer_step_post_hook(_after_step),
            _wrap_zero_grad(torch.optim.Optimizer),
            _wrap_zero_grad(torch.nn.Module),
            _wrap_function_apply(),
        ])


def uninstall() -> None:
    global _users
    with _lock:
        _users -= 1
        if _users > 0:
            return
        for handle in reversed(_installed):
            handle.remove()
        _installed.clear()


def _listening() -> bool:
    return bool(events.listeners) and local.active and not local.quiet


# -- modules --------------------------------------------------------------------------------
def _enter_module(module: torch.nn.Module, args: Any) -> None:
    entered = local.entered
    if not _listening():
        entered.append(False)
        return
    stack = events.module_stack
    if not stack:
        _name_root(module)
    depth = len(stack)
    path = local.paths.get(id(module))
    if path is None:  # a module outside the outermost one's tree (made on the fly)
        parent = stack[-1] if stack else ""
        own = type(module).__name__.lower()
        path = f"{parent}.{own}" if parent else own
    stack.append(path)
    entered.append(True)
    events.emit(events.ModuleEnter(seq=events.next_seq(), depth=depth, path=path,
                                   module=type(module).__name__))


def _exit_module(module: torch.nn.Module, args: Any, output: Any) -> None:
    entered = local.entered
    if not entered or not entered.pop():
        return
    stack = events.module_stack
    path = stack.pop() if stack else ""
    if events.listeners:
        events.emit(events.ModuleExit(seq=events.next_seq(), depth=len(stack), path=path,
                                      module=type(module).__name__))


def _name_root(root: torch.nn.Module) -> None:
    """Paths of the outermost module's submodules ("" for itself, "fc1", "encoder.0"), and
    its parameters' names (`fc1.weight`), as `model.named_parameters()` gives them."""
    if local.root is not None and local.root() is root:
        return
    local.root = weakref.ref(root)
    local.paths = {id(m): name for name, m in root.named_modules()}
    for name, p in root.named_parameters():
        tag(p, "_stepgrad_name", name)


# -- optimizers -----------------------------------------------------------------------------
def _before_step(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
    """Remember each parameter's value and gradient before the step changes it."""
    pending = local.steps
    if not _listening():
        pending.append(None)
        return
    local.quiet += 1  # the optimizer's own arithmetic is not the model's
    with _no_torch_function():
        before = [(p, snapshot(p), snapshot(p.grad)) for group in optimizer.param_groups
                  for p in group["params"] if p.grad is not None]
    pending.append(before)


def _after_step(optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
    pending = local.steps
    before = pending.pop() if pending else None
    if before is None:
        return
    local.quiet -= 1
    counts = local.step_counts
    counts[id(optimizer)] = step = counts.get(id(optimizer), 0) + 1
    with _no_torch_function():
        params = tuple(_param_update(i, p, old, grad) for i, (p, old, grad) in enumerate(before))
    lr = optimizer.param_groups[0].get("lr", 0.0) if optimizer.param_groups else 0.0
    if events.listeners:
        events.emit(events.OptimizerStep(seq=events.next_seq(), optimizer=type(optimizer).__name__,
                                         lr=float(lr), step=step, params=params))


def _param_update(index: int, p: torch.Tensor, old: np.ndarray,
                  grad: np.ndarray) -> events.ParamUpdate:
    name = getattr(p, "_stepgrad_name", None) or f"param{index}"
    update = p.detach().cpu().numpy() - old  # a fresh array: no snapshot needed first
    return events.ParamUpdate(name=name, grad=grad, update=update,
                              weight_norm=math.sqrt(float(np.vdot(old, old))))


# -- zero_grad and custom Functions ----------------------------------------------------------
class _Undo:
    """Puts back the attribute `name` of `owner` that the bridge wrapped."""

    def __init__(self, owner: type, name: str, original: Any) -> None:
        self.owner, self.name, self.original = owner, name, original

    def remove(self) -> None:
        setattr(self.owner, self.name, self.original)


def _wrap_function_apply() -> _Undo:
    """`MyFn.apply(x)` of a custom torch.autograd.Function: PyTorch's function mode does not
    see it as one call, so Function.apply is wrapped while the bridge is installed."""
    from stepgrad.torchbridge.forward import record_function

    function = torch.autograd.Function
    original = function.__dict__["apply"]  # the classmethod object itself

    def apply(cls: type, *args: Any, **kwargs: Any) -> Any:
        bound = original.__get__(None, cls)
        if not _listening():
            return bound(*args, **kwargs)
        return record_function(cls, bound, args, kwargs)

    function.apply = classmethod(apply)  # type: ignore[assignment, method-assign]
    return _Undo(function, "apply", original)


def _wrap_zero_grad(owner: type) -> _Undo:
    original = owner.zero_grad  # type: ignore[attr-defined]

    @functools.wraps(original)
    def zero_grad(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _listening():
            return original(self, *args, **kwargs)
        local.quiet += 1
        try:
            result = original(self, *args, **kwargs)
        finally:
            local.quiet -= 1
        params = (sum(len(g["params"]) for g in self.param_groups)
                  if isinstance(self, torch.optim.Optimizer)
                  else sum(1 for _ in self.parameters()))
        events.emit(events.ZeroGrad(seq=events.next_seq(), owner=type(self).__name__,
                                    params=params))
        return result

    owner.zero_grad = zero_grad  # type: ignore[attr-defined]
    return _Undo(owner, "zero_grad", original)
