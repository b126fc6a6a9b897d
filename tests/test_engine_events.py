"""Events: the golden sequence of a small graph, their cost with nobody listening, snapshot
semantics, traces saved and loaded, STEPGRAD_DEBUG=1 printing, and anomaly mode."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from trace_bytes import rewrite_v3

import stepgrad as sg
from stepgrad import events
from stepgrad.function import reset_names


class Net(sg.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = sg.nn.Linear(2, 2)

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        h = self.fc(x)
        return h * h  # h used twice: its gradient is accumulated from two paths


def record_small_graph() -> tuple[sg.Trace, Net, sg.Tensor]:
    model = Net()
    x = sg.tensor(np.ones((3, 2)), name="x")
    b = sg.tensor([1.0, 2.0], requires_grad=True, name="b")  # broadcast against (3, 2)
    reset_names()
    with sg.trace() as t:
        loss = (model(x) + b).sum()
        loss.backward()
    return t, model, b


def describe(event: events.Event) -> tuple:
    if isinstance(event, events.ForwardStep):
        return ("forward", event.op, event.name, event.depth, event.module_path, event.input_names)
    if isinstance(event, events.BackwardStep):
        return ("backward", event.op, event.name, event.depth, event.module_path,
                event.input_names, event.accumulated, event.summed_axes)
    if isinstance(event, (events.ModuleEnter, events.ModuleExit)):
        return (event.kind, event.module, event.path, event.depth)
    if isinstance(event, events.BackwardBegin):
        return (event.kind, event.root_name, event.nodes)
    if isinstance(event, events.BackwardEnd):
        return (event.kind, event.root_name)
    raise AssertionError(f"unexpected event {event}")


GOLDEN = [
    ("module_enter", "Net", "", 0),
    ("module_enter", "Linear", "fc", 1),
    ("forward", "linear", "linear_1", 2, "fc", ("x", "fc.weight", "fc.bias")),
    ("module_exit", "Linear", "fc", 1),
    ("forward", "mul", "mul_1", 1, "", ("linear_1", "linear_1")),
    ("module_exit", "Net", "", 0),
    ("forward", "add", "add_1", 0, "", ("mul_1", "b")),
    ("forward", "sum", "sum_1", 0, "", ("add_1",)),
    ("backward_begin", "sum_1", 4),
    ("backward", "sum", "sum_1", 0, "", ("add_1",), (False,), ((),)),
    ("backward", "add", "add_1", 0, "", ("mul_1", "b"), (False, False), ((), (0,))),
    ("backward", "mul", "mul_1", 1, "", ("linear_1", "linear_1"), (False, True), ((), ())),
    ("backward", "linear", "linear_1", 2, "fc", ("x", "fc.weight", "fc.bias"),
     (False, False, False), ((), (), ())),
    ("backward_end", "sum_1"),
]


def test_golden_event_sequence() -> None:
    t, model, b = record_small_graph()
    assert [describe(e) for e in t] == GOLDEN
    seqs = [e.seq for e in t]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [e.phase for e in t][-6:] == ["backward"] * 6


def test_golden_event_values() -> None:
    t, model, b = record_small_graph()
    linear, mul, add, total = t.of_kind("forward")
    w, bias = model.fc.weight.data, model.fc.bias.data
    h = np.ones((3, 2)) @ w.T + bias
    np.testing.assert_allclose(linear.output, h, rtol=1e-6)
    assert linear.input_requires_grad == (False, True, True) and linear.requires_grad
    assert mul.input_ids == (linear.node_id, linear.node_id)
    assert linear.file == __file__ and linear.line > 0 and "record_small_graph" not in linear.file
    step_sum, step_add, step_mul, step_linear = t.of_kind("backward")
    np.testing.assert_array_equal(step_add.grads[1], [3.0, 3.0])     # summed over the batch
    assert step_add.grads[1].shape == b.shape
    np.testing.assert_allclose(step_mul.grads[0], h, rtol=1e-6)  # each path sends h ...
    np.testing.assert_allclose(step_linear.upstream, 2 * h, rtol=1e-6)  # ... and they add up
    assert step_linear.grads[0] is None                                # x needs no gradient
    np.testing.assert_allclose(model.fc.bias.grad, (2 * h).sum(0), rtol=1e-6)


def test_accumulated_flag_for_a_leaf_across_backward_calls() -> None:
    w = sg.tensor([1.0, 2.0], requires_grad=True, name="w")
    with sg.trace() as t:
        (w * 3).sum().backward()
        (w * 3).sum().backward()
    first, second = [e for e in t.of_kind("backward") if e.op == "mul"]
    assert first.accumulated == (False, False) and second.accumulated == (True, False)
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])


def test_optimizer_zero_grad_and_loop_events() -> None:
    model = sg.nn.Linear(3, 2)
    model.weight.name = "w"
    opt = sg.optim.SGD(model.parameters(), lr=0.5)
    x = sg.tensor(np.ones((4, 3)))
    with sg.trace() as t:
        opt.zero_grad()
        loss = model(x).sum()
        loss.backward()
        grad = np.array(model.weight.grad)
        before = model.weight.data.copy()
        opt.step()
        sg.mark_iteration(0, epoch=1, loss=loss, accuracy=0.5)
        sg.mark_epoch(1, test_accuracy=0.25)
    kinds = [e.kind for e in t]
    assert kinds[0] == "zero_grad" and kinds[-3:] == ["optimizer_step", "iteration", "epoch"]
    step = t.of_kind("optimizer_step")[0]
    assert (step.optimizer, step.lr, step.step) == ("SGD", 0.5, 1)
    assert [p.name for p in step.params] == ["w", "bias"]
    np.testing.assert_array_equal(step.params[0].grad, grad)
    np.testing.assert_allclose(step.params[0].update, -0.5 * grad)
    ratio = np.linalg.norm(-0.5 * grad) / np.linalg.norm(before)
    assert step.params[0].ratio == pytest.approx(ratio, rel=1e-5)
    iteration, epoch = t.of_kind("iteration")[0], t.of_kind("epoch")[0]
    assert (iteration.iteration, iteration.epoch, iteration.metrics) == (0, 1, {"accuracy": 0.5})
    assert iteration.loss == pytest.approx(loss.item())
    assert (epoch.epoch, epoch.metrics) == (1, {"test_accuracy": 0.25})


# -- no listener, no event ---------------------------------------------------------------------
def one_training_step_of_everything() -> None:
    model = sg.nn.Sequential(sg.nn.Conv2d(1, 2, 3, padding=1), sg.nn.BatchNorm2d(2),
                             sg.nn.ReLU(), sg.nn.MaxPool2d(2), sg.nn.Flatten(),
                             sg.nn.Dropout(0.2), sg.nn.Linear(8, 3))
    opt = sg.optim.Adam(model.parameters())
    opt.zero_grad()
    model.zero_grad()
    loss = sg.nn.functional.cross_entropy(model(sg.randn(2, 1, 4, 4)), [0, 2])
    loss.backward()
    opt.step()
    sg.mark_iteration(0, loss=loss)
    sg.mark_epoch(0)


def test_no_event_object_is_built_without_a_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"built a {type(self).__name__} with nobody listening")

    def refuse_call(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("called with nobody listening")

    events.listeners.clear()
    for cls in [*events.EVENT_TYPES.values(), events.ParamUpdate]:
        monkeypatch.setattr(cls, "__init__", refuse)
    monkeypatch.setattr(events, "emit", refuse_call)
    monkeypatch.setattr(events, "next_seq", refuse_call)
    one_training_step_of_everything()  # must not raise
    events.subscribe(lambda event: None)  # the patches do bite once someone listens
    with pytest.raises(AssertionError, match="nobody listening"):
        one_training_step_of_everything()


# -- snapshots ---------------------------------------------------------------------------------
def test_event_arrays_are_snapshots_that_later_updates_cannot_reach() -> None:
    model = sg.nn.Linear(2, 2)
    opt = sg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = sg.tensor([[1.0, 2.0]], requires_grad=True)
    with sg.trace() as t:
        out = model(x)
        out.sum().backward()
        opt.step()
    weight_seen = model.weight.data.copy() - t.of_kind("optimizer_step")[0].params[0].update
    forward = t.of_kind("forward")[0]
    backward = next(e for e in t.of_kind("backward") if e.op == "linear")
    step = t.of_kind("optimizer_step")[0]
    copies = [a.copy() for a in (forward.inputs[1], forward.output, backward.upstream,
                                 backward.grads[1], step.params[0].grad, step.params[0].update)]
    for _ in range(3):  # in-place changes to everything the events were made from
        opt.step()
    model.weight.grad *= 10
    x.data += 1
    with sg.no_grad():  # through the tensor API: a new array (numpy writes into `.data`'s
        out.fill_(7)     # array of an op's output are not snapshotted: events share it)
    model.weight.data[...] = 0
    np.testing.assert_allclose(forward.inputs[1], weight_seen, rtol=1e-6)
    for before, after in zip(copies, (forward.inputs[1], forward.output, backward.upstream,
                                      backward.grads[1], step.params[0].grad,
                                      step.params[0].update)):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(forward.inputs[0], [[1.0, 2.0]])


def test_events_are_frozen() -> None:
    t, _, _ = record_small_graph()
    with pytest.raises(AttributeError):
        t[0].depth = 3


# -- saving and loading traces -----------------------------------------------------------------
def assert_same_value(a: Any, b: Any, where: str) -> None:
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_value(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            assert_same_value(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, events.ParamUpdate):
        for name in ("name", "grad", "update", "ratio"):
            assert_same_value(getattr(a, name), getattr(b, name), f"{where}.{name}")
    else:
        assert a == b and type(a) is type(b), f"{where}: {a!r} != {b!r}"


def test_trace_save_and_load_round_trip(tmp_path: Path) -> None:
    import dataclasses

    model = sg.nn.Sequential(sg.nn.Linear(3, 4), sg.nn.ReLU())
    opt = sg.optim.SGD(model.parameters(), lr=0.1)
    x = sg.tensor(np.arange(6.0).reshape(2, 3), name="x")
    with sg.trace() as t:
        out = model(x)
        picked = out[np.array([1, 1, 0]), 1:3] + out[..., None, 0][out[:, :1].data > 0].sum()
        loss = sg.pad(picked, ((0, 1), (1, 0)), value=0.5).mean(dim=-1, keepdim=True).sum()
        loss.backward()
        opt.step()
        sg.mark_iteration(3, loss=loss, accuracy=1.0)
    path = tmp_path / "run.sgtrace"
    t.save(path)
    loaded = sg.load_trace(path)
    assert len(loaded) == len(t) > 10
    for ours, theirs in zip(t, loaded):
        assert type(ours) is type(theirs)
        for field in dataclasses.fields(ours):
            where = f"#{ours.seq} {ours.kind}.{field.name}"
            assert_same_value(getattr(ours, field.name), getattr(theirs, field.name), where)
    assert [e.summary() for e in t] == [e.summary() for e in loaded]
    assert not list(tmp_path.glob(".trace-*")), "a temporary file was left behind"


def write_meta(path: Path, meta: Any) -> None:
    np.savez(path, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "npy", "foreign npz", "pickled",
                                    "not json", "wrong format", "newer version", "bad event",
                                    "missing array", "empty", "missing file"])
def test_loading_a_corrupt_or_foreign_file_raises_trace_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "file.sgtrace"
    with sg.trace() as t:
        (sg.tensor([1.0, 2.0], requires_grad=True) * 2).sum().backward()
    t.save(path)
    good = path.read_bytes()
    expected = {"truncated": "not a readable stepgrad trace", "newer version": "version 99",
                "wrong format": "not a stepgrad trace", "foreign npz": "not a stepgrad trace",
                "bad event": "damaged", "missing array": "damaged",
                "missing file": "no such file"}.get(damage, "stepgrad trace")
    if damage == "garbage":
        path.write_bytes(b"\x00garbage" * 100)
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "npy":
        np.save(tmp_path / "plain.npy", np.arange(3))
        path = tmp_path / "plain.npy"
    elif damage == "foreign npz":
        np.savez(path, weights=np.ones(3))
        path = path.with_suffix(".sgtrace.npz")
    elif damage == "pickled":
        with open(path, "wb") as handle:
            np.savez(handle, __meta__=np.array([{"format": "stepgrad-trace"}], dtype=object))
    elif damage == "not json":
        with open(path, "wb") as handle:
            np.savez(handle, __meta__=np.frombuffer(b"{not json", dtype=np.uint8))
    elif damage == "wrong format":
        write_meta(path.with_suffix(""), {"format": "something-else", "version": 1, "events": []})
        path = path.with_suffix(".npz")
    elif damage == "newer version":
        write_meta(path.with_suffix(""), {"format": "stepgrad-trace", "version": 99, "events": []})
        path = path.with_suffix(".npz")
    elif damage == "bad event":
        rewrite_v3(path, lambda index: index["kinds"].__setitem__(0, "no-such-kind"))
    elif damage == "missing array":
        rewrite_v3(path, lambda index: index["events"]["forward"]["output"].__setitem__(0, 999))
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path = tmp_path / "nowhere.sgtrace"
    with pytest.raises(sg.TraceError, match=expected) as info:
        sg.load_trace(path)
    assert str(path) in str(info.value)


# -- STEPGRAD_DEBUG=1 --------------------------------------------------------------------------
def test_stepgrad_debug_prints_one_line_per_event(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import stepgrad as sg
        model = sg.nn.Sequential(sg.nn.Linear(2, 3), sg.nn.Tanh())
        opt = sg.optim.SGD(model.parameters(), lr=0.1)
        with sg.trace() as t:
            loss = model(sg.tensor([[1.0, 2.0]])).sum()
            loss.backward()
            opt.step()
        print(len(t))
    """)
    env = {**os.environ, "STEPGRAD_DEBUG": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == int(done.stdout) == 15
    assert all(line.startswith("#") for line in lines)
    text = "\n".join(lines)
    assert "forward  linear_1 = linear((1, 2), (3, 2), (3,)) -> (1, 3) in 0 at <string>:" in text
    assert "backward tanh_1 (tanh)" in text and "SGD.step() #1" in text
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           env={**env, "STEPGRAD_DEBUG": "0"}, cwd=tmp_path, timeout=60)
    assert quiet.returncode == 0 and quiet.stderr == ""


