"""Graph view speed (run on demand: pytest tests/bench/test_graph_bench.py --benchmark-only).

Targets from the graph issue, on a 2,000-node pass:
- the pass is turned into a graph once per pass in under 200 ms;
- a cursor move redraws the view (neighbourhood of the current node, laid out by grandalf
  and painted) in under 16 ms at p95.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.debug.history import History
from stepgrad.graph import draw
from stepgrad.graph.view import pass_graph


def _recorded_chain(steps: int = 1000) -> History:
    history = History()
    unsubscribe = sg.events.subscribe(history.append)
    try:
        x = sg.tensor(np.ones(4, dtype=np.float32), requires_grad=True, name="x")
        y = x
        for _ in range(steps):
            y = y * 1.0001 + 0.0001   # two nodes a step: 2,000 nodes
        y.sum().backward()
    finally:
        unsubscribe()
    return history


@pytest.fixture(scope="module")
def history() -> History:
    return _recorded_chain()


def test_pass_graph_of_2000_nodes(benchmark, history):
    graph = benchmark(pass_graph, history, history.last - 1)
    assert len([n for n in graph.nodes.values() if n.kind == "op"]) >= 2000
    assert benchmark.stats.stats.median < 0.2


def test_cursor_move_redraw_p95(benchmark, history):
    graph = pass_graph(history, history.last - 1)
    ops = [n.id for n in graph.nodes.values() if n.kind == "op"]
    times = []

    def redraw_along_the_pass() -> None:
        for node in ops[::50]:
            start = time.perf_counter()
            draw(graph.neighbourhood(node, 2), current=node)
            times.append(time.perf_counter() - start)

    benchmark.pedantic(redraw_along_the_pass, rounds=3)
    p95 = statistics.quantiles(times, n=20)[-1]
    benchmark.extra_info["redraw_p95_ms"] = round(p95 * 1000, 2)
    assert p95 < 0.016
