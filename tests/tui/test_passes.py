"""The tape's model without a screen: passes, rows, the row of each event, fan-in."""

from __future__ import annotations

import tui_programs as programs

import stepgrad as sg
from stepgrad import events as ev
from stepgrad.debug import passes as core_passes
from stepgrad.debug.chain import received
from stepgrad.tui import passes


class Recorded(list):
    """A list of events with the History interface the model reads."""

    first = 0


def record(program, *args) -> Recorded:
    with sg.trace() as trace:
        program(*args)
    return Recorded(trace.events)


def test_one_pass_per_iteration():
    history = record(programs.tiny_mlp, 3)
    starts = sorted({passes.pass_start(history, i) for i in range(len(history))})
    iterations = [i for i, e in enumerate(history) if isinstance(e, ev.Iteration)]
    assert starts == [0] + [i + 1 for i in iterations[:-1]]


def test_rows_group_nodes_under_their_module():
    history = record(programs.tiny_mlp, 1)
    model = passes.build(history, 0, len(history) - 1)
    groups = [r.label for r in model.rows if r.kind == "group"]
    nodes = [r.label for r in model.rows if r.kind == "node"]
    assert groups == ["0", "1", "2", "(top level)"]
    assert nodes == ["linear_1", "relu_1", "linear_2", "cross_entropy_1"]
    for row in model.rows:
        if row.kind == "node":
            assert model.rows[row.group].kind == "group"
            assert row.backward is not None and row.grad_norm > 0


def test_every_event_has_a_row_and_backward_lands_on_its_node():
    history = record(programs.tiny_mlp, 1)
    model = passes.build(history, 0, len(history) - 1)
    for index, event in enumerate(history):
        if index not in model:
            continue
        row = model.row_for(index)
        assert 0 <= row < len(model.rows)
        if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
            assert model.rows[row].node_id == event.node_id


def test_extend_stops_at_the_next_pass():
    history = record(programs.tiny_mlp, 2)
    model = passes.Pass(0)
    assert model.extend(history, 5)
    assert model.end == 5
    assert not model.extend(history, len(history) - 1)
    assert model.end == passes.pass_start(history, len(history) - 1) - 1


def test_fan_in_lists_every_contribution():
    history = record(programs.fan_out)
    tanh = next(e for e in history if isinstance(e, ev.ForwardStep) and e.op == "tanh")
    found = received(history, tanh.node_id, len(history) - 1)
    assert len(found) == 3            # h * h sends two, sigmoid(h) one
    backward = next(e for e in history if isinstance(e, ev.BackwardStep)
                    and e.node_id == tanh.node_id)
    total = sum(grad for _, _, grad in found)
    assert abs(total - backward.upstream).max() < 1e-12


def test_fan_in_counts_only_the_backward_pass_it_is_in():
    history = record(programs.tiny_mlp, 2)
    linears = [i for i, e in enumerate(history)
               if isinstance(e, ev.BackwardStep) and e.name.startswith("linear_1")]
    assert len(linears) == 2
    weight = history[linears[-1]].input_ids[1]            # 0.weight, the same leaf each time
    assert [n for n, _, _ in received(history, weight, len(history) - 1)] == [linears[-1]]
    assert [n for n, _, _ in received(history, weight, linears[0])] == [linears[0]]


def test_a_long_pass_is_cut_so_scans_stay_cheap(monkeypatch):
    monkeypatch.setattr(core_passes, "MAX_PASS", 50)   # the core cuts passes for the tape
    history = record(programs.chain, 100)
    assert passes.pass_start(history, 120) == 70
