"""Check gradients by finite differences: the test every backward must pass.

    sg.gradcheck(lambda x, w: (x @ w).tanh().sum(), x, w)    # True, or GradcheckError

The numeric derivative of f at x is (f(x + eps) - f(x - eps)) / (2 eps) (central
differences, error O(eps^2)); it is computed in float64 for every element of every
input and compared with what backward produced. The message names the worst element,
the expected (numeric) and the received (backward) derivative.

`check_node` (stepgrad/nodecheck.py) asks the same of one recorded node: it re-runs the
op's forward on the node's recorded inputs, so the debugger and the lessons can ask "is
*this* backward right?", fast on inputs of any size and without false alarms at kinks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from stepgrad.nodecheck import (
    GradcheckInterrupted,
    Mismatch,
    NodeCheck,
    check_node,
    describe_mismatch,
)
from stepgrad.tensor import Tensor

__all__ = ["GradcheckError", "GradcheckInterrupted", "Mismatch", "NodeCheck", "check_node",
           "gradcheck", "numeric_grad"]


class GradcheckError(AssertionError):
    """A backward disagrees with finite differences."""


def numeric_grad(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6,
                 indices: Sequence[int] | None = None,
                 kinks: np.ndarray | None = None) -> np.ndarray:
    """d f / d array by central differences, nudging one element of `array` at a time
    (only the elements at flat `indices` when given; the others are left NaN).

    With a boolean array `kinks` (shaped like `array`), also marks the elements where f is
    not differentiable: its one-sided differences (f(x+eps)-f(x))/eps and (f(x)-f(x-eps))/eps
    disagree, as at a ReLU's 0 or a tie in a max."""
    grad = np.zeros(array.shape, dtype=np.float64)
    flat, out = array.reshape(-1), grad.reshape(-1)
    marks = None if kinks is None else kinks.reshape(-1)
    here = f() if kinks is not None else 0.0
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
        if marks is not None:
            right, left = (plus - here) / eps, (here - minus) / eps
            noise = 1e-13 * (abs(here) + abs(plus) + abs(minus)) / eps
            marks[i] = abs(right - left) > 1e-2 * max(abs(right), abs(left)) + noise
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


def gradcheck(fn: Callable[..., Tensor], *inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare the gradients backward gives for `fn(*inputs)` with finite differences.

    Inputs that require a gradient are checked (in float64 copies); a non-scalar output is
    reduced to a scalar with fixed random weights first. Elements where the function is not
    differentiable (a ReLU at exactly 0, a tie in a max) are left out: no gradient there is
    right or wrong. PyTorch: torch.autograd.gradcheck.
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
        grad = getattr(leaf.grad, "data", leaf.grad)  # .grad is a Tensor, as in PyTorch
        received = np.zeros_like(leaf.data) if grad is None else np.asarray(grad)
        kinks = np.zeros(leaf.data.shape, dtype=bool)  # not differentiable there: not checked
        expected = numeric_grad(scalar, leaf.data, eps, kinks=kinks)
        mismatch = _worst(expected, received, i, atol, rtol, checked=~kinks)
        if mismatch is not None:
            if raise_exception:
                raise GradcheckError(describe_mismatch("gradcheck", mismatch))
            return False
    return True