# -- anomaly mode ------------------------------------------------------------------------------
def test_detect_anomaly_names_the_first_bad_forward_node() -> None:
    x = sg.tensor([1.0, -1.0, 2.0], requires_grad=True)
    with pytest.raises(sg.AnomalyError, match=r"forward of log_\d+ \(log\) produced 1 NaN") as info:
        with sg.detect_anomaly():
            y = (x * 2).log()       # NaN here, first
            (y * 3).exp().sum()     # NaN flows on, but it is not this node's fault
    assert "test_engine_events.py:" in str(info.value)


def test_detect_anomaly_names_the_first_bad_backward_node() -> None:
    x = sg.tensor([0.0, 4.0], requires_grad=True, name="x")
    with pytest.raises(sg.AnomalyError, match=r"backward of sqrt_\d+ \(sqrt\) sent 1 Inf to "
                                              r"input 0 \(x\)"):
        with sg.detect_anomaly():
            (x.sqrt() * 2).sum().backward()   # sqrt(0) is fine; its derivative is not


def test_without_anomaly_mode_nan_flows_silently() -> None:
    x = sg.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (x.sqrt() * 2).sum().backward()
    assert np.isinf(x.grad[0])


def test_positional_make_builds_the_same_frozen_event_as_the_keywords() -> None:
    """The engine's hot paths build events with `make` (every field, in order)."""
    import dataclasses

    from stepgrad import events as ev

    for cls in (ev.ForwardStep, ev.BackwardStep, ev.ModuleEnter, ev.ModuleExit):
        values = {f.name: f"value of {f.name}" for f in dataclasses.fields(cls)}
        made = cls.make(*values.values())
        assert type(made) is cls and made == cls(**values)
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.seq = 0


