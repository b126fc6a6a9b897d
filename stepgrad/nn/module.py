"""Module and Parameter: how a network holds its weights and names them.

A Module registers every Parameter and sub-Module assigned to it as an attribute, so
`named_parameters()` can walk the tree and give each weight its path (`fc1.weight`).
Calling a module runs its `forward`; when a debugger listens, the call is framed by
ModuleEnter / ModuleExit events and the nodes inside carry the module's path.
Saving (state_dict), dtype and device moves live in nn/module_state.py.
PyTorch: `torch.nn.Module`, `torch.nn.Parameter`.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.nn.module_state import StateMixin, load, save
from stepgrad.optim.optimizer import zero_grad_of
from stepgrad.tensor import Tensor

__all__ = ["Module", "Parameter", "RemovableHandle", "load", "save"]


class Parameter(Tensor):
    """A tensor that is a weight of a module: it requires a gradient by default.
    `nn.Parameter(torch.randn(3, 4))` wraps the data of a tensor or an array."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True,
                 name: str | None = None) -> None:
        if data is None:
            data = np.empty(0, dtype=np.float32)
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class RemovableHandle:
    """What `register_forward_hook` returns: `handle.remove()` unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict[int, Callable[..., Any]]) -> None:
        self.hooks, self.id = hooks, next(self._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Module(StateMixin):
    """Base class of layers and models: subclass it, set layers in `__init__`, write `forward`."""

    training: bool
    # set in __init__ with object.__setattr__ (they hold what __setattr__ registers)
    _parameters: OrderedDict[str, Parameter | None]
    _modules: OrderedDict[str, Module]
    _buffers: OrderedDict[str, bool]  # name -> persistent (the value is the attribute)
    _forward_hooks: OrderedDict[int, Callable[..., Any]]
    _forward_pre_hooks: OrderedDict[int, Callable[..., Any]]
    _named: bool

    def __init__(self) -> None:
        for name in ("_parameters", "_modules", "_buffers", "_forward_hooks",
                     "_forward_pre_hooks"):
            object.__setattr__(self, name, OrderedDict())
        object.__setattr__(self, "_named", False)
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() at the start "
                                 f"of __init__ before assigning {name!r}")
        if name in self._parameters and not isinstance(value, (Parameter, Module)):
            if value is not None:  # it would quietly stop being trained: PyTorch refuses too
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                f"(nn.Parameter or None expected); to change its values, "
                                f"write them under torch.no_grad() or wrap: nn.Parameter(...)")
            self._parameters[name] = None  # stays registered, as in PyTorch (a removed bias)
            object.__setattr__(self, name, None)
            return
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            self._buffers.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._modules, self._buffers):
            table.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Keep a non-learned tensor or array (BatchNorm's running mean, an attention mask)
        with the module: it follows `.to(dtype)` and, if persistent, the state dict."""
        self._buffers[name] = persistent
        object.__setattr__(self, name, tensor)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register a Parameter (or None, a slot without a weight) under `name`."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be an nn.Parameter or None, got "
                            f"{type(param).__name__}; wrap it: nn.Parameter(tensor)")
        self._parameters[name] = param
        object.__setattr__(self, name, param)

    def add_module(self, name: str, module: Module | None) -> None:
        self._modules[name] = module  # type: ignore[assignment]  # None: an empty slot
        object.__setattr__(self, name, module)

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        module = self
        for part in target.split(".") if target else ():
            if part not in module._modules:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r}")
            module = module._modules[part]
        return module

    # -- calling ----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward method")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._forward_hooks or self._forward_pre_hooks:
            return self._call_with_hooks(args, kwargs)
        if not events.listeners:
            return self.forward(*args, **kwargs)
        return self._call_recorded(args, kwargs)

    def _call_recorded(self, args: tuple, kwargs: dict[str, Any]) -> Any:
        """forward framed by ModuleEnter / ModuleExit events, with the module's path."""
        if not events.module_stack:
            self._name_parameters()
        stack = events.module_stack
        depth, name = len(stack), self._path_name()
        parent = stack[-1] if stack else ""
        path = f"{parent}.{name}" if parent and name else parent or name
        stack.append(path)
        kind = type(self).__name__
        # make(seq, depth, path, module): every field in order (the fast constructor)
        events.emit(events.ModuleEnter.make(events.next_seq(), depth, path, kind))
        try:
            return self.forward(*args, **kwargs)
        finally:
            del events.module_stack[depth:]
            if events.listeners:
                events.emit(events.ModuleExit.make(events.next_seq(), depth, path, kind))

    def _call_with_hooks(self, args: tuple, kwargs: dict[str, Any]) -> Any:
        """Pre-hooks may replace the inputs, hooks the output (a hook returning None keeps it)."""
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        if events.listeners:
            output = self._call_recorded(args, kwargs)
        else:
            output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call `hook(module, args, output)` after every forward (to look at activations)."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> RemovableHandle:
        """Call `hook(module, args)` before every forward."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def _path_name(self) -> str:
        return self.__dict__.get("_child_name", "")

    def _name_parameters(self) -> None:
        """Give every parameter its path as name (`fc1.weight`), once, for the debugger."""
        if self._named:
            return
        for path, module in self.named_modules():
            if path:
                object.__setattr__(module, "_child_name", path.rsplit(".", 1)[-1])
        for path, param in self.named_parameters():
            if param._name is None:
                param.name = path
        object.__setattr__(self, "_named", True)

    # -- walking the tree -------------------------------------------------------------
    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from ((name, m) for name, m in self._modules.items() if m is not None)

    def named_modules(self, memo: set[int] | None = None,
                      prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Every module of the tree with its path, each once (a shared one at its first path)."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "",
                         recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its path, each once (a tied weight at its first path)."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for path, module in modules:
            for name, param in module._parameters.items():
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{path}.{name}" if path else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Any]]:
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for path, module in modules:
            for name in module._buffers:
                yield (f"{path}.{name}" if path else name), getattr(module, name)

    def buffers(self, recurse: bool = True) -> Iterator[Any]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call `fn` on every submodule, then on this one (e.g. a custom initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # -- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch-norm uses batch statistics)."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, batch-norm uses running statistics)."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (PyTorch's default sets them to None)."""
        params = list(self.parameters())
        for param in params:
            zero_grad_of(param, set_to_none)
        if events.listeners:
            events.emit(events.ZeroGrad(seq=events.next_seq(), owner=type(self).__name__,
                                        params=len(params)))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    # -- printing ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's own settings, shown inside its parentheses (`in_features=2, ...`)."""
        return ""

    def __repr__(self) -> str:
        # PyTorch's layout: a one-line body stays on the first line, else one item per line
        extra = self.extra_repr().split("\n") if self.extra_repr() else []
        children = [f"({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self._modules.items()]
        if len(extra) == 1 and not children:
            return f"{type(self).__name__}({extra[0]})"
        body = "".join(f"\n  {line}" for line in extra + children)
        return f"{type(self).__name__}({body}\n)" if body else f"{type(self).__name__}()"
