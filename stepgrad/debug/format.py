"""Text for front ends: one-line event descriptions, tensor statistics, arrays, views.

Everything here returns plain text (front ends add color); nothing prints.
"""

from __future__ import annotations

import linecache
import os
from typing import Any

import numpy as np

from stepgrad import events as ev


def stats(array: Any) -> dict[str, float]:
    """mean, std, min, max, norm, zeros (fraction), nan and inf (counts) of an array."""
    a = np.asarray(array)
    if a.dtype.kind not in "fiub" or a.size == 0:
        return {"size": float(a.size)}
    a64 = a.astype(np.float64, copy=False)
    finite = a64[np.isfinite(a64)] if a.dtype.kind == "f" else a64.ravel()
    nan = int(np.isnan(a64).sum()) if a.dtype.kind == "f" else 0
    inf = int(np.isinf(a64).sum()) if a.dtype.kind == "f" else 0
    with np.errstate(all="ignore"):
        return {
            "mean": float(finite.mean()) if finite.size else float("nan"),
            "std": float(finite.std()) if finite.size else float("nan"),
            "min": float(finite.min()) if finite.size else float("nan"),
            "max": float(finite.max()) if finite.size else float("nan"),
            "norm": float(np.linalg.norm(finite)) if finite.size else float("nan"),
            "zeros": float((a64 == 0).mean()),
            "nan": float(nan),
            "inf": float(inf),
        }


def stats_line(array: Any) -> str:
    """`shape float32  mean 0.1 std 0.2 min -1 max 2 norm 3.4 zeros 12% NaN 0 Inf 0`."""
    a = np.asarray(array)
    s = stats(a)
    head = f"{str(tuple(a.shape)):<14} {a.dtype}"
    if "mean" not in s:
        return head
    bad = ""
    if s["nan"] or s["inf"]:
        bad = f"  NaN {int(s['nan'])}  Inf {int(s['inf'])}"
    return (
        f"{head}  mean {s['mean']:.4g}  std {s['std']:.4g}  min {s['min']:.4g}  "
        f"max {s['max']:.4g}  norm {s['norm']:.4g}  zeros {s['zeros']:.0%}{bad}"
    )


def array_text(array: Any, max_line: int = 100, threshold: int = 64) -> str:
    """The values of an array, summarised with ... when large."""
    a = np.asarray(array)
    with np.printoptions(
        precision=4, suppress=True, threshold=threshold, linewidth=max_line, edgeitems=3
    ):
        return np.array2string(a, separator=" ")


def shape_of(array: Any) -> str:
    return str(tuple(np.shape(array)))


def describe(event: ev.Event | None, number: int | None = None) -> str:
    """One line for an event, as the debugger shows the current position."""
    if event is None:
        return "no event recorded yet"
    tag = f"#{number} " if number is not None else ""
    where = ""
    if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
        module = f" in {event.module_path}" if event.module_path else ""
        where = f"{module}  [{os.path.basename(event.file)}:{event.line}]" if event.file else module
    if isinstance(event, ev.ForwardStep):
        args = ", ".join(f"{n} {shape_of(a)}" for n, a in zip(event.input_names, event.inputs))
        return f"{tag}forward  {event.name} = {event.op}({args}) -> {shape_of(event.output)}{where}"
    if isinstance(event, ev.BackwardStep):
        sent = ", ".join(
            f"{n} {shape_of(g)}" for n, g in zip(event.input_names, event.grads) if g is not None
        )
        return (
            f"{tag}backward {event.name} ({event.op}): grad {shape_of(event.upstream)} -> "
            f"{sent or 'nothing'}{where}"
        )
    return f"{tag}{event.summary().split(' ', 1)[1]}"


def source_line(file: str, line: int) -> str:
    """`train.py:12  h = model(x)` (the user's line that made a node)."""
    if not file:
        return "(no source line)"
    text = linecache.getline(file, line).strip()
    return (
        f"{os.path.basename(file)}:{line}  {text}" if text else f"{os.path.basename(file)}:{line}"
    )


def info(event: ev.Event, tensors: dict[str, np.ndarray], names: dict[str, str]) -> str:
    """`info`: op, shapes, dtype and statistics of every tensor of the node."""
    lines = []
    if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
        lines.append(
            f"{event.name}: op {event.op}, {event.phase} step, module "
            f"{event.module_path or '(top level)'}"
        )
    else:
        lines.append(describe(event))
    for key, array in tensors.items():
        label = f"{key} ({names[key]})" if key in names else key
        lines.append(f"  {label:<22} {stats_line(array)}")
    return "\n".join(lines)


