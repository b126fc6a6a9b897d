"""The op registry: every op by its name, and the one way to swap its forward or backward.

    @register
    class Cube(Function):
        name = "cube"
        ...

    sg.ops.get("relu")                       # the class
    with sg.ops.patch("relu", backward=f):   # lessons inject bugs this way, reversibly
        ...

This is the extension point (HIPS autograd's `defvjp` table): lessons find the op to
break by name, users register their own ops, and a test walks the registry to make sure
every op has a gradient test.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from stepgrad.function import Function

registry: dict[str, type[Function]] = {}

F = TypeVar("F", bound=type[Function])


def register(cls: F) -> F:
    """Add an op class to the registry under `cls.name` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        raise TypeError(f"register: expected a Function subclass, got {cls!r}")
    if cls.name in registry and registry[cls.name] is not cls:
        raise ValueError(f"register: an op named {cls.name!r} is already registered "
                         f"({registry[cls.name].__qualname__}); choose another name")
    registry[cls.name] = cls
    return cls


def get(name: str) -> type[Function]:
    """The op class registered as `name`; a clear error suggests the closest names."""
    try:
        return registry[name]
    except KeyError:
        close = difflib.get_close_matches(name, registry, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"no op named {name!r}{hint} (sg.ops.names() lists them)") from None


def names() -> list[str]:
    """The names of every registered op, sorted."""
    return sorted(registry)


@contextlib.contextmanager
def patch(name: str, forward: Callable[..., Any] | None = None,
          backward: Callable[..., Any] | None = None) -> Iterator[type[Function]]:
    """Replace op `name`'s forward and/or backward inside a `with` block, then restore them.

    The replacements have the op's own signatures: `forward(ctx, *arrays, **attrs)` and
    `backward(ctx, grad)`. Every tensor method and layer goes through the registered class,
    so the swap reaches all of them.
    """
    cls = get(name)
    saved = {key: cls.__dict__[key] for key in ("forward", "backward") if key in cls.__dict__}
    try:
        if forward is not None:
            cls.forward = staticmethod(forward)
        if backward is not None:
            cls.backward = staticmethod(backward)
        yield cls
    finally:
        for key in ("forward", "backward"):
            if key in saved:
                setattr(cls, key, saved[key])
            elif key in cls.__dict__:
                delattr(cls, key)


def original(name: str, which: str) -> Callable[..., Any]:
    """The op's current forward or backward function (`which` is "forward" or "backward")."""
    return getattr(get(name), which)
