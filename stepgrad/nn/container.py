"""Containers: modules that hold other modules so their parameters are registered.
A plain Python list of layers would hide them from `parameters()` (and the optimizer);
ModuleList and ModuleDict register each one. PyTorch: `nn.Sequential`, `nn.ModuleList`,
`nn.ModuleDict`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from stepgrad.nn.module import Module


def _check(owner: str, module: Any) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: expected an nn.Module, got {type(module).__name__}")
    return module


class Sequential(Module):
    """Layers applied one after another; index it like a list (`model[0]`).
    Sequential(OrderedDict(name=layer, ...)) names the layers."""

    def __init__(self, *layers: Any) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], Mapping):
            for name, layer in layers[0].items():
                setattr(self, name, _check("Sequential", layer))
            return
        for index, layer in enumerate(layers):
            setattr(self, str(index), _check("Sequential", layer))

    def __getitem__(self, index: int | slice) -> Any:
        layers = list(self._modules.values())
        return Sequential(*layers[index]) if isinstance(index, slice) else layers[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, layer: Module) -> Sequential:
        setattr(self, str(len(self._modules)), _check("Sequential.append", layer))
        return self

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x


class ModuleList(Module):
    """A list of modules, each registered (its parameters are the model's). Has no forward:
    the model's forward decides how to use them, e.g. `for block in self.blocks: x = block(x)`."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, index: int) -> str:
        if not -len(self) <= index < len(self):
            raise IndexError(f"ModuleList: index {index} is out of range for {len(self)} modules")
        return str(index % len(self))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        setattr(self, self._index(index), _check("ModuleList", module))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        setattr(self, str(len(self)), _check("ModuleList.append", module))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        items = list(self._modules.values())
        items.insert(index, _check("ModuleList.insert", module))
        self._modules.clear()
        self.extend(items)

    def __repr__(self) -> str:
        # PyTorch's form: runs of equal layers print once, "(0-2): 3 x Linear(...)"
        if not len(self):
            return "ModuleList()"
        runs: list[list[Any]] = []
        for i, text in enumerate(repr(m) for m in self):
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [f"({a}): {text}" if a == b else f"({a}-{b}): {b - a + 1} x {text}"
                 for a, b, text in runs]
        return "ModuleList(\n  " + "\n  ".join(x.replace("\n", "\n  ") for x in lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules by name, each registered; keeps insertion order."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        setattr(self, key, _check("ModuleDict", module))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self._modules[key]
        del self[key]
        return module

    def clear(self) -> None:
        for key in list(self._modules):
            del self[key]

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module
