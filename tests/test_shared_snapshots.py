"""Recorded values are shared, not copied, and history stays true (issue 14).

An op's output is a new array the engine never writes again, so its ForwardStep (and the
next node's input) hold that very array. Every in-place update through the tensor API
(`+=`, `add_`, `x[i] = v`, the optimizers' steps, zero_grad) rebinds `.data` to a new array,
so what was recorded keeps the value it had. Leaves may be the user's own memory
(`from_numpy`), so they are still copied, and so is an output that may be a leaf's memory.
"""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.debug.history import ARRAY_OVERHEAD, EVENT_OVERHEAD, History


def forwards(trace: sg.Trace, op: str) -> list:
    return [e for e in trace.of_kind("forward") if e.op == op]


def test_an_ops_output_is_shared_with_its_tensor_and_the_next_node() -> None:
    x = sg.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    with sg.trace() as t:
        h = x.relu()
        y = h * 2.0
    relu, mul = forwards(t, "relu")[0], forwards(t, "mul")[0]
    assert h.data.base is relu.output  # no copy made
    assert mul.inputs[0] is relu.output
    assert y.data.base is mul.output


@pytest.mark.parametrize("optimizer", [
    lambda ps: sg.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01),
    lambda ps: sg.optim.Adam(ps, lr=0.1),
    lambda ps: sg.optim.RMSprop(ps, lr=0.1),
])
def test_history_stays_true_across_optimizer_steps(optimizer) -> None:
    sg.manual_seed(0)
    model = sg.nn.Sequential(sg.nn.Linear(3, 4), sg.nn.ReLU(), sg.nn.Linear(4, 2))
    opt = optimizer(model.parameters())
    x = sg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    recorded = []
    with sg.trace() as t:
        for _ in range(3):
            opt.zero_grad()
            loss = model(x).square().mean()
            loss.backward()
            recorded.append([p.data.copy() for p in model.parameters()])
            opt.step()
    linears = forwards(t, "linear")
    for i, weights in enumerate(recorded):  # each iteration's forward saw that iteration's weights
        first, second = linears[2 * i], linears[2 * i + 1]
        np.testing.assert_array_equal(first.inputs[1], weights[0])
        np.testing.assert_array_equal(second.inputs[1], weights[2])
    for step, before, after in zip(t.of_kind("optimizer_step"), recorded,
                                   recorded[1:] + [[p.data for p in model.parameters()]]):
        for update, w0, w1 in zip(step.params, before, after):
            np.testing.assert_allclose(w0 + update.update, w1, rtol=1e-6, atol=1e-7)


def test_history_stays_true_across_in_place_tensor_updates() -> None:
    a = sg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with sg.trace() as t:
        y = a * 2.0
        z = y.exp()
        y += 1.0                     # recorded: y becomes the add node's output
        y[0] = 100.0                 # setitem
        with sg.no_grad():
            z.add_(5.0)
            z.mul_(0.0)
            a -= 1.0                 # a leaf, under no_grad
    mul, exp = forwards(t, "mul")[0], forwards(t, "exp")[0]
    np.testing.assert_array_equal(mul.output, [2.0, 4.0, 6.0])
    np.testing.assert_array_equal(mul.inputs[0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(exp.output, np.exp([2.0, 4.0, 6.0]), rtol=1e-6)
    np.testing.assert_array_equal(exp.inputs[0], [2.0, 4.0, 6.0])


def test_a_leaf_that_is_the_users_numpy_buffer_is_copied() -> None:
    buffer = np.ones((2, 3), dtype=np.float32)
    x = sg.from_numpy(buffer)
    w = sg.tensor(np.ones((3,), dtype=np.float32), requires_grad=True)
    with sg.trace() as t:
        flat = x.reshape(6)          # a view of the user's buffer: copied
        same = x.view(2, 3) * w
    buffer[...] = 7.0                # the user refills the buffer in place
    reshape, mul = forwards(t, "reshape")[0], forwards(t, "mul")[0]
    np.testing.assert_array_equal(mul.output, np.ones((2, 3)))
    np.testing.assert_array_equal(flat.data, np.full(6, 7.0))  # the tensor does see it
    np.testing.assert_array_equal(reshape.output, np.ones(6))
    np.testing.assert_array_equal(reshape.inputs[0], np.ones((2, 3)))
    assert same.shape == (2, 3)


def test_history_counts_an_array_shared_by_several_events_once() -> None:
    x = sg.tensor(np.zeros(1000, dtype=np.float64), requires_grad=True)
    with sg.trace() as t:
        y = x.exp()                  # its output (8,000 bytes) is the next node's input too
        (y * 2.0).sum().backward()
    history = History(limit=10 * 2**20)
    for event in t:
        history.append(event)
    distinct = {id(a): a for e in t for a in _arrays(e)}
    expected = (EVENT_OVERHEAD * len(t)
                + sum(ARRAY_OVERHEAD + a.nbytes for a in distinct.values()))
    assert history.nbytes == expected
    per_use = sum(ARRAY_OVERHEAD + a.nbytes for e in t for a in _arrays(e))
    assert history.nbytes < per_use - 8000  # y's output was not counted twice
    history.set_limit(EVENT_OVERHEAD)  # drop all but the newest: its arrays alone remain
    newest = t.events[-1]
    assert history.nbytes == EVENT_OVERHEAD + sum(ARRAY_OVERHEAD + a.nbytes
                                                  for a in {id(a): a for a in
                                                            _arrays(newest)}.values())


def _arrays(event) -> list[np.ndarray]:
    if event.kind == "forward":
        return [*event.inputs, event.output]
    if event.kind == "backward":
        return [a for a in (event.upstream, *event.grads) if a is not None]
    return []


def test_the_default_history_holds_five_epochs_of_lesson_9_whole() -> None:
    from stepgrad.debug import Session
    from stepgrad.debug.history import budget_text
    from stepgrad.lessons.registry import get_lesson

    session = Session(get_lesson(9).program(None), stop_at_start=False)
    session.start()
    try:
        history = session.history
        epochs = [number for number, event in history.numbered() if event.kind == "epoch"]
        assert history.nbytes <= history.limit
        # five whole epochs: kept from the start, or from the end of the sixth-last epoch
        assert history.first == 0 or len(epochs) >= 6, budget_text(history)
        start = history.first if history.first == 0 else epochs[-6]
        for number, event in history.numbered(start):
            if event.kind in ("forward", "backward"):
                assert history.tensors(number), f"#{number} has no arrays to inspect"
    finally:
        session.close()
