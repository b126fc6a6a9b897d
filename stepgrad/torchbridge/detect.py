"""Does a program use PyTorch? Answered without importing torch.

`stepgrad debug train.py` gives a script the torch bridge when its source imports torch
(`import torch`, `import torch.nn as nn`, `from torch import nn`): read with `ast`, so
a comment or a string that mentions torch does not count. `sg.debug(fn)` and
`sg.set_trace()` ask `function_uses_torch`: torch is already imported and the function's
module refers to it.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Callable
from typing import Any


def source_imports_torch(source: str) -> bool:
    """True when Python `source` has an `import torch...` or `from torch... import` statement
    (anywhere: at the top, inside a function, under `if`). Unreadable source counts as no."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(_is_torch(alias.name) for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_torch(node.module or ""):
            return True
    return False


def script_uses_torch(path: str) -> bool:
    """True when the script at `path` imports torch (see `source_imports_torch`)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return source_imports_torch(handle.read())
    except (OSError, UnicodeDecodeError):
        return False


def function_uses_torch(fn: Callable[..., Any], *args: Any) -> bool:
    """True when torch is imported and `fn` (or an argument) belongs to a torch program: its
    module's globals or the variables it closes over hold torch or something from it, or an
    argument is a torch object."""
    if "torch" not in sys.modules:
        return False
    names = getattr(fn, "__globals__", None) or {}
    cells = [_contents(cell) for cell in getattr(fn, "__closure__", None) or ()]
    return names_use_torch(names) or any(map(_from_torch, (*cells, *args)))


def _contents(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # a variable not assigned yet
        return None


def names_use_torch(names: dict[str, Any]) -> bool:
    """True when torch is imported and a module's globals `names` hold torch or something
    from it (`import torch`, `from torch import nn`, a model made with torch)."""
    return "torch" in sys.modules and any(_from_torch(value) for value in names.values())


def _is_torch(module: str) -> bool:
    return module == "torch" or module.startswith("torch.")


def _from_torch(value: Any) -> bool:
    if isinstance(value, types.ModuleType):
        return _is_torch(value.__name__)
    return _is_torch(getattr(type(value), "__module__", "") or "")
