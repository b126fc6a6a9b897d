"""Module and Parameter: how a network holds its weights and names them.

A Module registers every Parameter and sub-Module assigned to it as an attribute, so
`named_parameters()` can walk the tree and give each weight its path (`fc1.weight`).
Calling a module runs its `forward`; when a debugger listens, the call is framed by
ModuleEnter / ModuleExit events and the nodes inside carry the module's path.
PyTorch: `torch.nn.Module`, `torch.nn.Parameter`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a weight of a module: it requires a gradient by default."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor("):]


class Module:
    """Base class of layers and models: subclass it, set layers in `__init__`, write `forward`."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_named", False)
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() at the start "
                                 f"of __init__ before assigning {name!r}")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, (Parameter, Module)):
            self._buffers.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep a non-learned array (such as BatchNorm's running mean) in the state dict."""
        self._buffers[name] = True
        object.__setattr__(self, name, array)

    # -- calling ----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward method")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not events.listeners:
            return self.forward(*args, **kwargs)
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
        yield from self._modules.values()

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        for name, param in self._parameters.items():
            yield (f"{prefix}.{name}" if prefix else name), param
        for name, child in self._modules.items():
            yield from child.named_parameters(f"{prefix}.{name}" if prefix else name)

    def parameters(self) -> Iterator[Parameter]:
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for path, module in self.named_modules(prefix):
            for name in module._buffers:
                yield (f"{path}.{name}" if path else name), getattr(module, name)

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
            param.grad = None if set_to_none or param.grad is None else np.zeros_like(param.grad)
        if events.listeners:
            events.emit(events.ZeroGrad(seq=events.next_seq(), owner=type(self).__name__,
                                        params=len(params)))

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    # -- saving -----------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Every parameter and buffer by path, as copies of numpy arrays."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for path, module in self.named_modules():  # PyTorch's order: module by module
            prefix = f"{path}." if path else ""
            for name, param in module._parameters.items():
                state[prefix + name] = param.data.copy()
            for name in module._buffers:
                state[prefix + name] = np.array(getattr(module, name), copy=True)
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays (numpy, stepgrad or PyTorch tensors) into the parameters, by path."""
        own = dict(self.named_parameters())
        buffers = {path for path, _ in self.named_buffers()}
        missing = [k for k in list(own) + sorted(buffers) if k not in state]
        unexpected = [k for k in state if k not in own and k not in buffers]
        if strict and (missing or unexpected):
            raise KeyError(f"load_state_dict: missing keys {missing}, unexpected keys "
                           f"{unexpected}; pass strict=False to load the keys that match")
        for key, value in state.items():
            array = _as_numpy(value)
            if key in own:
                if array.shape != own[key].data.shape:
                    raise ValueError(f"load_state_dict: {key} has shape {own[key].data.shape} "
                                     f"but the state gives {array.shape}")
                own[key].data = array.astype(own[key].data.dtype).copy()
            elif key in buffers:
                module_path, _, name = key.rpartition(".")
                module = dict(self.named_modules())[module_path]
                dtype = np.asarray(getattr(module, name)).dtype
                object.__setattr__(module, name, array.astype(dtype))

    # -- printing ---------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"


def _as_numpy(value: Any) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def save(state: dict[str, Any], path: str) -> None:
    """Save a state dict as a numpy `.npz` file (arrays only, no pickle)."""
    np.savez(path, **{key: _as_numpy(value) for key, value in state.items()})


def load(path: str) -> OrderedDict[str, np.ndarray]:
    """Load a state dict saved by `save` (refuses pickled objects)."""
    with np.load(path, allow_pickle=False) as archive:
        return OrderedDict((key, archive[key]) for key in archive.files)
