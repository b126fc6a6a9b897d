"""The drop-in's ops are nodes like any other: the debugger records them and gives the
local derivatives of the elementwise ones (what `backprop` and the inspector show)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.debug.chain import ELEMENTWISE, local_derivatives

x0 = np.array([-1.5, -0.2, 0.3, 2.0])
y0 = np.array([0.5, -0.2, 1.0, -3.0])

#: op -> (build from tensors x and y, the expected d out / d x at x0, y0)
CASES: dict[str, tuple[Callable, np.ndarray]] = {
    "sin": (lambda x, y: x.sin(), np.cos(x0)),
    "cos": (lambda x, y: x.cos(), -np.sin(x0)),
    "clamp": (lambda x, y: x.clamp(-1.0, 1.0), ((x0 >= -1) & (x0 <= 1)).astype(float)),
    "maximum": (lambda x, y: sg.maximum(x, y), np.where(x0 > y0, 1.0, np.where(x0 == y0, .5, 0))),
    "minimum": (lambda x, y: sg.minimum(x, y), np.where(x0 < y0, 1.0, np.where(x0 == y0, .5, 0))),
    "where": (lambda x, y: sg.where(x > 0, x, y), (x0 > 0).astype(float)),
    "cast": (lambda x, y: x.float(), np.ones(4)),
    "silu": (lambda x, y: sg.nn.functional.silu(x),
             (s := 1 / (1 + np.exp(-x0))) + x0 * s * (1 - s)),
    "gelu": (lambda x, y: sg.nn.functional.gelu(x), None),
}


@pytest.mark.parametrize("op", sorted(CASES))
def test_new_elementwise_ops_are_recorded_with_their_local_derivative(op: str) -> None:
    build, expected = CASES[op]
    assert op in ELEMENTWISE
    x = sg.tensor(x0, requires_grad=True, name="x")
    y = sg.tensor(y0, requires_grad=True, name="y")
    with sg.trace() as t:
        build(x, y).sum().backward()
    forward = next(e for e in t if e.kind == "forward" and e.op == op)
    assert "x" in forward.input_names
    assert any(e.kind == "backward" and e.op == op for e in t)
    slope = local_derivatives(forward)[0]
    np.testing.assert_allclose(slope, x.grad.data if expected is None else expected, rtol=1e-6)