def where(event: ev.Event | None, number: int, iteration: int | None, epoch: int | None) -> str:
    """`where`: module path, iteration, phase and the user's source line."""
    if event is None:
        return "nothing has happened yet"
    parts = []
    if epoch is not None:
        parts.append(f"epoch {epoch}")
    if iteration is not None:
        parts.append(f"after iteration {iteration}")
    parts.append(f"{event.phase} phase")
    lines = [f"#{number}  " + ", ".join(parts)]
    if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
        lines.append(f"  node   {event.name} ({event.op})")
        lines.append(f"  module {event.module_path or '(top level)'}")
        lines.append(f"  line   {source_line(event.file, event.line)}")
    elif isinstance(event, (ev.ModuleEnter, ev.ModuleExit)):
        lines.append(f"  module {event.path or '(the model)'} ({event.module})")
    return "\n".join(lines)


def backprop(
    event: ev.BackwardStep,
    local: list[Any],
    contributions: dict[int, list[str]],
    explained: dict[int, list[str]] | None = None,
) -> str:
    """upstream grad x local derivative = sent grad, with numbers, for each input; for the
    ops that mix elements, `explained[i]` (stepgrad.debug.explain) writes out the sum."""
    explained = explained or {}
    lines = [f"{event.name} ({event.op}) backward: upstream grad {shape_of(event.upstream)}"]
    for i, (name, sent) in enumerate(zip(event.input_names, event.grads)):
        if sent is None:
            lines.append(f"  input {i} {name}: needs no gradient")
            continue
        derivative = local[i] if i < len(local) else None
        if derivative is not None and np.shape(derivative) == np.shape(event.upstream):
            k = _example_index(np.asarray(event.upstream) * derivative)
            up, loc = np.asarray(event.upstream)[k], np.asarray(derivative)[k]
            product = up * loc
            lines.append(
                f"  input {i} {name}: upstream {up:.4g} x local derivative {loc:.4g} = "
                f"{product:.4g}   (element {list(k)})"
            )
        elif i in explained:
            lines.append(f"  input {i} {name}: sent grad {shape_of(sent)}, one element:")
        else:
            lines.append(
                f"  input {i} {name}: sent grad {shape_of(sent)} (the op mixes elements: "
                f"see `list` for its backward formula)"
            )
        axes = event.summed_axes[i]
        if axes:
            lines.append(
                f"      broadcasting undone: summed over axes {axes} to get back to "
                f"shape {shape_of(sent)}"
            )
        lines.extend(explained.get(i, ()))
        if event.accumulated[i]:
            lines.append(
                f"      {name} already had a gradient (it is used more than once): "
                f"this contribution is added to it"
            )
        if i in contributions:
            lines.append(f"      contributions so far: {', '.join(contributions[i])}")
    return "\n".join(lines)


def _example_index(array: Any) -> tuple[int, ...]:
    """The position of the largest |value| (a telling element to show)."""
    a = np.asarray(array)
    if a.size == 0 or a.ndim == 0:
        return ()
    with np.errstate(all="ignore"):
        flat = int(np.nanargmax(np.abs(a))) if np.isfinite(a).any() else 0
    return tuple(int(i) for i in np.unravel_index(flat, a.shape))


def value_text(value: Any) -> str:
    """A value as `print` shows it: arrays with statistics when large, lists of arrays one
    per line, anything else by repr (cut at 2000 characters)."""
    if isinstance(value, np.generic):
        return str(value)
    if isinstance(value, np.ndarray):
        if value.size > 12:
            return f"{stats_line(value)}\n{array_text(value)}"
        return array_text(value)
    if isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
        return "\n".join(
            f"[{i}] {stats_line(v) if v.size > 12 else array_text(v)}"
            for i, v in enumerate(value)
        )
    text = repr(value)
    return text if len(text) < 2000 else text[:2000] + " ..."


def numbered(source: tuple[list[str], int, str], current: int | None) -> str:
    """Source lines with their numbers, the `current` one marked `->` (as pdb's list)."""
    lines, first, _ = source
    out = []
    for offset, text in enumerate(lines):
        number = first + offset
        mark = "->" if number == current else "  "
        out.append(f"{number:>4} {mark} {text.rstrip()}")
    return "\n".join(out)
