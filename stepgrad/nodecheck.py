"""Is *this* node's backward right? Checked in float64 by re-running its forward.

    result = sg.check_node("conv2d", [x, w, b], {"padding": 1}, upstream)
    result.verdict      # "ok", "MISMATCH" or "not differentiable"

Two measurements, both against finite differences of the op's own forward (see probe.py):

1. Directions (the verdict): for a few random directions u of each input and a few upstream
   gradients v (the recorded one and random ones), v . (J u) by central differences must
   equal (v J) . u from backward. Two forward runs per direction, whatever the input's size,
   so a 64x9216 linear or an MNIST conv checks in well under a second. A wrong backward
   fails this for almost every u and v.
2. Elements (where): the largest and then randomly chosen elements of each input are nudged
   one at a time, as long as the time budget allows, to name the worst element (and to
   catch a wrong gradient confined to a few elements).

Kinks are told apart from bugs: an output element whose one-sided differences disagree
(a ReLU at exactly 0, max-pool windows whose largest values tie, abs at 0, clamp at its
bounds) has no derivative there; it is left out of both measurements and reported, and a
node whose backward agrees everywhere else gets the third verdict, "not differentiable".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.probe import Budget, GradcheckInterrupted, Probe, sub_batch

__all__ = ["GradcheckInterrupted", "Mismatch", "NodeCheck", "check_node"]

OK, MISMATCH, NOT_DIFFERENTIABLE = "ok", "MISMATCH", "not differentiable"


@dataclass(frozen=True)
class Mismatch:
    """The worst disagreement found for one input: at one element (`how="element"`:
    d(v . out) / d input[index]), or along a random direction (`how="direction"`: v . J u)."""

    input: int
    index: tuple[int, ...]
    expected: float
    received: float
    how: str = "element"

    @property
    def error(self) -> float:
        return abs(self.expected - self.received)


@dataclass(frozen=True)
class NodeCheck:
    """The result of checking one node. `ok` means no mismatch (the verdict is "ok" or "not
    differentiable"); `worst[i]` is input i's worst disagreement (None when it agrees)."""

    op: str
    ok: bool
    worst: tuple[Mismatch | None, ...]
    message: str
    verdict: str = OK
    kinks: int = 0
    seconds: float = 0.0


def check_node(op: str, inputs: Sequence[Any], attrs: dict[str, Any] | None = None,
               upstream: np.ndarray | None = None, eps: float = 1e-6, atol: float = 1e-4,
               rtol: float = 1e-3, max_elements: int | None = None, *, directions: int = 3,
               seconds: float = 0.5, progress: Callable[[str], Any] | None = None,
               cancel: Callable[[], bool] | None = None, seed: int = 0) -> NodeCheck:
    """Check the registered op `op`'s backward at one node's recorded inputs (see the module
    docstring). `upstream` is the gradient that arrived from above (ones when None); a
    gradient backward leaves out (None) for an input that needs one counts as zeros.

    `seconds` bounds the element search (the directions always run); `max_elements` caps the
    elements nudged per input. `progress(text)` hears how far it got; `cancel()` returning
    True, or Ctrl-C, raises GradcheckInterrupted. `atol` is the smallest error that counts,
    relative to the largest gradient in play. PyTorch: torch.autograd.gradcheck (which checks
    every element, and has fast_mode=True for the random-direction check).
    """
    if attrs and "torch" in attrs:  # a node of a torch program: torch re-runs its own call
        from stepgrad.torchbridge import check_call

        return check_call(op, inputs, attrs)
    budget = Budget(seconds, progress, cancel)
    try:
        probe, upstream, part = _probe(op, inputs, attrs, upstream, eps, budget, seed)
        check = _Check(probe, upstream, atol, rtol, seed, budget)
        return check.run(directions, max_elements, part)
    except KeyboardInterrupt:
        raise GradcheckInterrupted("gradcheck interrupted") from None


#: Forward runs a check needs, roughly (directions, elements); and the fewest samples a
#: sub-batch keeps (two or more, so a backward that mixes up the samples still shows).
FORWARDS, FEWEST_ROWS = 16, 4


def _probe(op: str, inputs: Sequence[Any], attrs: dict[str, Any] | None,
           upstream: np.ndarray | None, eps: float, budget: Budget, seed: int
           ) -> tuple[Probe, np.ndarray | None, str]:
    """The node itself, or, when its forward is too slow to run FORWARDS times within the
    budget (a conv over a whole batch), the same op on as many samples of its batch as fit.
    Returns the probe, its upstream gradient and a note saying which part was checked."""
    big = inputs and sum(np.size(a) for a in inputs) > 200_000 and np.ndim(inputs[0]) >= 2
    if big:
        n = int(np.shape(inputs[0])[0])
        order = np.random.default_rng(seed).permutation(n)
        small = _sub_probe(op, inputs, attrs, upstream, eps, order[:FEWEST_ROWS])
        if small is not None:
            per_row = max(small[0].forward_seconds, 1e-6) / FEWEST_ROWS
            rows = max(FEWEST_ROWS, int(budget.left() / (FORWARDS * per_row)))
            if rows < n:
                if rows > FEWEST_ROWS:
                    small = _sub_probe(op, inputs, attrs, upstream, eps, order[:rows]) or small
                kept = small[0].arrays[0].shape[0]
                return small[0], small[1], f"on {kept} of the batch's {n} samples, at random"
    return Probe(op, inputs, attrs, eps), upstream, ""


def _sub_probe(op: str, inputs: Sequence[Any], attrs: dict[str, Any] | None,
               upstream: np.ndarray | None, eps: float, rows: np.ndarray
               ) -> tuple[Probe, np.ndarray | None] | None:
    """The op on `rows` of the batch: the first input cut alone (a conv's or a linear's
    weights keep their shape), else every input with the batch's length (a loss's targets).
    The cut node must still fit its upstream gradient; None when no cut does."""
    for every in (False, True):
        cut = sub_batch(inputs, upstream, np.sort(rows), every)
        if cut is None:
            return None
        try:
            probe = Probe(op, cut[0], attrs, eps)
            if cut[1] is not None and np.shape(cut[1]) != probe.output.shape:
                continue
        except Exception:  # noqa: BLE001 (this cut does not fit the op: try the next)
            continue
        return probe, cut[1]
    return None


class _Check:
    """The state of one check_node call: the measurements so far, per input."""

    def __init__(self, probe: Probe, upstream: np.ndarray | None, atol: float, rtol: float,
                 seed: int, budget: Budget) -> None:
        self.probe, self.atol, self.rtol, self.budget = probe, atol, rtol, budget
        self.rng = np.random.default_rng(seed)
        out = probe.output
        self.upstream = (np.ones_like(out) if upstream is None
                         else np.broadcast_to(np.asarray(upstream, dtype=np.float64), out.shape))
        self.checked = [i for i, need in enumerate(probe.needs) if need]
        self.kinked = ~np.isfinite(out)  # no derivative to compare where the output is NaN/inf
        self.samples: list[tuple[int, np.ndarray, np.ndarray]] = []  # (input, w, J w)
        self.problems: list[str] = []
        self.worst: dict[int, Mismatch] = {}
        self.ratios: dict[int, float] = {}  # how far beyond its tolerance each worst is
        self.kinked_elements = 0
        self.nudged: dict[int, int] = {}
        self.misshapen: set[int] = set()
        self.directions = 0  # inputs backward sent a gradient of the wrong shape

    def run(self, directions: int, max_elements: int | None, part: str) -> NodeCheck:
        self._measure_directions(directions)
        random = self._masked(self.rng.standard_normal(self.probe.output.shape))
        self._compare_directions(random, self._received(random))
        upstream = self._masked(self.upstream)
        received = self._received(upstream)
        self._compare_directions(upstream, received)
        self._search_elements(upstream, received, max_elements)
        return self._result(part)

    # -- 1. directions -------------------------------------------------------------------
    def _measure_directions(self, directions: int) -> None:
        """One random direction per input always; more while the budget can pay for them."""
        one_round = 2 * len(self.checked) * self.probe.forward_seconds
        for d in range(directions):
            if d and self.budget.left() < 2 * one_round:
                break
            for i in self.checked:
                self.budget.tick(f"input {i}: direction {d + 1}")
                w = self.probe.step_sizes(i) * self.rng.standard_normal(self.probe.arrays[i].shape)
                central, kinked = self.probe.differences(i, self.probe.eps * w)
                self.samples.append((i, w, central))
                self.kinked |= kinked
            self.directions = d + 1

    def _masked(self, v: np.ndarray) -> np.ndarray:
        """The upstream gradient v with the kinked (and non-finite) output elements left out."""
        return np.where(self.kinked, 0.0, v)

    def _received(self, v: np.ndarray) -> dict[int, np.ndarray]:
        """What backward sends each checked input for upstream v, in the input's shape."""
        from stepgrad.autograd import unbroadcast

        sent, received = self.probe.backward(v), {}
        for i in self.checked:
            array, grad = self.probe.arrays[i], sent[i] if i < len(sent) else None
            if grad is None:
                received[i] = np.zeros_like(array)  # a dropped gradient must still match
                continue
            try:
                received[i] = unbroadcast(np.asarray(grad, dtype=np.float64), array.shape)[0]
            except ValueError:
                problem = (f"{self.probe.op}: backward sent a gradient of shape "
                           f"{np.shape(grad)} to input {i} of shape {array.shape}")
                if problem not in self.problems:
                    self.problems.append(problem)
                received[i] = np.full(array.shape, np.nan)
                self.misshapen.add(i)
        return received

    def _compare_directions(self, v: np.ndarray, received: dict[int, np.ndarray]) -> None:
        """v . (J w) from the differences against (v J) . w from backward, per sample."""
        noise = 1e-8 * float(np.linalg.norm(v * self.probe.output, ord=None)) if v.size else 0.0
        for i, w, central in self.samples:
            measured = np.where(self.kinked, 0.0, central)
            expected, got = float(np.sum(v * measured)), float(np.sum(received[i] * w))
            scale = float(np.linalg.norm(received[i] * w) + np.linalg.norm(v * measured))
            tolerance = self.rtol * scale + noise
            if not abs(expected - got) <= tolerance:  # NaN counts as a mismatch
                self._keep(Mismatch(i, (), expected, got, "direction"), tolerance)

    def _keep(self, mismatch: Mismatch, tolerance: float) -> None:
        """Keep `mismatch` as its input's worst if it is further beyond its tolerance; an
        element always wins over a direction (it says where)."""
        i = mismatch.input
        ratio = mismatch.error / tolerance if tolerance > 0 else np.inf
        ratio = np.inf if np.isnan(ratio) else ratio
        old = self.worst.get(i)
        if old is not None:
            if old.how == "element" and mismatch.how == "direction":
                return
            if old.how == mismatch.how and ratio <= self.ratios[i]:
                return
        self.worst[i], self.ratios[i] = mismatch, ratio

    # -- 2. elements ---------------------------------------------------------------------
    def _search_elements(self, v: np.ndarray, received: dict[int, np.ndarray],
                         limit: int | None) -> None:
        """Nudge elements one at a time (the inputs found wrong first; in each, the largest
        received gradients, then elements at random), round-robin, while the budget lasts."""
        order = sorted((i for i in self.checked if i not in self.misshapen),
                       key=lambda i: i not in self.worst)
        queues = {i: self._element_order(received[i], limit) for i in order}
        first = True  # the first round always runs: it names the element a mismatch is worst at
        while any(queues.values()) and (first or self.budget.left() > 0):
            for i in order:
                if queues[i] and (first and i in self.worst or self.budget.left() > 0):
                    self._check_element(i, queues[i].pop(0), v, received[i])
            first = False

    def _element_order(self, received: np.ndarray, limit: int | None) -> list[int]:
        """The largest received gradients first, then elements at random (at most `limit`,
        and no more than the budget could ever pay for)."""
        size = received.size
        cap = min(size, 10_000 if limit is None else limit)
        magnitude = np.nan_to_num(np.abs(received.reshape(-1)), nan=np.inf)
        largest = np.argpartition(-magnitude, min(8, size) - 1)[:8] if size > 8 else np.arange(size)
        chosen = dict.fromkeys(int(j) for j in largest)
        if size <= cap:
            chosen.update(dict.fromkeys(int(j) for j in self.rng.permutation(size)))
        else:
            chosen.update(dict.fromkeys(int(j) for j in self.rng.integers(0, size, 2 * cap)))
        return list(chosen)[:cap]

    def _check_element(self, i: int, flat: int, v: np.ndarray, received: np.ndarray) -> None:
        self.budget.tick(f"input {i}: element {self.nudged.get(i, 0) + 1}")
        self.nudged[i] = self.nudged.get(i, 0) + 1
        step = float(self.probe.step_sizes(i).reshape(-1)[flat])
        delta = np.zeros(self.probe.arrays[i].shape)
        delta.reshape(-1)[flat] = self.probe.eps * step
        central, kinked = self.probe.differences(i, delta)
        if np.any(kinked & (v != 0)):
            self.kinked_elements += 1  # not differentiable at this element: nothing to check
            return
        expected = float(np.sum(v * np.where(self.kinked, 0.0, central))) / step
        got = float(received.reshape(-1)[flat])
        noise = 1e-8 * float(np.linalg.norm(v * self.probe.output)) / step
        largest = float(np.nanmax(np.abs(received))) if received.size else 0.0
        tolerance = self.rtol * max(abs(expected), abs(got)) + self.atol * 1e-2 * largest + noise
        if not abs(expected - got) <= tolerance:
            index = np.unravel_index(flat, received.shape) if received.shape else ()
            self._keep(Mismatch(i, tuple(int(k) for k in index), expected, got), tolerance)

    # -- the verdict ---------------------------------------------------------------------
    def _result(self, part: str) -> NodeCheck:
        op, probe = self.probe.op, self.probe
        worst = tuple(self.worst.get(i) for i in range(len(probe.arrays)))
        kinks = int(np.count_nonzero(self.kinked & np.isfinite(probe.output)))
        how = (f"float64, forward re-run{' ' + part if part else ''}: {self.directions} random "
               f"direction(s) per input with the recorded and a random upstream (v.J.u), then "
               f"{self._nudged_text()} one at a time; {self.budget.elapsed():.2f} s")
        if self.problems or self.worst:
            verdict = MISMATCH
            lines = self.problems + [describe_mismatch(op, m) for m in worst if m is not None]
            message = "\n".join(lines) + f"\n({how})"
        elif kinks or self.kinked_elements:
            verdict = NOT_DIFFERENTIABLE
            message = (f"{op}: not differentiable at {self._kinks_text(kinks)} (the one-sided "
                       f"differences disagree: a ReLU at 0, a tie in a max, ...), where no "
                       f"gradient is right or wrong; backward agrees with finite differences "
                       f"everywhere else\n({how})")
        else:
            verdict = OK
            message = f"{op}: backward agrees with finite differences on every input\n({how})"
        return NodeCheck(op=op, ok=verdict != MISMATCH, worst=worst, message=message,
                         verdict=verdict, kinks=kinks, seconds=self.budget.elapsed())

    def _nudged_text(self) -> str:
        parts = [f"{self.nudged.get(i, 0)} of {self.probe.arrays[i].size} elements of input {i}"
                 for i in self.checked]
        return ", ".join(parts) if parts else "no element"

    def _kinks_text(self, kinks: int) -> str:
        parts = []
        if kinks:
            index = np.argwhere(self.kinked & np.isfinite(self.probe.output))[0]
            where = f"[{', '.join(map(str, index))}]" if index.size else ""
            parts.append(f"{kinks} of {self.probe.output.size} output elements (first: out{where})")
        if self.kinked_elements:
            parts.append(f"{self.kinked_elements} nudged input elements")
        return " and ".join(parts)


def describe_mismatch(op: str, m: Mismatch) -> str:
    if m.how == "direction":
        return (f"{op}: input {m.input} along a random direction: v.J.u expected "
                f"{m.expected:.6g} (finite differences), received {m.received:.6g} (backward); "
                f"no single nudged element stands out")
    where = f"[{', '.join(map(str, m.index))}]" if m.index else ""
    return (f"{op}: d out / d input {m.input}{where}: expected {m.expected:.6g} (finite "
            f"differences), received {m.received:.6g} (backward), off by {m.error:.3g}")
