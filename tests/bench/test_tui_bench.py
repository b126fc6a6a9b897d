"""How fast the full-screen debugger answers, measured from key press to repainted screen.

Run on demand: `pytest tests/bench/test_tui_bench.py --benchmark-only -s`. Each test
prints its numbers and asserts the targets:

- `step` and `back` on a 2,000-node graph: from the key event to the first screen
  refresh that shows the new position (tape, inspector and source all updated):
  median < 30 ms, p95 < 60 ms;
- a 256x256 gradient in the inspector: drawn off the UI thread, so keys typed while it
  draws are handled within a frame or two;
- memory over a 10-epoch run stays bounded by the history limit.

(pytest-benchmark's fixture is not used: it times a synchronous function, and a repaint
is an event in the app's loop; the tests time it themselves and report the percentiles.)
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import time
import tracemalloc
from typing import Any

import pytest
from textual import events

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tui"))

import tui_programs as programs  # noqa: E402
from tui_helpers import SIZE, settle  # noqa: E402

from stepgrad.debug import Commands, Session  # noqa: E402
from stepgrad.tui.app import StepgradApp  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _only_with_benchmarks(benchmark: Any) -> None:
    """These tests time themselves; asking for pytest-benchmark's fixture makes them run
    only on demand (--benchmark-only), like every benchmark, and never in the normal suite,
    where other tests share the two cores."""
    benchmark.extra_info["timed_by"] = "the test itself (see the printed percentiles)"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class RefreshClock:
    """Times of the screen's compositor refreshes (a repaint of what changed)."""

    def __init__(self, app: StepgradApp) -> None:
        self.times: list[float] = []
        screen = app.screen
        original = screen._compositor_refresh

        def timed() -> None:
            original()
            self.times.append(time.perf_counter())

        screen._compositor_refresh = timed  # type: ignore[method-assign]

    def after(self, moment: float) -> float | None:
        for t in reversed(self.times):
            if t < moment:
                return None
            earlier = [x for x in self.times if x >= moment]
            return earlier[0] if earlier else t
        return None


def shown(app: StepgradApp, cursor: int) -> bool:
    return app.is_idle and app.state is not None and app.state.cursor == cursor


async def key_to_repaint(app: StepgradApp, clock: RefreshClock, key: str, expect: int) -> float:
    start = time.perf_counter()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    while not shown(app, expect):
        await asyncio.sleep(0.0005)
    ready = time.perf_counter()
    while True:
        repaint = clock.after(ready)
        if repaint is not None:
            return repaint - start
        await asyncio.sleep(0.0005)


def report(name: str, values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    result = {"median": statistics.median(ms), "p95": percentile(ms, 0.95), "max": max(ms),
              "n": len(ms)}
    print(f"\n{name}: median {result['median']:.1f} ms, p95 {result['p95']:.1f} ms, "
          f"max {result['max']:.1f} ms over {len(ms)} presses")
    return result


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_step_and_back_on_a_2000_node_graph():
    session = Session(lambda: programs.chain(2000))
    session.start()
    app = StepgradApp(session, Commands(session))

    async def measure() -> tuple[list[float], list[float]]:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.submit_command("goto 1990")        # deep in the forward pass
            await settle(pilot)
            clock = RefreshClock(app)
            for _ in range(5):                     # warm up: first sight of each op's source
                await key_to_repaint(app, clock, "s", session.state.cursor + 1)
            steps, backs = [], []
            for _ in range(40):
                cursor = session.state.cursor
                steps.append(await key_to_repaint(app, clock, "s", cursor + 1))
            app.submit_command("goto 3000")        # deep in the backward pass, all recorded
            await settle(pilot)
            for _ in range(40):
                cursor = session.state.cursor
                backs.append(await key_to_repaint(app, clock, "r", cursor - 1))
            for _ in range(20):
                cursor = session.state.cursor
                steps.append(await key_to_repaint(app, clock, "s", cursor + 1))
            return steps, backs

    try:
        steps, backs = run(measure())
    finally:
        session.close()
    for name, values in (("step", steps), ("back", backs)):
        result = report(f"{name} on a 2,000-node graph", values)
        assert result["median"] < 30 and result["p95"] < 60, result


def test_big_heatmap_does_not_block_keys():
    session = Session(programs.wide_grad)
    session.start()
    app = StepgradApp(session, Commands(session))

    async def measure() -> list[float]:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.submit_command("break backward mul")
            await settle(pilot)
            clock = RefreshClock(app)
            app.submit_command("continue")            # the inspector starts drawing 256x256
            delays = []
            for _ in range(10):                        # tape keys while it draws
                start = time.perf_counter()
                app.post_message(events.Key("up", None))
                await asyncio.sleep(0)
                while not clock.times or clock.times[-1] < start:
                    await asyncio.sleep(0.0005)
                delays.append(clock.times[-1] - start)
            await settle(pilot)
            assert "256, 256" in app.query_one("#inspector").text
            return delays

    try:
        delays = run(measure())
    finally:
        session.close()
    result = report("keys while a 256x256 heatmap draws", delays)
    assert result["median"] < 50, result


def memory_after(epochs: int, limit: int) -> tuple[int, Any]:
    """Traced memory the app and session hold after `epochs` epochs, and the final state."""
    session = Session(lambda: programs.tiny_mlp(200, epochs), history_limit=limit)
    session.start()
    app = StepgradApp(session, Commands(session))

    async def measure() -> int:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            app.submit_command("continue")
            await settle(pilot)
            for _ in range(20):                          # walk back a little, then forward
                await pilot.press("r")
            await pilot.press("c")
            await settle(pilot)
            gc.unfreeze()
            gc.collect()
            current = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
            return current - base

    try:
        grown = run(measure())
    finally:
        session.close()
    return grown, session.state


def test_memory_is_bounded_by_the_history_limit():
    limit = 4 * 2**20
    short, _ = memory_after(5, limit)
    grown, state = memory_after(10, limit)
    print(f"\n10 epochs x 200 iterations: {state.total} events, {state.total - state.first} kept "
          f"(history limit {limit / 2**20:.0f} MB of arrays): memory grew {grown / 2**20:.1f} MB; "
          f"after 5 epochs it had grown {short / 2**20:.1f} MB")
    assert state.first > 0                       # the limit did drop old events
    assert grown < 1.25 * short + 2**20, (grown, short)   # twice the run, not twice the memory
