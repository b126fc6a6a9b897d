"""check_node on real layers: kinks and ties are not mismatches, big nodes check fast, a
wrong backward still fails, and a check can be cancelled."""

from __future__ import annotations

import time

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.gradcheck import GradcheckInterrupted

rng = np.random.default_rng(7)


def test_max_pool_windows_tied_at_zero_after_a_relu_are_not_a_mismatch() -> None:
    """The report from lesson 10: windows tied at 0 gave 'MISMATCH ... received 0'."""
    x = np.maximum(rng.standard_normal((4, 3, 6, 6)), 0).astype(np.float32)
    x[0, 0, :2, :2] = 0.0  # one whole window tied at 0
    result = sg.check_node("max_pool2d", [x], {}, rng.standard_normal((4, 3, 3, 3)))
    assert result.ok and result.verdict == "not differentiable", result.message
    assert result.kinks >= 1 and "out[0, 0, 0, 0]" in result.message


def test_relu_at_exactly_zero_is_not_differentiable_and_elsewhere_ok() -> None:
    x = np.array([[-1.0, 0.0, 2.0], [0.5, -0.3, 0.0]])
    result = sg.check_node("relu", [x], {}, np.ones((2, 3)))
    assert result.verdict == "not differentiable" and result.kinks == 2, result.message
    smooth = sg.check_node("relu", [np.array([[-1.0, 0.4, 2.0]])])
    assert smooth.verdict == "ok" and smooth.kinks == 0, smooth.message


@pytest.mark.parametrize("op, x", [("abs", np.array([0.0, 1.0, -2.0])),
                                   ("max", np.array([[1.0, 3.0, 3.0], [0.5, 0.2, 0.1]]))])
def test_abs_at_zero_and_a_tied_max_are_kinks(op: str, x: np.ndarray) -> None:
    attrs = {"axis": 1} if op == "max" else {}
    result = sg.check_node(op, [x], attrs)
    assert result.verdict == "not differentiable", result.message


def test_a_wrong_max_pool_backward_is_still_a_mismatch_beside_ties() -> None:
    """Lesson 10's bug (every element of the window gets the gradient) on tied input."""
    x = np.maximum(rng.standard_normal((2, 2, 4, 4)), 0)

    def to_every_element(ctx: sg.Context, grad: np.ndarray) -> tuple[np.ndarray]:
        return (np.repeat(np.repeat(grad, 2, axis=2), 2, axis=3),)

    with sg.ops.patch("max_pool2d", backward=to_every_element):
        result = sg.check_node("max_pool2d", [x], {}, rng.standard_normal((2, 2, 2, 2)))
    assert result.verdict == "MISMATCH" and not result.ok
    assert result.worst[0] is not None and result.worst[0].how == "element"


def test_a_wrong_gradient_in_one_element_of_many_is_found() -> None:
    """A sparse error hides from a random direction; the element search finds it."""
    x = rng.standard_normal((40, 50))

    healthy = sg.ops.original("tanh", "backward")

    def one_wrong(ctx: sg.Context, grad: np.ndarray) -> tuple[np.ndarray]:
        (sent,) = healthy(ctx, grad)
        sent = sent.copy()
        sent[3, 4] += 5.0
        return (sent,)

    with sg.ops.patch("tanh", backward=one_wrong):
        result = sg.check_node("tanh", [x], {}, np.ones((40, 50)))
    assert not result.ok
    assert result.worst[0].index == (3, 4), result.message


def big_nodes() -> list[tuple[str, list[np.ndarray], np.ndarray]]:
    """A 64x9216 linear node and an MNIST-size 64x32x26x26 conv node (op, inputs, upstream):
    checking them once took 52 s and more than 5 min; tests/bench/test_gradcheck_bench.py
    times them (target: under 2 CPU seconds each)."""
    x = rng.standard_normal((64, 9216)).astype(np.float32)
    w = (rng.standard_normal((128, 9216)) * 0.01).astype(np.float32)
    linear = [x, w, np.zeros(128, np.float32)]
    x = rng.standard_normal((64, 32, 26, 26)).astype(np.float32)
    w = rng.standard_normal((64, 32, 3, 3)).astype(np.float32)
    conv = [x, w, np.zeros(64, np.float32)]
    return [("linear", linear, rng.standard_normal((64, 128)).astype(np.float32)),
            ("conv2d", conv, rng.standard_normal((64, 64, 24, 24)).astype(np.float32))]


