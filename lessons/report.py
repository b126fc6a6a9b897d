"""The `fixed` report: a buggy run next to a healthy one, as text.

    runs = compare(lesson, "relu-times-activation")      # {"buggy": ..., "healthy": ...}
    print(report(lesson, lesson.bug("relu-times-activation"), runs["buggy"], runs["healthy"]))

Both loss curves are drawn as sparklines on one scale (▁ low to █ high, × for NaN),
followed by the final metrics and whether each run reached the lesson's target.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Sequence

import numpy as np

from stepgrad.lessons.base import Bug, Lesson, RunResult, injected

_BARS = "▁▂▃▄▅▆▇█"


# -- comparing a buggy run with a healthy one --------------------------------------------------

def compare(lesson: Lesson, bug: str, seed: int = 0,
            buggy: RunResult | None = None) -> dict[str, RunResult]:
    """Run `lesson` with and without `bug`. When a bug is in place in this process (the
    debugger paused inside the lesson), both runs happen in a fresh Python process instead,
    so nothing the paused program holds can leak into the healthy run."""
    if injected():
        return _compare_elsewhere(lesson, bug, seed)
    return {"buggy": buggy or lesson.run(bug, seed), "healthy": lesson.run(None, seed)}


def _compare_elsewhere(lesson: Lesson, bug: str, seed: int) -> dict[str, RunResult]:
    code = ("import sys; from stepgrad.lessons.report import _compare_main; "
            "_compare_main(sys.argv[1:])")
    args = [sys.executable, "-c", code, str(lesson.number), bug, str(seed)]
    env = {**os.environ, "STEPGRAD_DEBUG": "0"}
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise RuntimeError(str(error)) from None
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip()
                           else f"exit status {done.returncode}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return {key: RunResult(**value) for key, value in data.items()}


def _compare_main(argv: Sequence[str]) -> None:
    """Entry of the helper process: print both runs as one line of JSON."""
    from stepgrad.lessons.registry import get_lesson

    number, bug, seed = argv
    lesson = get_lesson(int(number))
    runs = compare(lesson, bug, int(seed))
    fields = ("losses", "grad_norms", "metrics", "history", "seconds", "bug", "seed", "stopped")
    print(json.dumps({key: {name: getattr(run, name) for name in fields}
                      for key, run in runs.items()}, default=float))


def sparkline(values: Sequence[float], width: int = 48, low: float | None = None,
              high: float | None = None, log: bool = False) -> str:
    """A one-line chart: ▁ (low) to █ (high); × marks NaN or Inf."""
    if not values:
        return ""
    chunks = np.array_split(np.asarray(values, dtype=np.float64), min(width, len(values)))
    points = [float(c.mean()) if np.isfinite(c).all() else math.nan for c in chunks]
    finite = [p for p in points if math.isfinite(p)]
    if not finite:
        return "×" * len(points)
    low = min(finite) if low is None else low
    high = max(finite) if high is None else high

    def level(v: float) -> float:
        if log:
            return math.log10(max(v, 1e-12))
        return v

    lo, hi = level(low), level(high)
    out = []
    for p in points:
        if not math.isfinite(p):
            out.append("×")
            continue
        share = 0.0 if hi <= lo else (level(min(max(p, low), high)) - lo) / (hi - lo)
        out.append(_BARS[min(len(_BARS) - 1, int(share * len(_BARS)))])
    return "".join(out)


def report(lesson: Lesson, bug: Bug, buggy: RunResult, healthy: RunResult) -> str:
    """The `fixed` text: both loss curves on one scale, the final metrics, the target."""
    both = [v for v in buggy.losses + healthy.losses if math.isfinite(v)]
    positive = bool(both) and min(both) > 0
    log = positive and max(both) / min(both) > 100
    low, high = (min(both), max(both)) if both else (None, None)
    scale = "log scale" if log else "linear scale"
    lines = [f"Lesson {lesson.number} without the bug ({bug.title}):", "",
             f"loss per iteration ({scale}, both curves on the same axis):"]
    for label, run in (("with the bug", buggy), ("fixed", healthy)):
        curve = sparkline(run.losses, low=low, high=high, log=log)
        lines.append(f"  {label:<13}{curve}  {short_number(run.final_loss)}")
    names = [k for k in healthy.metrics if k in buggy.metrics or k in healthy.metrics]
    if names:
        lines += ["", f"  {'final':<16}{'with the bug':>14}{'fixed':>14}"]
        for name in names:
            lines.append(f"  {name:<16}{short_number(buggy.metrics.get(name, math.nan)):>14}"
                         f"{short_number(healthy.metrics.get(name, math.nan)):>14}")
    if buggy.stopped:
        lines.append(f"\nWith the bug, training stopped early: {buggy.stopped}.")
    verdict = {True: "reached", False: "not reached"}
    lines.append(f"\nTarget ({lesson.target}): with the bug {verdict[lesson.healthy(buggy)]}; "
                 f"fixed {verdict[lesson.healthy(healthy)]} "
                 f"(in {healthy.seconds:.2g} s).")
    return "\n".join(lines)


def short_number(value: float | None) -> str:
    if value is None:
        return "none"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


__all__ = ["compare", "report", "short_number", "sparkline"]