def test_no_generated_code_in_the_engine() -> None:
    """Events get their constructors from dataclasses, not from source we generate."""
    import pathlib
    import re

    package = pathlib.Path(sg.__file__).parent
    found = [f"{path.relative_to(package)}:{number}" for path in sorted(package.rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if re.search(r"\bexec\(", line.split("#")[0])]
    assert not found, found


def test_the_forward_record_is_named() -> None:
    """What a node's forward recorded (function.Where, by field name) reaches the later node
    that uses its output and the node's own BackwardStep."""
    from stepgrad.function import Where

    assert Where._fields[:4] == ("module_path", "file", "line", "depth")
    with sg.trace() as t:
        x = sg.tensor([1.0, -2.0], requires_grad=True, name="x")
        h = x.relu()
        (h * 3).sum().backward()
    relu, mul = t.of_kind("forward")[:2]
    assert mul.input_names[0] == relu.name == "relu_1" and relu.input_names == ("x",)
    assert mul.inputs[0] is relu.output  # one snapshot, shared
    relu_back = next(e for e in t.of_kind("backward") if e.op == "relu")
    assert (relu_back.name, relu_back.file, relu_back.line) == (relu.name, relu.file, relu.line)
    assert relu_back.input_names == ("x",) and h.name == "relu_1"


def test_markers_take_numpy_scalars_and_one_element_tensors_and_refuse_the_rest():
    """A numpy scalar's `.data` is a memoryview: mark_iteration once failed on np.float32."""
    with sg.trace() as t:
        sg.mark_iteration(0, loss=np.float32(1.5), accuracy=np.float64(0.5))
        sg.mark_iteration(1, loss=sg.tensor(2.0), accuracy=sg.tensor([0.25]))
        sg.mark_epoch(0, accuracy=np.array(0.75))
    assert [(e.loss, e.metrics) for e in t.events[:2]] == [(1.5, {"accuracy": 0.5}),
                                                           (2.0, {"accuracy": 0.25})]
    assert t.events[2].metrics == {"accuracy": 0.75}
    for listening in (False, True):  # the same error with and without a debugger
        with contextlib.ExitStack() as stack:
            if listening:
                stack.enter_context(sg.trace())
            with pytest.raises(TypeError, match=r"loss must be one number .* shape \(2,\)"):
                sg.mark_iteration(2, loss=sg.tensor([1.0, 2.0]))
            with pytest.raises(TypeError, match="accuracy must be one number"):
                sg.mark_epoch(1, accuracy="high")
