"""A recorded node, re-run in float64: the measuring instrument of `check_node`.

A `Probe` holds one op and float64 copies of one node's inputs. It can run the op's
forward at the inputs nudged along any direction, and its backward for any upstream
gradient. From those it measures, without ever building a full Jacobian:

- the directional derivative J u of the output along a direction u of one input, by central
  differences (f(x + eps u) - f(x - eps u)) / (2 eps);
- where the forward has a kink: an output element whose one-sided differences
  (f(x + eps u) - f(x)) / eps and (f(x) - f(x - eps u)) / eps disagree is not
  differentiable there (a ReLU at 0, a max-pool window whose largest values tie, abs at 0,
  the domain's edge), so no backward can be right or wrong about it;
- the vector-Jacobian product v J (what backward computes, from the upstream gradient v).

For a smooth op, v . (J u) from the differences equals (v J) . u from backward for every u
and v: that is the whole check, done for a few random u and v (a product of two numbers per
pair, so an input of any size costs two forward runs per direction).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from stepgrad.function import Context
from stepgrad.ops.registry import get


class GradcheckInterrupted(Exception):
    """The check was cancelled (Ctrl-C, or the front end's cancel flag)."""


class Budget:
    """Time left for a check, and the hooks that report progress and cancel it.

    `progress(text)` is called at most every `every` seconds; `cancel()` returning True, or
    Ctrl-C (KeyboardInterrupt), stops the check with GradcheckInterrupted.
    """

    def __init__(self, seconds: float, progress: Callable[[str], Any] | None = None,
                 cancel: Callable[[], bool] | None = None, every: float = 0.25) -> None:
        self.start = time.monotonic()
        self.deadline = self.start + seconds
        self.progress, self.cancel, self.every = progress, cancel, every
        self._last_report = self.start

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def tick(self, text: str) -> None:
        """A point where the check may report progress or be cancelled."""
        if self.cancel is not None and self.cancel():
            raise GradcheckInterrupted("gradcheck interrupted")
        now = time.monotonic()
        if self.progress is not None and now - self._last_report >= self.every:
            self._last_report = now
            self.progress(text)


class Probe:
    """One op at one node's inputs, in float64 (see the module docstring)."""

    def __init__(self, op: str, inputs: Sequence[Any], attrs: dict[str, Any] | None = None,
                 eps: float = 1e-6) -> None:
        self.op, self.cls, self.attrs, self.eps = op, get(op), dict(attrs or {}), eps
        self.arrays = [np.array(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f"
                       else np.array(a) for a in inputs]
        wants = [a.dtype.kind == "f" for a in self.arrays]
        limit = self.cls.differentiable
        self.needs = tuple(w and (limit is None or i < limit) for i, w in enumerate(wants))
        started = time.monotonic()
        self._saved = self._context()
        self.output = self._run(self._saved, self.arrays)
        self.forward_seconds = time.monotonic() - started

    def _context(self) -> Context:
        ctx = Context()
        ctx.needs_input_grad = self.needs
        return ctx

    def _run(self, ctx: Context, arrays: Sequence[np.ndarray]) -> np.ndarray:
        with np.errstate(all="ignore"):
            out = self.cls.forward(ctx, *arrays, **self.attrs)
        return np.asarray(out, dtype=np.float64)

    def forward(self, arrays: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """The op's output at `arrays` (the node's own inputs when None), as float64."""
        return self._run(self._context(), self.arrays if arrays is None else arrays)

    def backward(self, upstream: np.ndarray) -> tuple[Any, ...]:
        """What backward sends each input for the gradient `upstream` (None where it sends
        nothing). Each call gets its own copy of what the forward saved in its context, so a
        backward that changes its context cannot change the next one."""
        ctx = copy.copy(self._saved)
        with np.errstate(all="ignore"):
            sent = self.cls.backward(ctx, np.array(upstream, dtype=np.float64))
        return sent if isinstance(sent, tuple) else (sent,)

    def step_sizes(self, i: int) -> np.ndarray:
        """Per element of input i, the size of a unit nudge: relative to the element (so log
        and 1/x of small values are differenced sensibly), never zero (so an element at
        exactly 0, a ReLU's kink, is still nudged)."""
        x = np.abs(self.arrays[i])
        floor = 1e-3 * float(np.sqrt(np.mean(x * x))) if x.size else 0.0
        return x + (floor if floor > 0 else 1e-3)

    def nudged(self, i: int, delta: np.ndarray) -> np.ndarray:
        """The output with input i changed by `delta` (the other inputs as recorded)."""
        arrays = list(self.arrays)
        arrays[i] = self.arrays[i] + delta
        return self.forward(arrays)

    def differences(self, i: int, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(J u, kinked): the central difference of the output along `direction` (already
        scaled by eps), and the mask of output elements not differentiable along it."""
        plus, minus, here = self.nudged(i, direction), self.nudged(i, -direction), self.output
        with np.errstate(all="ignore"):
            central = (plus - minus) / (2 * self.eps)
            right, left = (plus - here) / self.eps, (here - minus) / self.eps
            # smooth: the one-sided differences differ by eps * (second derivative), tiny;
            # rounding adds about 1e-16 * (the size of the values the forward combined) / eps
            # to each: 1e-13 leaves room for sums of many terms, and the mean output stands in
            # for intermediate values (log-sum-exp of large logits rounds at their size)
            size = np.abs(here) + np.abs(plus) + np.abs(minus) + np.mean(np.abs(here))
            noise = 1e-13 * size / self.eps
            # and curvature: eps * (the second derivative along the direction), which for an
            # op that mixes many inputs (batch norm) can reach 1e-6 of the typical derivative,
            # while a kink (even a ReLU at 0, nudged by the smallest step) opens 1e-3 of it
            finite = central[np.isfinite(central)]
            typical = float(np.sqrt(np.mean(finite * finite))) if finite.size else 0.0
            noise = noise + 1e-5 * typical
            kinked = np.abs(right - left) > 1e-2 * np.maximum(np.abs(right), np.abs(left)) + noise
        kinked |= ~np.isfinite(central) & np.isfinite(here)
        return central, kinked


def sub_batch(inputs: Sequence[Any], upstream: np.ndarray | None, rows: np.ndarray,
              every: bool) -> tuple[list[Any], np.ndarray | None] | None:
    """The node cut down to some samples of its batch: `rows` of the first input, and with
    `every` of every input whose first axis is as long (a loss's targets, a second operand),
    and of the upstream gradient. A check there is a check of the same op at a smaller node:
    cheaper, and just as able to find a wrong backward. None when there is no batch to cut."""
    first = np.asarray(inputs[0])
    if first.ndim < 2 or first.shape[0] <= len(rows):
        return None
    n = first.shape[0]
    cut = [np.asarray(a)[rows] if i == 0 or every and np.ndim(a) >= 1 and np.shape(a)[0] == n
           else a for i, a in enumerate(inputs)]
    if upstream is not None and np.ndim(upstream) >= 1 and np.shape(upstream)[0] == n:
        upstream = np.asarray(upstream)[rows]
    return cut, upstream
