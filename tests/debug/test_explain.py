"""`backprop` for the ops that mix elements: the sum one sent element came from, written
out from the recorded events, must add up to what backward sent."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import stepgrad as sg
from stepgrad import events as ev
from stepgrad.debug.chain import local_derivatives
from stepgrad.debug.explain import explain

rng = np.random.default_rng(3)
F = sg.nn.functional


def t(*shape: int, grad: bool = True) -> sg.Tensor:
    return sg.tensor(rng.standard_normal(shape), requires_grad=grad)


def recorded(build: Callable[[], sg.Tensor], op: str) -> tuple[ev.ForwardStep, ev.BackwardStep]:
    """The forward and backward step of the (last) `op` node when `build()` is backpropagated
    with a random upstream gradient."""
    with sg.trace() as trace:
        out = build()
        (out * sg.tensor(rng.standard_normal(out.shape))).sum().backward()
    backward = [e for e in trace.of_kind("backward") if e.op == op][-1]
    forward = next(e for e in trace.of_kind("forward") if e.node_id == backward.node_id)
    return forward, backward


def totals(lines: list[str]) -> list[tuple[float, float]]:
    """(the total of the written-out sum, what backward sent), from each 'total' line."""
    found = []
    for line in lines:
        match = re.search(r"(?:total|=) (-?[\d.e+-]+) \(.*?backward sent (-?[\d.e+-]+)\)", line)
        if match:
            found.append((float(match[1]), float(match[2])))
    return found


CASES = {
    "matmul": (lambda: t(3, 4) @ t(4, 5), 2),
    "linear": (lambda: F.linear(t(6, 4), t(3, 4), t(3)), 3),
    "conv2d": (lambda: F.conv2d(t(2, 2, 5, 5), t(3, 2, 3, 3), t(3), stride=2, padding=1), 3),
    "sum": (lambda: t(3, 4).sum(axis=1), 1),
    "mean": (lambda: t(3, 4).mean(axis=0), 1),
    "max": (lambda: t(3, 4).max(axis=1), 1),
    "getitem": (lambda: t(4, 3)[np.array([0, 2, 0, 0])], 1),
    "softmax": (lambda: t(3, 5).softmax(axis=1), 1),
    "log_softmax": (lambda: t(3, 5).log_softmax(axis=1), 1),
    "cross_entropy": (lambda: F.cross_entropy(t(4, 3), np.array([0, 2, 1, 1])), 1),
    "mse_loss": (lambda: F.mse_loss(t(2, 3), t(2, 3)), 2),
    "max_pool2d": (lambda: F.max_pool2d(t(2, 2, 4, 4), 2), 1),
    "avg_pool2d": (lambda: F.avg_pool2d(t(1, 2, 5, 5), 3, stride=1), 1),
}


@pytest.mark.parametrize("op", sorted(CASES))
def test_each_explained_element_adds_up_to_what_backward_sent(op: str) -> None:
    build, inputs = CASES[op]
    forward, backward = recorded(build, op)
    explained = explain(forward, backward, local_derivatives(forward))
    assert sorted(explained) == list(range(inputs)), explained
    for lines in explained.values():
        pairs = totals(lines)
        assert pairs, lines
        for total, sent in pairs:
            assert total == pytest.approx(sent, rel=1e-4, abs=1e-9), lines


def test_matmul_names_its_largest_terms_and_the_formula() -> None:
    a, b = t(2, 3), t(3, 4)
    forward, backward = recorded(lambda: a @ b, "matmul")
    lines = explain(forward, backward, which=0, index=(1, 2))[0]
    assert lines[0].strip() == "dL/dA[i,k] = sum_j up[i,j] * B[k,j]"
    assert "dL/dA[1, 2] = sum of 4 terms: up[1," in lines[1] and "*B[2," in lines[1]
    up = np.asarray(backward.upstream)
    assert float(re.search(r"total (\S+)", lines[2])[1]) == pytest.approx(up[1] @ b.data[2],
                                                                     rel=1e-5)


def test_softmax_says_vector_jacobian_product() -> None:
    forward, backward = recorded(lambda: t(2, 4).softmax(axis=1), "softmax")
    text = "\n".join(explain(forward, backward)[0])
    assert "vector-Jacobian product over the row x[" in text and "y[c] * (up[c]" in text


def test_getitem_sums_the_positions_that_read_an_element() -> None:
    forward, backward = recorded(lambda: t(4, 3)[np.array([0, 2, 0, 0])], "getitem")
    lines = explain(forward, backward, which=0, index=(0, 1))[0]
    assert "read at 3 output position(s)" in lines[0] and "up[0, 1]" in lines[0]
    unread = explain(forward, backward, which=0, index=(1, 1))[0]
    assert "not selected" in unread[0]


def test_a_broadcast_input_shows_the_values_summed() -> None:
    forward, backward = recorded(lambda: t(4, 3) * t(3), "mul")
    lines = explain(forward, backward, local_derivatives(forward))[1]
    assert "sum of 4 terms" in lines[0]
    total, sent = totals(lines)[0]
    assert total == pytest.approx(sent)


def test_max_names_the_winner() -> None:
    x = sg.tensor([[1.0, 5.0, 2.0]], requires_grad=True)
    forward, backward = recorded(lambda: x.max(axis=1), "max")
    assert "is the max" in explain(forward, backward, which=0, index=(0, 1))[0][1]
    assert "is not the max" in explain(forward, backward, which=0, index=(0, 0))[0][1]


def test_backprop_in_the_debugger_explains_a_chosen_element(make_session) -> None:
    session, commands = make_session()
    commands.run("break backward linear")
    commands.run("continue")
    text = commands.run("backprop")
    assert "dL/dW[j,k] = sum_n up[n,j] * x[n,k]" in text and "the op mixes" not in text
    chosen = commands.run("backprop 1 [0, 1]")
    assert "dL/dW[0, 1] = sum of" in chosen
    assert "has no gradient for input 9" in commands.run("backprop 9")
    assert "give 2 indices" in commands.run("backprop 1 0")

