"""The child process of `fix check`: load the learner's file, check it, print a verdict.

It runs in a process of its own (`python -m stepgrad.lessons.fixing ...`): a file that loops
is stopped by the parent's time limit, and the lesson the learner is debugging keeps its
bug. The verdict is one JSON line: {"healthy": bool, "lines": [text, ...]}.
"""

from __future__ import annotations

import importlib.util
import json
import math
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.autograd import unbroadcast
from stepgrad.lessons.base import Bug, Lesson, RunResult, patch_op, pristine
from stepgrad.lessons.fixing import broken_phases
from stepgrad.lessons.report import short_number as num
from stepgrad.lessons.report import sparkline

EPS = 1e-6
ELEMENTS = 200  # elements searched (the first half, then a random sample)


class FixError(Exception):
    """The learner's code could not be used; the message is one line for them."""


def load(bug: Bug, path: Path) -> dict[str, Any]:
    """The learner's functions, by name, in the namespace of the code they replace (an
    op's module and its helpers, or the lesson's module for a loop or init function)."""
    import stepgrad as sg

    if bug.code is not None:
        phases = [bug.code.name]
        home = importlib.import_module(bug.code.function.__module__)
    else:
        phases = broken_phases(bug)
        home = importlib.import_module(sg.ops.get(bug.op or "").__module__)
    spec = importlib.util.spec_from_file_location("stepgrad_learner_fix", path)
    if spec is None or spec.loader is None:
        raise FixError(f"cannot read {path}")
    module = importlib.util.module_from_spec(spec)
    # the names the file must define are left out: the home module's own function of that
    # name (lesson 2's healthy `iteration`) must not pass for the learner's
    module.__dict__.update({k: v for k, v in vars(home).items()
                            if not k.startswith("__") and k not in phases})
    try:
        spec.loader.exec_module(module)
    except SyntaxError as error:
        raise FixError(f"Your fix file has a syntax error at line {error.lineno}: "
                       f"{error.msg}") from None
    except Exception as error:  # noqa: BLE001 (the learner's code: one clear line)
        raise FixError(f"Your fix file raises {type(error).__name__} when it is loaded"
                       f"{_where(error, path)}: {error}") from None
    missing = [p for p in phases if not callable(getattr(module, p, None))]
    if missing:
        arguments = "ctx, ..." if bug.code is None else _arguments(bug.code.function)
        raise FixError(f"Your fix file must define {' and '.join(missing)}({arguments}) "
                       f"(`fix reset` writes the original again).")
    return {phase: getattr(module, phase) for phase in phases}


def _arguments(function: Any) -> str:
    """The parameter names of `function`, as its def lists them ("base_lr, epoch")."""
    import inspect

    return ", ".join(inspect.signature(function).parameters)


def _where(error: BaseException, path: Path) -> str:
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__)
             if Path(f.filename) == path]
    return f" (line {lines[-1]} of your file)" if lines else ""


