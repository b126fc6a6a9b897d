"""Expressions over a node's tensors: what `print`, `display` and `break if` evaluate.

Names available (all numpy arrays, as the user sees them):
    out     the node's output            ins    its inputs (a list)
    grad    the upstream gradient at a backward step
    grads   the gradients it sends to its inputs (a list; None for an input that needs none)
    node    facts about the node: node.op, node.name, node.id, node.module, node.phase
    np      numpy
plus the program's own variables where it is paused. Statistics may be written without
parentheses: `grad.norm > 1e3`, `out.std < 1e-6`, `ins[0].absmax`, `out.zeros > 0.5`
(fraction of exact zeros).
"""

from __future__ import annotations

import builtins
import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

_STAT = re.compile(
    r"\b([A-Za-z_]\w*(?:\[[^\]]*\])?)\.(norm|absmax|zeros|std|mean|min|max|sum)\b(?!\s*\()"
)


def _norm(x: Any) -> float | None:
    if x is None:
        return None  # no such tensor at this step (grad at a forward step): conditions are false
    return float(np.linalg.norm(np.asarray(x, dtype=np.float64).ravel()))


def _absmax(x: Any) -> float | None:
    if x is None:
        return None
    array = np.asarray(x)
    return float(np.abs(array).max()) if array.size else 0.0


def _zeros(x: Any) -> float | None:
    if x is None:
        return None
    array = np.asarray(x)
    return float((array == 0).mean()) if array.size else 0.0


def _exit(code: Any = None) -> None:
    """`exit` and `quit` in an expression: raise SystemExit as the builtins do, without
    closing stdin first as they do (the debugger still reads its commands from there)."""
    raise SystemExit(code)


_HELPERS = {"_norm": _norm, "_absmax": _absmax, "_zeros": _zeros, "exit": _exit, "quit": _exit}


def translate(text: str) -> str:
    """Turn the short statistics forms into calls: `grad.norm` -> `_norm(grad)`."""

    def replace(match: re.Match[str]) -> str:
        target, stat = match.group(1), match.group(2)
        if stat in ("norm", "absmax", "zeros"):
            return f"_{stat}({target})"
        return f"{target}.{stat}()"

    return _STAT.sub(replace, text)


class ExpressionError(ValueError):
    """An expression that cannot be compiled or evaluated (the message is one clear line)."""


def compile_expression(text: str) -> Any:
    source = translate(text.strip())
    if not source:
        raise ExpressionError("an expression is needed, for example: out.mean() or grad.norm")
    try:
        with warnings.catch_warnings():  # `1 (x)`: evaluating says what is wrong, in one line
            warnings.simplefilter("ignore", SyntaxWarning)
            return compile(source, "<expression>", "eval")
    except SyntaxError as error:
        raise ExpressionError(f"cannot read {text.strip()!r}: {error.msg}") from None


def evaluate(code: Any, namespace: dict[str, Any]) -> Any:
    """Evaluate compiled `code` in `namespace`; any error becomes one ExpressionError line.

    As in pdb, expressions are the user's own Python with the normal builtins: "safe" here
    means an error never escapes into the program, not a sandbox."""
    scope = {"__builtins__": builtins, **_HELPERS, **namespace}
    try:
        with np.errstate(all="ignore"):
            return eval(code, scope)  # noqa: S307 (a debugger evaluates the user's expressions)
    except BaseException as error:  # noqa: BLE001 (pdb's bar: `p exit(5)` prints, never exits)
        raise ExpressionError(f"{type(error).__name__}: {error}") from None


@dataclass(frozen=True)
class NodeInfo:
    """What `node` means in an expression."""

    op: str
    name: str
    id: int
    module: str
    phase: str
    shape: tuple[int, ...]
