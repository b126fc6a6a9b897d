"""Check gradients by finite differences: the test every backward must pass.

    sg.gradcheck(lambda x, w: (x @ w).tanh().sum(), x, w)    # True, or GradcheckError

The numeric derivative of f at x is (f(x + eps) - f(x - eps)) / (2 eps) (central
differences, error O(eps^2)); it is computed in float64 for every element of every
input and compared with what backward produced. The message names the worst element,
the expected (numeric) and the received (backward) derivative.

`check_node` does the same for one recorded node: it re-runs the op's forward on the
node's recorded inputs, so the debugger and the lessons can ask "is *this* backward right?".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad.function import Context
from stepgrad.ops.registry import get
from stepgrad.tensor import Tensor


class GradcheckError(AssertionError):
    """A backward disagrees with finite differences."""


@dataclass(frozen=True)
class Mismatch:
    """The worst disagreement found for one input."""

    input: int
    index: tuple[int, ...]
    expected: float
    received: float

    @property
    def error(self) -> float:
        return abs(self.expected - self.received)


@dataclass(frozen=True)
class NodeCheck:
    """The result of checking one node: `ok`, and per input the worst element."""

    op: str
    ok: bool
    worst: tuple[Mismatch | None, ...]
    message: str


def numeric_grad(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6,
                 indices: Sequence[int] | None = None) -> np.ndarray:
    """d f / d array by central differences, nudging one element of `array` at a time
    (only the elements at flat `indices` when given; the others are left NaN)."""
    grad = np.zeros(array.shape, dtype=np.float64)
    flat, out = array.reshape(-1), grad.reshape(-1)
    if indices is not None:
        out[:] = np.nan
    for i in range(flat.size) if indices is None else indices:
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return grad


def _worst(expected: np.ndarray, received: np.ndarray, which: int, atol: float,
           rtol: float, checked: np.ndarray | None = None) -> Mismatch | None:
    """The element where backward (`received`) is furthest from finite differences
    (`expected`), if beyond tolerance; only elements in the `checked` mask count."""
    error = np.abs(expected - received) - rtol * np.abs(expected)
    error = np.where(np.isnan(error), np.inf, error)  # a NaN from backward is a mismatch
    if checked is not None:
        error = np.where(checked, error, -np.inf)
    if error.size == 0 or not np.max(error) > atol:
        return None
    flat = int(np.argmax(error))
    index = np.unravel_index(flat, expected.shape) if expected.shape else ()
    return Mismatch(which, tuple(int(i) for i in index), float(expected.reshape(-1)[flat]),
                    float(received.reshape(-1)[flat]))


def _describe(what: str, m: Mismatch) -> str:
    where = f"[{', '.join(map(str, m.index))}]" if m.index else ""
    return (f"{what}: d out / d input {m.input}{where}: expected {m.expected:.6g} (finite "
            f"differences), received {m.received:.6g} (backward), off by {m.error:.3g}")


def gradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare the gradients backward gives for `fn(*inputs)` with finite differences.

    Inputs that require a gradient are checked (in float64 copies); a non-scalar output is
    reduced to a scalar with fixed random weights first. PyTorch: torch.autograd.gradcheck.
    """
    leaves = [Tensor(np.array(x.data if isinstance(x, Tensor) else x, dtype=np.float64),
                     requires_grad=isinstance(x, Tensor) and x.requires_grad) for x in inputs]
    if not any(t.requires_grad for t in leaves):
        raise ValueError("gradcheck: no input requires a gradient; make some with "
                         "sg.tensor(..., requires_grad=True)")
    out = fn(*leaves)
    weights = np.random.default_rng(0).standard_normal(out.shape)

    def scalar() -> float:
        return float((fn(*leaves).data * weights).sum())

    (out * weights).sum().backward()
    for i, leaf in enumerate(leaves):
        if not leaf.requires_grad:
            continue
        received = np.zeros_like(leaf.data) if leaf.grad is None else leaf.grad
        mismatch = _worst(numeric_grad(scalar, leaf.data, eps), received, i, atol, rtol)
        if mismatch is not None:
            if raise_exception:
                raise GradcheckError(_describe("gradcheck", mismatch))
            return False
    return True


def check_node(op: str, inputs: Sequence[np.ndarray], attrs: dict[str, Any] | None = None,
               upstream: np.ndarray | None = None, eps: float = 1e-6, atol: float = 1e-4,
               rtol: float = 1e-3, max_elements: int | None = None) -> NodeCheck:
    """Check the registered op `op`'s backward at one node's recorded inputs.

    Re-runs forward on float64 copies of `inputs`, takes `upstream` (or ones) as the
    gradient arriving from above, and compares backward's gradients with finite
    differences of sum(upstream * forward(inputs)). A gradient backward leaves out (None)
    for an input that needs one counts as zeros: a dropped gradient is a mismatch.
    With `max_elements`, larger inputs are checked at that many elements chosen at random
    (with a fixed seed), which keeps the check of a big node fast.
    """
    cls, attrs = get(op), dict(attrs or {})
    arrays = [np.array(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.array(a)
              for a in inputs]
    ctx = Context()
    ctx.needs_input_grad = tuple(a.dtype.kind == "f" for a in arrays)
    if cls.differentiable is not None:
        ctx.needs_input_grad = tuple(n and i < cls.differentiable
                                     for i, n in enumerate(ctx.needs_input_grad))
    out = np.asarray(cls.forward(ctx, *arrays, **attrs), dtype=np.float64)
    weights = np.ones_like(out) if upstream is None else np.array(upstream, dtype=np.float64)
    sent = cls.backward(ctx, weights.copy())
    sent = sent if isinstance(sent, tuple) else (sent,)

    def scalar() -> float:
        fresh = Context()
        fresh.needs_input_grad = ctx.needs_input_grad
        return float((np.asarray(cls.forward(fresh, *arrays, **attrs)) * weights).sum())

    from stepgrad.autograd import unbroadcast

    worst: list[Mismatch | None] = []
    problems: list[str] = []
    sampled = False
    for i, array in enumerate(arrays):
        grad = sent[i] if i < len(sent) else None
        if not ctx.needs_input_grad[i]:
            worst.append(None)
            continue
        if grad is None:
            grad = np.zeros_like(array)  # a dropped gradient must still match
        try:
            received = unbroadcast(np.asarray(grad, dtype=np.float64), array.shape)[0]
        except ValueError:
            problems.append(f"{op}: backward sent a gradient of shape {np.shape(grad)} to "
                            f"input {i} of shape {array.shape}")
            worst.append(None)
            continue
        indices, checked = None, None
        if max_elements is not None and array.size > max_elements:
            rng = np.random.default_rng(i)
            indices = np.sort(rng.choice(array.size, max_elements, replace=False))
            checked = np.zeros(array.size, dtype=bool)
            checked[indices] = True
            checked, sampled = checked.reshape(array.shape), True
        expected = numeric_grad(scalar, array, eps, indices)
        worst.append(_worst(expected, received, i, atol, rtol, checked))
    problems += [_describe(op, m) for m in worst if m is not None]
    if problems:
        message = "\n".join(problems)
    else:
        message = f"{op}: backward agrees with finite differences on every input"
        if sampled:
            message += f" (large inputs checked at {max_elements} random elements)"
    return NodeCheck(op=op, ok=not problems, worst=tuple(worst), message=message)
