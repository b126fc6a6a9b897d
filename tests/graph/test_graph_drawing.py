"""The graph drawings: golden text for small graphs, neighbourhoods, folded modules, and
DOT that parses back to every node and edge."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.graph import draw, draw_graph, from_tensor, to_dot
from stepgrad.graph.dot import INSTALL_DOT

USED_TWICE = """\
╭─ x ─────────╮   ╭─ k3 ──────╮
│ param ()    │   │ leaf ()   │
│ |grad| 39   │   │ value 3   │
╰───────┬─────╯   ╰─────┬─────╯
        │               │
        ╰───────┬───────╯
                ▼
          ┌─ mul_1 ───┐
          │ mul ()    │
          │ value 6   │
          └─────┬─────┘
                │
        ╭───────┴───────╮
        ▼               │
┌─ mul_2 ────┐          │
│ mul ()     │          │
│ value 36   │          │
└───────┬────┘          │
        │               │
        ╰───────┬───────╯
                ▼
         ┌─ add_1 ────┐
         │ add ()     │
         │ value 42   │
         └────────────┘"""

BROADCAST_ADD = """\
╭─ x ──────────╮   ╭─ b ───────────╮
│ leaf (2,3)   │   │ param (3,)    │
│              │   │ |grad| 3.46   │
╰───────┬──────╯   ╰────────┬──────╯
        │                   │ broadcast
        ╰─────────┬─────────╯
                  ▼
          ╔═ add_1 ═════╗
          ║ add (2,3)   ║ ◀ here
          ║             ║
          ╚═══════╤═════╝
                  │
                  │
                  ▼
           ┌─ sum_1 ───┐
           │ sum ()    │
           │ value 6   │
           └───────────┘"""

MLP_LAYER = """\
╭─ x ──────────╮   ╭─ fc.weight ───╮   ╭─ fc.bias ────╮
│ leaf (4,3)   │   │ param (2,3)   │   │ param (2,)   │
│              │   │               │   │              │
╰───────┬──────╯   ╰────────┬──────╯   ╰───────┬──────╯
        │                   │                  │
        ╰───────────────────┼──────────────────╯
                            ▼
                  ┌─ linear_1 ─────┐
                  │ linear (4,2)   │
                  │                │
                  └─────────┬──────┘
                            │
                            │
                            ▼
                    ┌─ relu_1 ─────┐
                    │ relu (4,2)   │
                    │              │
                    └───────┬──────┘
                            │
                            │
                            ▼
                    ┌─ sum_1 ──────┐
                    │ sum ()       │
                    │ value 2.18   │
                    └──────────────┘"""


def used_twice():
    x = sg.tensor(2.0, requires_grad=True, name="x")
    # a named constant: a Python number's name carries the global tensor counter (t2,
    # t1048576), and a long name widens its box, so the drawing would depend on the tests
    # that ran before
    a = x * sg.tensor(3.0, name="k3")
    y = a * a + a
    y.backward()
    return y


def broadcast_add():
    x = sg.tensor(np.ones((2, 3)), name="x")
    b = sg.tensor(np.zeros(3), requires_grad=True, name="b")
    s = x + b
    y = s.sum()
    y.backward()
    return y, s


def mlp_layer():
    sg.manual_seed(0)
    layer = sg.nn.Linear(3, 2)
    layer.weight.name, layer.bias.name = "fc.weight", "fc.bias"
    x = sg.tensor(np.ones((4, 3)), name="x")
    return sg.nn.functional.relu(layer(x)).sum()


def test_a_value_used_twice_has_two_arrows_out():
    assert str(draw(from_tensor(used_twice()))) == USED_TWICE


def test_a_broadcast_input_is_marked_and_the_current_node_is_double():
    y, s = broadcast_add()
    assert str(draw(from_tensor(y), current=s._id)) == BROADCAST_ADD


def test_an_mlp_layer_draws_top_down():
    assert str(draw(from_tensor(mlp_layer()))) == MLP_LAYER


def test_neighbourhood_keeps_nodes_within_depth():
    y = used_twice()
    graph = from_tensor(y)
    names = {n.name for n in graph.neighbourhood(y._id, 1).nodes.values()}
    assert names == {"add_1", "mul_1", "mul_2"}
    assert len(graph.neighbourhood(y._id, 5).nodes) == len(graph.nodes)


def test_node_at_finds_the_box_under_a_position():
    y = used_twice()
    drawing = draw(from_tensor(y))
    row, col, width, height = drawing.boxes[y._id]
    assert drawing.node_at(row + 1, col + width // 2) == y._id
    assert drawing.node_at(row + height, col) != y._id


def _parse_dot(source: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    nodes = dict(re.findall(r'^\s*(n\w+) \[label="((?:[^"\\]|\\.)*)"', source, re.M))
    edges = re.findall(r"^\s*(n\w+) -> (n\w+)", source, re.M)
    return nodes, edges


def test_dot_parses_back_to_every_node_and_edge():
    y = mlp_layer()
    graph = from_tensor(y)
    nodes, edges = _parse_dot(to_dot(graph))
    assert set(nodes) == {f"n{i}" for i in graph.nodes}
    assert sorted(edges) == sorted((f"n{a}", f"n{b}") for a, b in set(graph.edges))
    for node in graph.nodes.values():
        assert nodes[f"n{node.id}"].startswith(node.name)


def test_draw_graph_returns_dot_and_writes_files(tmp_path):
    y, _ = broadcast_add()
    source = draw_graph(y, tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == source
    assert 'label="broadcast", style=dashed' in source
    if shutil.which("dot"):
        draw_graph(y, tmp_path / "g.svg")
        assert (tmp_path / "g.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_svg_without_graphviz_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    y, _ = broadcast_add()
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        draw_graph(y, tmp_path / "g.svg")
    assert "Graphviz" in INSTALL_DOT


def test_modules_fold_into_one_box_each():
    class Net(sg.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = sg.nn.Linear(3, 4)
            self.fc2 = sg.nn.Linear(4, 2)

        def forward(self, x):
            return self.fc2(self.fc1(x).relu())

    from stepgrad.graph.model import from_events
    events = []
    unsubscribe = sg.events.subscribe(events.append)
    try:
        Net()(sg.tensor(np.ones((5, 3)), name="x")).sum()
    finally:
        unsubscribe()
    folded = from_events(events).fold_modules()
    boxes = {n.name: n for n in folded.nodes.values()}
    assert {"fc1", "fc2", "x"} <= set(boxes)
    assert boxes["fc1"].kind == "module" and boxes["fc1"].shape == (5, 4)
    names = {n.id: n.name for n in folded.nodes.values()}
    edges = {(names[a], names[b]) for a, b in folded.edges}
    assert ("x", "fc1") in edges
    assert all(a != b for a, b in edges)