@pytest.mark.slow
def test_a_big_linear_and_an_mnist_size_conv_check_healthy_on_part_of_the_batch() -> None:
    # a budget too short for the whole batch's forward 16 times (a 4-sample conv forward
    # takes milliseconds), so the conv is checked on part of its batch on any machine
    results = [sg.check_node(op, inputs, {}, up, seconds=0.05) for op, inputs, up in big_nodes()]
    assert all(r.verdict == "ok" for r in results), [r.message for r in results]
    assert "of the batch's 64 samples" in results[1].message  # says how it was reached


def test_a_wrong_backward_is_found_on_a_cut_batch_too() -> None:
    """Lesson 3's bias bug (the bias gradient from the first row only) on a node big enough
    to be checked on part of its batch: the cut keeps several samples, so it still shows."""
    x = rng.standard_normal((256, 1024))
    w, b = rng.standard_normal((16, 1024)) * 0.03, np.zeros(16)
    healthy = sg.ops.original("linear", "backward")

    def first_row_bias(ctx: sg.Context, grad: np.ndarray) -> tuple:
        gx, gw, _ = healthy(ctx, grad)
        return gx, gw, grad[0]

    with sg.ops.patch("linear", backward=first_row_bias):
        result = sg.check_node("linear", [x, w, b], {}, rng.standard_normal((256, 16)),
                               seconds=0.05)
    assert result.verdict == "MISMATCH" and result.worst[2] is not None, result.message


def test_cancel_stops_the_check_with_gradcheck_interrupted() -> None:
    heard: list[str] = []
    with pytest.raises(GradcheckInterrupted, match="gradcheck interrupted"):
        sg.check_node("tanh", [rng.standard_normal((30, 30))], cancel=lambda: bool(heard) or
                      heard.append("asked") is not None)
    assert heard == ["asked"]


def test_progress_is_reported_on_a_long_check() -> None:
    """A check that runs out its 0.3 s budget reports (every 0.25 s); a slow forward makes
    it long whatever the machine's speed (a fast machine once finished before 0.25 s)."""
    heard: list[str] = []
    healthy = sg.ops.original("tanh", "forward")

    def slow(ctx: sg.Context, a: np.ndarray) -> np.ndarray:
        time.sleep(0.005)
        return healthy(ctx, a)

    with sg.ops.patch("tanh", forward=slow):
        sg.check_node("tanh", [rng.standard_normal((60, 60))], seconds=0.3,
                      progress=heard.append)
    assert heard and all("input 0" in text for text in heard)


def test_ctrl_c_inside_an_op_ends_the_check_as_interrupted() -> None:
    def interrupted(ctx: sg.Context, a: np.ndarray) -> np.ndarray:
        raise KeyboardInterrupt

    with sg.ops.patch("tanh", forward=interrupted):
        with pytest.raises(GradcheckInterrupted):
            sg.check_node("tanh", [np.ones(3)])


def test_the_debugger_reports_gradcheck_interrupted_and_which_pass_it_checks() -> None:
    from stepgrad.passcheck import node_report, pass_report

    with sg.trace() as t:
        x = sg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
        (x.tanh() * 2).sum().backward()
    forward = t.of_kind("forward")[0]
    assert node_report(forward, cancel=lambda: True).endswith("gradcheck interrupted")
    assert "interrupted (0 of 3 ops checked)" in pass_report(t, len(t) - 1, cancel=lambda: True)
    report = pass_report(t, 0)  # paused before the pass: the first one after the cursor
    assert "backward pass from sum_" in report and "the first pass after the cursor" in report
    assert [line.split()[0] for line in report.splitlines()[1:]] == ["ok", "ok", "ok"]


def test_gradcheck_leaves_out_a_relu_at_exactly_zero_but_still_catches_a_bug() -> None:
    x = sg.tensor([[0.0, 1.5, -2.0], [0.0, 0.0, 3.0]], requires_grad=True)
    assert sg.gradcheck(lambda t: (t.relu() * 2).sum(), x)
    with sg.ops.patch("relu", backward=lambda ctx, grad: (grad,)):
        with pytest.raises(sg.GradcheckError, match=r"input 0\[0, 2\]"):
            sg.gradcheck(lambda t: (t.relu() * 2).sum(), x)


def test_a_smooth_op_that_mixes_many_inputs_is_ok_not_a_kink() -> None:
    """Batch norm's curvature along a direction over 16,384 inputs is not a kink."""
    x = rng.standard_normal((64, 16, 4, 4))
    stats = [np.ones(16), np.zeros(16), np.zeros(16), np.ones(16)]
    result = sg.check_node("batch_norm", [x, *stats], {"training": True, "eps": 1e-5},
                           rng.standard_normal(x.shape) * 1e-3)
    assert result.verdict == "ok", result.message
