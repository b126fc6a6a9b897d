"""Containers of Parameters: a plain Python list or dict of weights would hide them from
`parameters()`, the optimizer and the state dict; these register each one, under PyTorch's
key names (`plist.0`, `pdict.scale`). PyTorch: `nn.ParameterList`, `nn.ParameterDict`.

A plain Tensor put in either becomes a Parameter (it requires a gradient), as in PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from stepgrad.nn.module import Module, Parameter
from stepgrad.tensor import Tensor

# how torch.typename spells a dtype (ParameterDict prints it)
_TYPENAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
              "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
              "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def _as_parameter(value: Any) -> Any:
    return Parameter(value) if isinstance(value, Tensor) and \
        not isinstance(value, Parameter) else value


def _describe(value: Any, dtype_name: str) -> str:
    """PyTorch's line for one entry: `Parameter containing: [torch.float32 of size 2x3]`."""
    if not isinstance(value, Tensor):
        return f"Object of type: {type(value).__name__}"
    size = "x".join(str(n) for n in value.shape)
    kind = "Parameter" if isinstance(value, Parameter) else "Tensor"
    return f"{kind} containing: [torch.{dtype_name} of size {size}]"


class _Registering(Module):
    def _put(self, key: str, value: Any) -> None:
        value = _as_parameter(value)
        if isinstance(value, Parameter):
            self.register_parameter(key, value)  # keeps its place when replaced, as in PyTorch
        else:
            setattr(self, key, value)


class ParameterList(_Registering):
    """A list of Parameters, each registered under its index (`0`, `1`, ...)."""

    _size: int  # set with object.__setattr__: a count, not something to register

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        object.__setattr__(self, "_size", 0)
        if values is not None:
            self.extend(values)

    def _key(self, index: int) -> str:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range")
        return str(index % len(self))

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ParameterList([self[i] for i in range(len(self))[index]])
        return getattr(self, self._key(index))

    def __setitem__(self, index: int, value: Any) -> None:
        self._put(self._key(index), value)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[Any]:
        return (self[i] for i in range(len(self)))

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def append(self, value: Any) -> ParameterList:
        object.__setattr__(self, "_size", self._size + 1)
        self._put(str(self._size - 1), value)
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def extra_repr(self) -> str:
        return "\n".join(f"  ({i}): {_describe(p, str(getattr(p, 'dtype', '')))}"
                         for i, p in enumerate(self))


class ParameterDict(_Registering):
    """A dict of Parameters by name, each registered under its key; keeps insertion order."""

    _keys: dict[str, None]

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        object.__setattr__(self, "_keys", {})  # the keys in order (a dict as an ordered set)
        if parameters is not None:
            self.update(parameters)

    def _check(self, key: Any) -> str:
        if not isinstance(key, str):
            raise TypeError(f"Index given to ParameterDict cannot be used as a key as it is not "
                            f"a string (type is '{type(key).__name__}'). Open an issue on github "
                            f"if you need non-string keys.")
        if "." in key or not key:
            raise KeyError('parameter name can\'t contain "."' if key else
                           'parameter name can\'t be empty string ""')
        if key not in self._keys and hasattr(self, key):
            raise KeyError(f"attribute '{key}' already exists")
        return key

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise AttributeError(f"'ParameterDict' object has no attribute '{key}'")
        return getattr(self, key)

    def __setitem__(self, key: str, value: Any) -> None:
        self._keys[self._check(key)] = None
        self._put(key, value)

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> Iterable[str]:
        return list(self._keys)

    def values(self) -> Iterable[Any]:
        return [self[key] for key in self._keys]

    def items(self) -> Iterable[tuple[str, Any]]:
        return [(key, self[key]) for key in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default

    def pop(self, key: str) -> Any:
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(self._keys):
            del self[key]

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add or replace entries. A plain dict's entries go in sorted by key (PyTorch's
        rule); an OrderedDict's, a ParameterDict's or a list of pairs' in their order."""
        pairs: Iterable[tuple[str, Any]] = parameters  # type: ignore[assignment]
        if isinstance(parameters, (OrderedDict, ParameterDict)):
            pairs = parameters.items()
        elif isinstance(parameters, Mapping):
            pairs = sorted(parameters.items())
        for key, value in pairs:
            self[key] = value

    def extra_repr(self) -> str:
        def typename(p: Any) -> str:
            return _TYPENAMES.get(np.dtype(p.dtype).name, "Tensor")

        return "\n".join(f"  ({k}): {_describe(p, typename(p) if isinstance(p, Tensor) else '')}"
                         for k, p in self.items())