def check_grads(op: str, fns: dict[str, Any], forward: events.ForwardStep, path: Path,
                rng: np.random.Generator, random_inputs: bool) -> str | None:
    """None when the (learner's) backward matches central differences of the forward on
    the recorded inputs (or random ones of the same shapes); else the first failure."""
    # A little over 50 lines: each check (shapes, then recorded inputs, then random ones)
    # names its own failure, and splitting them would pass the same six values around.
    from stepgrad.function import Context

    fwd = fns.get("forward") or pristine(op, "forward")
    bwd = fns.get("backward") or pristine(op, "backward")
    inputs = [np.array(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in forward.inputs]
    # A recorded input can sit on a kink (ReLU's zeros tie in a max-pool window), where
    # finite differences see half a step: a jitter far larger than EPS moves it off.
    inputs = [rng.standard_normal(a.shape) if random_inputs else
              a + 1e-3 * (float(np.abs(a).max()) or 1.0) * rng.standard_normal(a.shape)
              if a.dtype.kind == "f" and need else a
              for a, need in zip(inputs, forward.input_requires_grad)]
    first = {node: k for k, node in reversed(list(enumerate(forward.input_ids)))}
    inputs = [inputs[first[node]] for node in forward.input_ids]  # e * e: one array, twice
    needs = tuple(forward.input_requires_grad)

    def run(arrays: list[np.ndarray]) -> tuple[Any, np.ndarray]:
        ctx = Context()
        ctx.needs_input_grad = needs
        return ctx, np.asarray(fwd(ctx, *arrays, **forward.attrs), dtype=np.float64)

    try:
        ctx, out = run(inputs)
        upstream = rng.standard_normal(out.shape)
        grads = bwd(ctx, upstream)
    except Exception as error:  # noqa: BLE001 (the learner's code)
        return f"Your code raised {type(error).__name__}{_where(error, path)}: {error}"
    grads = grads if isinstance(grads, tuple) else (grads,)
    where = "random inputs" if random_inputs else "the lesson's recorded inputs"
    for i, (name, need) in enumerate(zip(forward.input_names, needs)):
        positions = [k for k, node in enumerate(forward.input_ids) if node == forward.input_ids[i]]
        if not need or positions[0] != i:
            continue  # a value used twice is one variable: checked at its first position
        grad = grads[i] if i < len(grads) else None
        try:  # autograd sums a gradient shaped like a broadcast output back to its input
            grad = None if grad is None else unbroadcast(np.asarray(grad), inputs[i].shape)[0]
        except ValueError:
            pass
        if grad is None or np.shape(grad) != inputs[i].shape:
            got = "nothing" if grad is None else f"shape {tuple(np.shape(grad))}"
            return (f"Your backward returns {got} for input {i} ({name}), which has shape "
                    f"{inputs[i].shape}: a gradient has its input's shape.")
        total = sum((np.asarray(grads[k], np.float64) for k in positions[1:]
                     if k < len(grads) and grads[k] is not None), np.asarray(grad, np.float64))
        failure = _first_wrong_element(run, inputs, positions, total, upstream)
        if failure:
            return f"Gradient check fails on {where}: input {i} ({name}), {failure}"
    return None


def _first_wrong_element(run: Any, inputs: list[np.ndarray], positions: list[int],
                         grad: np.ndarray, upstream: np.ndarray) -> str | None:
    """Compare a directional derivative; when it disagrees, find the first element that does.
    A direction or element where the two one-sided differences disagree sits on a kink (a
    ReLU at 0, a tie in a max-pool window): not differentiable there, so it is skipped."""
    def differences(direction: np.ndarray) -> tuple[float, float, float]:
        def value(step: float) -> float:
            moved = [a + step * direction if k in positions else a for k, a in enumerate(inputs)]
            return float(np.sum(run(moved)[1] * upstream))
        here = value(0.0)
        plus, minus = (value(EPS) - here) / EPS, (here - value(-EPS)) / EPS
        return (plus + minus) / 2, plus, minus

    def kink(plus: float, minus: float) -> bool:
        return not (math.isfinite(plus) and math.isfinite(minus)) \
            or abs(plus - minus) > 1e-3 * max(1.0, abs(plus), abs(minus))

    direction = np.random.default_rng(1).standard_normal(grad.shape)
    central, plus, minus = differences(direction)
    if _close(float(np.sum(grad * direction)), central):
        return None
    sample = np.random.default_rng(2).choice(grad.size, min(grad.size, ELEMENTS), replace=False)
    for flat in sorted({*range(min(grad.size, ELEMENTS // 2)), *sample.tolist()}):
        unit = np.zeros(grad.size)
        unit[flat] = 1.0
        want, plus_e, minus_e = differences(unit.reshape(grad.shape))
        if not kink(plus_e, minus_e) and not _close(float(grad.reshape(-1)[flat]), want):
            index = tuple(int(v) for v in np.unravel_index(flat, grad.shape))
            return (f"element {list(index)}: your backward gives "
                    f"{num(float(grad.reshape(-1)[flat]))}, finite differences give {num(want)}")
    # No element of a sample disagrees: the direction crossed kinks (near ties), which
    # one-sided differences cannot always show once many of them add up.
    return None


def _close(a: float, b: float) -> bool:
    return math.isfinite(a) and abs(a - b) <= 1e-4 * max(1.0, abs(a), abs(b))


def train_with(lesson: Lesson, bug: Bug, fns: dict[str, Any], seed: int,
               path: Path) -> tuple[RunResult, list[events.ForwardStep]]:
    """Train with the learner's code in place of the bug; also keep the op's first node."""
    seen: dict[str, events.ForwardStep] = {}  # the first step of each node of the op

    def keep(event: events.Event) -> None:
        if isinstance(event, events.ForwardStep) and bug.op and event.op == bug.op \
                and len(seen) < 4:
            seen.setdefault(event.name, event)

    if bug.code is not None:
        calls = [0]
        put = bug.code.put(_watched(bug.code, fns[bug.code.name], calls))
    else:
        put = patch_op(bug.op or "", **fns)
    unsubscribe = events.subscribe(keep)
    try:
        with put():
            result = lesson.run(None, seed)
    except FixError:
        raise
    except Exception as error:  # noqa: BLE001 (the learner's code)
        raise FixError(f"Training with your code raised {type(error).__name__}"
                       f"{_where(error, path)}: {error}") from None
    finally:
        unsubscribe()
    if bug.code is not None and not calls[0]:  # the check would judge the lesson's own code
        raise FixError(f"Cannot tell: training never called your {bug.code.name}, so it "
                       f"says nothing about your code.")
    return result, list(seen.values())


def _watched(code: Any, function: Any, calls: list[int]) -> Any:
    """The learner's function, counting its calls and checking what it returns (a wrong
    return value stops training with one line that says what it should be)."""
    import functools

    @functools.wraps(function)
    def watched(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        value = function(*args, **kwargs)
        problem = code.result(value) if code.result is not None else None
        if problem:
            raise FixError(problem)
        return value

    return watched


def verdict(lesson: Lesson, bug: Bug, path: Path, seed: int = 0) -> dict[str, Any]:
    """Check the learner's fix: gradients, then training next to the buggy run."""
    try:
        fns = load(bug, path)
        result, nodes = train_with(lesson, bug, fns, seed, path)
    except FixError as error:
        return {"healthy": False, "lines": [str(error)]}
    rng = np.random.default_rng(seed)
    failure = next((found for node in nodes for recorded in (True, False)
                    if (found := check_grads(bug.op or "", fns, node, path, rng,
                                             random_inputs=not recorded))), None)
    buggy = lesson.run(bug.id, seed)
    reached = lesson.healthy(result) and not bug.shows(result)
    lines = [failure] if failure else []
    if not reached:
        metrics = ", ".join(f"{k} {num(v)}" for k, v in result.metrics.items()) or "none"
        lines.append(f"Training with your code misses the target ({lesson.target}): "
                     f"final loss {num(result.final_loss)}, metrics: {metrics}.")
    healthy = not failure and reached
    if healthy:
        checked = (f"Your {bug.op} passes the gradient check on the lesson's recorded "
                   f"inputs and on random ones, and training" if bug.code is None else
                   f"Training with your {bug.code.name}")
        lines.insert(0, f"Healthy! {checked} reaches the target ({lesson.target}).")
    lines += [f"  with the bug  {sparkline(buggy.losses, width=40)}  final loss "
              f"{num(buggy.final_loss)}",
              f"  your code     {sparkline(result.losses, width=40)}  final loss "
              f"{num(result.final_loss)}"]
    return {"healthy": healthy, "lines": lines}


def main(argv: list[str]) -> None:
    """`python -m stepgrad.lessons.fixing LESSON BUG FILE [SEED]`: print the verdict."""
    from stepgrad.lessons.registry import get_lesson

    number, bug_id, path = argv[:3]
    seed = int(argv[3]) if len(argv) > 3 else 0
    lesson = get_lesson(number)
    bug = lesson.bug(bug_id)
    assert bug is not None
    with np.errstate(all="ignore"):
        try:
            found = verdict(lesson, bug, Path(path), seed)
        except Exception as error:  # noqa: BLE001 (one clear line, never a traceback)
            found = {"healthy": False,
                     "lines": [f"The check failed: {type(error).__name__}: {error}"]}
    print(json.dumps(found))


__all__ = ["FixError", "check_grads", "load", "main", "train_with", "verdict"]
