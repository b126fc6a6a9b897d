"""The `graph` command through the command language, on a small training program."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.debug import Commands, Session
from stepgrad.debug.passes import pass_range
from stepgrad.graph.view import pass_graph


class Net(sg.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = sg.nn.Linear(4, 8)
        self.fc2 = sg.nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


def train(iterations: int = 2):
    sg.manual_seed(0)
    model = Net()
    optimizer = sg.optim.SGD(model.parameters(), lr=0.1)
    x = sg.tensor(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32), name="x")
    y = np.arange(6) % 3
    for i in range(iterations):
        optimizer.zero_grad()
        loss = sg.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        sg.mark_iteration(i, loss=loss.item())


@pytest.fixture
def commands():
    session = Session(train, name="train")
    session.start()
    yield Commands(session)
    session.close()


def test_graph_follows_the_cursor_and_marks_the_backward_path(commands):
    commands.run("break backward relu")
    commands.run("continue")
    drawing = commands.run("graph")
    assert "╔═ relu_1 " in drawing and "◀ here" in drawing
    # backward has already walked linear_2 (it comes after relu in backward): heavy box
    assert "┏━ linear_2 " in drawing
    assert "┌─ linear_1 " in drawing  # not walked yet
    commands.run("back")
    before = commands.run("graph")
    assert "╔═ linear_2 " in before
    assert "┌─ relu_1 " in before  # stepping back undoes the walk: drawn as it stood then


def test_graph_leaves_out_what_was_made_later(commands):
    commands.run("break backward relu")
    commands.run("continue")
    commands.run("goto #1")
    assert "cross_entropy" not in commands.run("graph 5")


def test_graph_depth_and_modules(commands):
    commands.run("break relu")
    commands.run("continue")
    assert "linear_2" not in commands.run("graph")  # at the forward step: not made yet
    commands.run("break backward relu")
    commands.run("continue")
    near = commands.run("graph 1")
    assert "linear_1" in near and "linear_2" in near and "cross_entropy" not in near
    folded = commands.run("graph --modules")
    assert re.search(r"[─━] fc1 [─━]", folded) and re.search(r"[─━] fc2 [─━]", folded)
    assert "fc1.weight" not in folded  # parameters fold into their module


def test_graph_exports_the_whole_pass_as_dot(commands, tmp_path):
    commands.run("break backward relu")
    commands.run("continue")
    said = commands.run(f"graph --dot {tmp_path / 'pass.dot'}")
    source = (tmp_path / "pass.dot").read_text()
    session = commands.session
    graph = pass_graph(session.history, session.state.cursor)
    assert f"{len(graph.nodes)} nodes" in said
    for node in graph.nodes.values():
        assert f"n{node.id} [label=\"{node.name}" in source
    for a, b in set(graph.edges):
        assert f"n{a} -> n{b}" in source


def test_graph_refuses_bad_arguments(commands):
    assert "did not understand" in commands.run("graph sideways")
    assert "needs a file name" in commands.run("graph --dot")
    assert "could not write" in commands.run("graph --dot /nonexistent/dir/x.dot")


def test_pass_range_is_one_iteration(commands):
    commands.run("break backward relu")
    commands.run("continue")
    session = commands.session
    span = pass_range(session.history, session.state.cursor)
    kinds = [session.history[i].kind for i in span]
    assert kinds.count("backward_begin") == 1 and "forward" in kinds


def test_a_cursor_move_redraws_quickly(commands):
    commands.run("break backward relu")
    commands.run("continue")
    start = time.perf_counter()
    for _ in range(20):
        commands.run("graph")
    assert (time.perf_counter() - start) / 20 < 0.5  # generous: the bench measures it
