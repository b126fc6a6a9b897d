"""The events of a torch program: a golden sequence for a small MLP, and what they hold."""

from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the torch bridge needs PyTorch: "
                            "pip install 'stepgrad[torch]'")

import stepgrad as sg  # noqa: E402
from stepgrad import events, torchbridge  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
models = importlib.import_module("bridge_models")

#: One iteration of the MLP: zero_grad, the forward pass through two Linear modules,
#: the loss, the backward pass one op at a time (last op first), the optimizer step.
GOLDEN = [
    ("zero_grad", "SGD"),
    ("module_enter", ""), ("module_enter", "fc1"),
    ("forward", "linear_1 linear fc1"),
    ("module_exit", "fc1"),
    ("forward", "relu_1 relu "),
    ("module_enter", "fc2"),
    ("forward", "linear_2 linear fc2"),
    ("module_exit", "fc2"), ("module_exit", ""),
    ("forward", "cross_entropy_1 cross_entropy "),
    ("backward_begin", "cross_entropy_1"),
    ("backward", "cross_entropy_1 cross_entropy "),
    ("backward", "linear_2 linear fc2"),
    ("backward", "relu_1 relu "),
    ("backward", "linear_1 linear fc1"),
    ("backward_end", "cross_entropy_1"),
    ("optimizer_step", "SGD"),
]


def brief(event: events.Event) -> tuple[str, str]:
    if isinstance(event, (events.ForwardStep, events.BackwardStep)):
        return event.kind, f"{event.name} {event.op} {event.module_path}"
    if isinstance(event, (events.ModuleEnter, events.ModuleExit)):
        return event.kind, event.path
    if isinstance(event, (events.BackwardBegin, events.BackwardEnd)):
        return event.kind, event.root_name
    if isinstance(event, events.ZeroGrad):
        return event.kind, event.owner
    if isinstance(event, events.OptimizerStep):
        return event.kind, event.optimizer
    return event.kind, ""


def record(steps: int = 2):
    train, model = models.torch_program(steps)
    with sg.trace() as t, torchbridge.bridge():
        losses = train()
    return t.events, losses, model


def test_golden_event_sequence_of_a_torch_mlp():
    recorded, _, _ = record(steps=2)
    assert [brief(e) for e in recorded] == GOLDEN * 2  # names start afresh each iteration


def test_nodes_carry_inputs_parameters_grad_fn_and_the_source_line():
    recorded, _, _ = record(steps=1)
    linear = next(e for e in recorded if isinstance(e, events.ForwardStep))
    assert linear.input_names[1:] == ("fc1.weight", "fc1.bias")
    assert linear.attrs["grad_fn"] == "AddmmBackward0"
    assert linear.attrs["torch"] == "F.linear(ins[0], ins[1], ins[2])"
    np.testing.assert_allclose(linear.inputs[1], models.W1)
    np.testing.assert_allclose(linear.output, models.X @ models.W1.T + models.B1, rtol=1e-5)
    assert os.path.basename(linear.file) == "bridge_models.py"
    assert "return self.fc2(F.relu(self.fc1(x)))" in open(linear.file).read().splitlines()[
        linear.line - 1]
    assert linear.depth == 2 and linear.module_path == "fc1"


def test_backward_steps_send_what_torch_accumulates_into_grad():
    recorded, _, model = record(steps=1)
    steps = {e.name: e for e in recorded if isinstance(e, events.BackwardStep)}
    before = next(e for e in recorded if isinstance(e, events.OptimizerStep))
    grads = {p.name: p.grad for p in before.params}
    np.testing.assert_allclose(steps["linear_1"].grads[1], grads["fc1.weight"], rtol=1e-6)
    np.testing.assert_allclose(steps["linear_2"].grads[2], grads["fc2.bias"], rtol=1e-6)
    assert steps["linear_1"].grads[0] is None  # the data takes no gradient
    assert steps["cross_entropy_1"].grads[1] is None  # nor do the targets
    # what relu_1 sent is what linear_2 received as its upstream... one step further down
    np.testing.assert_allclose(steps["relu_1"].upstream, steps["linear_2"].grads[0])
    np.testing.assert_allclose(steps["linear_1"].upstream, steps["relu_1"].grads[0])
    assert steps["cross_entropy_1"].upstream.shape == ()


