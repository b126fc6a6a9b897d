"""How long a per-node gradient check takes on big nodes (issue 10: it once took 52 s on a
64x9216 linear node and more than 5 min on an MNIST-size conv node).

    pytest tests/bench/test_gradcheck_bench.py --benchmark-only -p no:randomly -s

Target: each node checks in under 2 CPU seconds of this process. (The verdicts themselves
are checked by the normal suite: tests/test_engine_nodecheck.py.)
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import pytest

import stepgrad as sg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from test_engine_nodecheck import big_nodes  # noqa: E402


@pytest.mark.parametrize("which", [0, 1], ids=["linear_64x9216", "conv2d_64x32x26x26"])
def test_a_big_node_checks_in_under_two_cpu_seconds(benchmark: Any, which: int) -> None:
    op, inputs, upstream = big_nodes()[which]
    started = time.process_time()
    result = sg.check_node(op, inputs, {}, upstream)
    seconds = time.process_time() - started
    benchmark.extra_info["cpu_seconds"] = seconds
    print(f"\ngradcheck {op}: {seconds:.2f} CPU s ({result.verdict})")
    benchmark.pedantic(lambda: sg.check_node(op, inputs, {}, upstream), rounds=1, iterations=1)
    assert result.verdict == "ok", result.message
    assert seconds < 2, seconds
