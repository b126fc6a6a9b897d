"""Commands on a torch program's events: gradcheck re-runs torch, backprop's local
derivatives come from torch, and `where` names the user's line and module."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch bridge needs PyTorch: "
                            "pip install 'stepgrad[torch]'")

import torch.nn.functional as F  # noqa: E402

import stepgrad as sg  # noqa: E402
from stepgrad import events, torchbridge  # noqa: E402
from stepgrad.debug import Commands, Session  # noqa: E402
from stepgrad.torchbridge.check import CallError, local_derivatives, rerun  # noqa: E402


def forward_steps(program):
    with sg.trace() as t, torchbridge.bridge():
        program()
    return {e.name: e for e in t.events if isinstance(e, events.ForwardStep)}


def cnn():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 6, 6)
    w = torch.randn(3, 1, 3, 3, requires_grad=True)
    h = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
    return F.cross_entropy(h.flatten(1) @ torch.randn(27, 4), torch.tensor([1, 3]))


def test_gradcheck_of_torch_nodes_is_ok_on_healthy_ops():
    steps = forward_steps(cnn)
    assert {"conv2d_1", "max_pool2d_1", "flatten_1", "matmul_1", "cross_entropy_1"} <= set(steps)
    for name in ("conv2d_1", "matmul_1", "cross_entropy_1"):
        result = torchbridge.gradcheck_event(steps[name])
        assert result.ok, result.message
        assert "torch.autograd.gradcheck" in result.message


class BadSquare(torch.autograd.Function):
    """x ** 2 with a wrong backward (3x instead of 2x): a learner's custom Function."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * grad * x


def test_a_custom_function_is_one_node_and_gradcheck_finds_its_wrong_backward():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    with sg.trace() as t, torchbridge.bridge():
        BadSquare.apply(x).sum().backward()
    names = [(e.kind, e.name) for e in t.events if isinstance(e, (events.ForwardStep,
                                                                     events.BackwardStep))]
    assert names == [("forward", "BadSquare_1"), ("forward", "sum_1"), ("backward", "sum_1"),
                     ("backward", "BadSquare_1")]  # its inner x * x is not a node of its own
    step = next(e for e in t.events if isinstance(e, events.ForwardStep))
    assert step.attrs == {"torch": "BadSquare.apply(ins[0])", "grad_fn": "BadSquareBackward"}
    result = torchbridge.gradcheck_event(step)
    assert not result.ok and result.verdict == "MISMATCH"
    assert "BadSquareBackward differs from finite differences" in result.message
    assert "Jacobian mismatch" in result.message
    restored = torch.autograd.Function.__dict__["apply"].__func__
    assert restored.__qualname__ == "Function.apply"  # torch's own, once the bridge ended


def test_a_recorded_call_runs_only_torch_functions_on_its_inputs():
    x = torch.ones(2)
    assert rerun("F.relu(ins[0])", [x]).tolist() == [1.0, 1.0]
    assert rerun("ins[0].view(1, 2)", [x]).shape == (1, 2)
    for text in ("__import__('os').system('true')", "torch.load('x.pt')", "open('f')",
                 "F.relu(ins[0], inplace=print)"):
        with pytest.raises(CallError):
            rerun(text, [x])


def test_local_derivatives_of_an_elementwise_torch_node():
    x = torch.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    b = torch.tensor([1.0, 10.0], requires_grad=True)
    steps = forward_steps(lambda: (torch.tanh(x) * b).sum())
    x64 = x.detach().double().numpy()  # the derivatives are worked out in float64
    tanh = local_derivatives(steps["tanh_1"])[0]
    np.testing.assert_allclose(tanh, 1 - np.tanh(x64) ** 2, rtol=1e-6)
    local = local_derivatives(steps["mul_1"])
    np.testing.assert_allclose(local[1], np.tanh(x64), rtol=1e-6)  # d/d b, per element
    assert local_derivatives(steps["sum_1"]) == []  # sum mixes elements