def test_optimizer_step_reports_updates_and_ratios():
    recorded, _, model = record(steps=1)
    step = next(e for e in recorded if isinstance(e, events.OptimizerStep))
    by_name = {p.name: p for p in step.params}
    assert set(by_name) == {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
    update = by_name["fc2.weight"]
    np.testing.assert_allclose(update.update, -0.1 * update.grad, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(model.fc2.weight.detach().numpy(), models.W2 + update.update,
                               rtol=1e-6)
    assert update.ratio == np.linalg.norm(update.update) / np.linalg.norm(models.W2)
    assert step.lr == 0.1 and step.step == 1


def test_a_value_used_twice_accumulates_and_broadcast_axes_are_named():
    w = torch.ones(3, requires_grad=True)
    x = torch.arange(6.0).reshape(2, 3)
    with sg.trace() as t, torchbridge.bridge():
        h = x * w  # w broadcast over the rows
        (h * h).sum().backward()
    steps = {e.name: e for e in t.events if isinstance(e, events.BackwardStep)}
    assert steps["mul_1"].summed_axes[1] == (0,)
    square = steps["mul_2"]
    assert square.input_names == ("mul_1", "mul_1")
    assert square.accumulated == (False, True)  # the second use adds to the first
    np.testing.assert_allclose(square.grads[0] + square.grads[1], 2 * (x * w).detach().numpy())
    np.testing.assert_allclose(steps["mul_1"].grads[1], w.grad.numpy())


def test_snapshots_do_not_change_with_the_program():
    x = torch.ones(3, requires_grad=True)
    with sg.trace() as t, torchbridge.bridge():
        h = x * 2
        h.add_(5)  # in place: the first node's output must keep its value
    first, second = [e for e in t.events if isinstance(e, events.ForwardStep)]
    np.testing.assert_array_equal(first.output, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(second.inputs[0], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(second.output, [7.0, 7.0, 7.0])


def test_without_a_listener_the_bridge_only_passes_calls_through():
    train, model = models.torch_program(1)
    with torchbridge.bridge():
        losses = train()
    assert not hasattr(model.fc1.weight, "_stepgrad_leaf")  # no input was ever described
    assert losses == models.torch_program(1)[0]()


def test_other_threads_are_not_recorded():
    import threading

    train, _ = models.torch_program(1)
    with sg.trace() as t, torchbridge.bridge():
        worker = threading.Thread(target=train)
        worker.start()
        worker.join()
    assert t.events == []


def test_the_core_never_imports_torch():
    spec = importlib.util.find_spec("stepgrad.torchbridge.detect")
    assert spec is not None
    code = ("import sys, stepgrad, stepgrad.debug, stepgrad.torchbridge;"
            "assert 'torch' not in sys.modules, 'torch was imported'")
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_data_loading_is_not_the_model_and_odd_tensors_never_break_the_program():
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(torch.randn(8, 4), torch.arange(8)), batch_size=4)
    sparse = torch.sparse_coo_tensor([[0, 1], [1, 0]], [2.0, 3.0], (2, 2), check_invariants=True)
    with sg.trace() as t, torchbridge.bridge():
        outs = [torch.relu(x) for x, _ in loader]  # collating a batch calls torch.stack
        dense = sparse.to_dense()  # numpy cannot hold a sparse input: runs unrecorded
    assert [e.name for e in t.events if isinstance(e, events.ForwardStep)] == [
        "relu_1", "relu_2"]
    assert len(outs) == 2 and dense.tolist() == [[0.0, 2.0], [3.0, 0.0]]


def test_autograd_grad_is_a_backward_pass_too():
    w = torch.ones(3, requires_grad=True)
    with sg.trace() as t, torchbridge.bridge():
        (grad,) = torch.autograd.grad((w * 2).sum(), [w])
    assert [brief(e)[0] for e in t.events] == [
        "forward", "forward", "backward_begin", "backward", "backward", "backward_end"]
    assert grad.tolist() == [2.0, 2.0, 2.0] and w.grad is None


def test_torchs_own_work_is_not_the_models():
    """Initialisation, clip_grad_norm_, the optimizer and zero_grad call torch ops too; only
    the model's and the program's own ops become nodes."""
    with sg.trace() as t, torchbridge.bridge():
        model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
        opt = torch.optim.Adam(model.parameters())
        x = torch.randn(5, 4)
        model.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        correct = (model(x).argmax(1) == 0).float().mean()
    ops = [e.op for e in t.events if isinstance(e, events.ForwardStep)]
    assert ops == ["linear", "batch_norm", "pow", "mean",
                   "linear", "batch_norm", "argmax", "eq", "float", "mean"]
    assert 0.0 <= correct.item() <= 1.0
    assert [(e.owner, e.params) for e in t.events if isinstance(e, events.ZeroGrad)] == [
        ("Sequential", 4)]  # model.zero_grad() is a ZeroGrad too
    assert [e.optimizer for e in t.events if isinstance(e, events.OptimizerStep)] == ["Adam"]
