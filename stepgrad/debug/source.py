"""Source of ops, and `step into`: an op's forward or backward replayed line by line.

`step into` re-runs the op's function on the node's recorded inputs under a line tracer
restricted to that one function (pdb-style line stepping, but on a replay, so the
program's state is never disturbed) and records each line with its local variables.
"""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.function import Context
from stepgrad.ops.registry import get


def op_function(op: str, phase: str) -> Any:
    cls = get(op)
    return cls.backward if phase == "backward" else cls.forward


def op_source(op: str, phase: str) -> tuple[list[str], int, str]:
    """(lines, first line number, file) of the code op `op` runs for `phase` now.

    A lesson swaps an op's code through the registry, and its replacement must not give
    itself away on screen: the code is shown as the op's own `forward` or `backward`, with
    docstrings blanked and comments that mention BUG removed, and the file is the op's own
    module. Line numbers stay those of the code that runs, so `step into` marks the right
    line.
    """
    fn = op_function(op, phase)
    try:
        lines, first = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(get(op)) or inspect.getsourcefile(fn) or ""
    except (OSError, TypeError):
        return [f"# source of {op}.{phase} is not available\n"], 1, ""
    return disguise(lines, phase), first, file


_DEF = re.compile(r"^(\s*def\s+)\w+")
_BUG_COMMENT = re.compile(r"\s*#.*\bBUG\b.*$")
_QUOTES = ('"""', "'''")


def disguise(lines: list[str], name: str) -> list[str]:
    """The function's lines as the op's own `name` (forward or backward) reads: the def
    renamed, its docstring blanked, comments that mention BUG dropped. The number of lines
    is unchanged, so line numbers still match the code that runs."""
    out: list[str] = []
    state = "before def"  # -> "signature" -> "docstring?" -> "in docstring" -> "body"
    for text in lines:
        stripped = text.strip()
        if state == "before def" and _DEF.match(text):
            text = _DEF.sub(lambda m: m.group(1) + name, text, count=1)
            state = "docstring?" if stripped.endswith(":") else "signature"
        elif state in ("signature", "docstring?"):
            if state == "signature" and stripped.endswith(":"):
                state = "docstring?"
            elif state == "docstring?" and stripped.startswith(_QUOTES):
                closes = len(stripped) > 3 and stripped.endswith(stripped[:3])
                state = "body" if closes else "in docstring"
                text = "\n"
            elif state == "docstring?" and stripped:
                state = "body"
        elif state == "in docstring":
            state = "body" if stripped.endswith(_QUOTES) else state
            text = "\n"
        out.append(_BUG_COMMENT.sub("", text.rstrip("\n")) + "\n")
    return out


@dataclass(frozen=True)
class LineStep:
    """One executed line: its number and the local variables before it ran."""

    lineno: int
    locals: dict[str, Any]


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, np.ndarray):
            out[key] = value.copy()
        elif isinstance(value, Context):
            out[key] = {
                k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(value).items()
            }
        else:
            out[key] = value
    return out


def trace_op(
    op: str,
    phase: str,
    inputs: tuple[np.ndarray, ...],
    attrs: dict[str, Any],
    upstream: np.ndarray | None = None,
) -> tuple[list[LineStep], Any]:
    """Run op's forward (and, for phase "backward", its backward with `upstream`) on copies
    of the inputs, recording every line of the chosen function. Returns (steps, result)."""
    cls = get(op)
    ctx = Context()
    arrays = [np.array(a, copy=True) for a in inputs]
    ctx.needs_input_grad = tuple(a.dtype.kind == "f" for a in arrays)
    if cls.differentiable is not None:
        ctx.needs_input_grad = tuple(
            n and i < cls.differentiable for i, n in enumerate(ctx.needs_input_grad)
        )
    target = op_function(op, phase)
    code = getattr(target, "__code__", None)
    steps: list[LineStep] = []

    def local_trace(frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            steps.append(LineStep(frame.f_lineno, _snapshot(frame.f_locals)))
        elif event == "return":
            steps.append(LineStep(frame.f_lineno, {**_snapshot(frame.f_locals), "(returns)": arg}))
        return local_trace

    def global_trace(frame: Any, event: str, arg: Any) -> Any:
        return local_trace if event == "call" and frame.f_code is code else None

    if phase == "backward":
        cls.forward(ctx, *arrays, **attrs)
    previous = sys.gettrace()
    sys.settrace(global_trace)
    try:
        with np.errstate(all="ignore"):
            if phase == "backward":
                result = target(ctx, np.array(upstream, copy=True))
            else:
                result = target(ctx, *arrays, **attrs)
    finally:
        sys.settrace(previous)
    return steps, result


def locals_text(values: dict[str, Any], width: int = 90) -> str:
    """The locals of one line, one per line, arrays summarised."""
    from stepgrad.debug.format import stats_line

    lines = []
    for key, value in values.items():
        if isinstance(value, np.ndarray):
            text = stats_line(value) if value.size > 6 else np.array2string(value, precision=4)
        elif isinstance(value, dict):
            text = "ctx(" + ", ".join(sorted(value)) + ")"
        elif callable(value):  # by the name it is called here: a lesson's helper is not named
            text = f"<function {key}>"
        else:
            text = repr(value)
        lines.append(f"  {key} = {text}"[:width])
    return "\n".join(lines)