def test_where_and_backprop_through_the_session():
    def program():
        w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
        h = torch.relu(w * 3)
        h.sum().backward()

    session = Session(torchbridge.wrap(program), name="program")
    session.start()
    commands = Commands(session)
    try:
        commands.run("break backward relu")
        commands.run("continue")
        where = commands.run("where")
        assert "relu_1 (relu)" in where and "h = torch.relu(w * 3)" in where
        explained = commands.run("backprop")
        assert "local derivative" in explained and "relu" in explained
        checked = commands.run("gradcheck")
        assert "ok" in checked.splitlines()[0] and "ReluBackward0" in checked
        listed = commands.run("list")
        assert "torch.relu(ins[0])" in listed and "ReluBackward0   <- this step" in listed
        assert "no Python lines to step through" in commands.run("step into")
    finally:
        session.close()


def test_print_sees_the_programs_variables_at_a_torch_stop(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import torch\n"
                      "w = torch.tensor([1.0, -2.0], requires_grad=True)\n"
                      "scale = 3\n"
                      "loss = torch.relu(w * scale).sum()\n"
                      "loss.backward()\n")
    session = Session.for_script(str(script))
    torchbridge.use_for_script(session, str(script))
    session.start()
    commands = Commands(session)
    try:
        commands.run("break backward relu")
        commands.run("continue")
        assert commands.run("p scale") == "3"  # the script's frame, not one of torch's
        assert "loss" in commands.run("p sorted(k for k in dir() if k == 'loss')")
    finally:
        session.close()


def test_torch_settings_are_in_attrs_under_stepgrads_names_and_indexing_reruns():
    x = torch.randn(2, 1, 6, 6, requires_grad=True)
    w = torch.randn(2, 1, 3, 3, requires_grad=True)
    steps = forward_steps(lambda: F.conv2d(x, w, None, 2, 1)[:, 1:, ..., ::2].sum(dim=1))
    assert {k: steps["conv2d_1"].attrs[k] for k in ("stride", "padding")} == {
        "stride": 2, "padding": 1}
    assert steps["sum_1"].attrs["axis"] == 1  # torch's dim, stepgrad's axis
    getitem = steps["getitem_1"]
    assert getitem.attrs["index"] == (slice(None), slice(1, None), Ellipsis, slice(None, None, 2))
    assert torchbridge.gradcheck_event(getitem).ok
    assert torchbridge.gradcheck_event(steps["conv2d_1"]).ok


def test_break_on_a_torch_op_stepgrad_does_not_have():
    def program():
        x = torch.randn(2, 3, 2, requires_grad=True)
        torch.flatten(x, 1).sum().backward()

    session = Session(torchbridge.wrap(program), name="program")
    session.start()
    commands = Commands(session)
    try:
        commands.run("break backward flatten")
        assert "breakpoint 1" in commands.run("continue")
        event = session.state.event
        assert (event.kind, event.name, event.op) == ("backward", "flatten_1", "flatten")
    finally:
        session.close()


def test_a_saved_torch_trace_replays_and_its_nodes_still_gradcheck(tmp_path):
    steps = forward_steps(cnn)
    with sg.trace() as t, torchbridge.bridge():
        cnn()
    t.save(tmp_path / "run.sgtrace")
    loaded = sg.load_trace(tmp_path / "run.sgtrace")
    conv = next(e for e in loaded if isinstance(e, events.ForwardStep) and e.op == "conv2d")
    assert conv.attrs == steps["conv2d_1"].attrs
    result = sg.check_node(conv.op, conv.inputs, conv.attrs)  # dispatched to torch
    assert result.ok and "ConvolutionBackward0 agrees" in result.message


def test_a_torch_step_is_known_by_its_node_id_alone():
    with sg.trace() as t, torchbridge.bridge():
        cnn()
    node_steps = [e for e in t.events if isinstance(e, (events.ForwardStep, events.BackwardStep))]
    assert node_steps and all(torchbridge.is_torch_event(e) for e in node_steps)
    with sg.trace() as own:
        (sg.tensor([1.0, 2.0], requires_grad=True) * 3).sum().backward()
    assert not any(torchbridge.is_torch_event(e) for e in own.events)
