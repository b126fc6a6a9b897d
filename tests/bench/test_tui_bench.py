"""How fast the full-screen debugger answers, measured from key press to repainted screen.

Run on demand: `pytest tests/bench/test_tui_bench.py --benchmark-only -s`. Each test
prints its numbers and asserts the targets:

- `step` and `back` on a 2,000-node graph: from the key event to the first screen
  refresh that shows the new position (tape, inspector, source and status all updated),
  one refresh per key: p95 < 16 ms (one frame at 60 Hz) for keys two frames apart, and
  p95 < two frames for keys pressed back to back (Textual paints at most once a frame,
  so those take about a frame each whatever the app does);
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
from collections.abc import Callable
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


#: Textual repaints at most once a frame (60 Hz unless TEXTUAL_FPS says otherwise).
FRAME = 1 / 60


class RefreshClock:
    """Times of the screen's compositor refreshes (a repaint of what changed), at their end;
    `until(done)` is a future set at the end of the first refresh after which `done()`."""

    def __init__(self, app: StepgradApp) -> None:
        self.times: list[float] = []
        self._waiting: tuple[Callable[[], bool], asyncio.Future[float]] | None = None
        screen = app.screen
        original = screen._compositor_refresh

        def timed() -> None:
            original()
            now = time.perf_counter()
            self.times.append(now)
            if self._waiting is not None and self._waiting[0]():
                self._waiting[1].set_result(now)
                self._waiting = None

        screen._compositor_refresh = timed  # type: ignore[method-assign]

    def until(self, done: Callable[[], bool]) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting = (done, future)
        return future


#: What a step changes on screen: each of these shows the new position.
POSITION_WIDGETS = "Tape, Inspector, SourcePane, StatusLine"


def painted(app: StepgradApp, cursor: int, widgets: list[Any]) -> bool:
    """The app shows cursor `cursor` (the tape, inspector and source all drawn for it) and
    none of `widgets` waits for a repaint: the screen shows the new position."""
    return (app.is_idle and app.state is not None and app.state.cursor == cursor
            and not any(w._repaint_required or w._repaint_regions for w in widgets))


async def key_to_repaint(app: StepgradApp, clock: RefreshClock, key: str, expect: int,
                         spaced: bool = True) -> float:
    """From posting `key` to the end of the first repaint that shows cursor `expect`.

    Textual repaints at most once a frame, on a 60 Hz grid: a refresh asked for within a
    frame of the last one waits for the next frame, and its timer, woken after a pause,
    can wait up to two frames after the last repaint to get back on its grid. A key
    pressed the instant the last repaint ends (not `spaced`) therefore measures that
    frame limiter: about one frame whatever the app does. `spaced` presses two frames
    (33 ms) after the last repaint, as a person does (a held key repeats every 33-40 ms
    or slower), so the time is the app's own.
    """
    if spaced and clock.times:
        await asyncio.sleep(max(0.0, clock.times[-1] + 2 * FRAME - time.perf_counter()))
    widgets = list(app.query(POSITION_WIDGETS))
    repainted = clock.until(lambda: painted(app, expect, widgets))
    start = time.perf_counter()
    app.post_message(events.Key(key, key if len(key) == 1 else None))
    return await asyncio.wait_for(repainted, timeout=10) - start


def report(name: str, values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    result = {"median": statistics.median(ms), "p95": percentile(ms, 0.95), "max": max(ms),
              "n": len(ms)}
    print(f"\n{name}: median {result['median']:.1f} ms, p95 {result['p95']:.1f} ms, "
          f"max {result['max']:.1f} ms over {len(ms)} presses")
    return result


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def presses(app: StepgradApp, clock: RefreshClock, key: str, count: int,
                  spaced: bool) -> list[float]:
    """Press `key` (s: step, r: back) `count` times; the key-to-repaint time of each."""
    delays = []
    for _ in range(count):
        expect = app.session.state.cursor + (1 if key == "s" else -1)
        delays.append(await key_to_repaint(app, clock, key, expect, spaced))
    return delays


def step_and_back_times(spaced: bool) -> tuple[list[float], list[float]]:
    """Steps deep in the forward pass of a 2,000-node graph (then on through the recorded
    history) and steps back deep in its backward pass."""
    session = Session(lambda: programs.chain(2000))
    session.start()
    app = StepgradApp(session, Commands(session))

    async def measure() -> tuple[list[float], list[float]]:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.submit_command("goto 1990")        # deep in the forward pass
            await settle(pilot)
            clock = RefreshClock(app)
            await presses(app, clock, "s", 5, spaced)  # warm up: each op's source, once
            steps = await presses(app, clock, "s", 40, spaced)
            app.submit_command("goto 3000")        # deep in the backward pass, all recorded
            await settle(pilot)
            backs = await presses(app, clock, "r", 40, spaced)
            steps += await presses(app, clock, "s", 20, spaced)
            return steps, backs

    try:
        return run(measure())
    finally:
        session.close()


def test_step_and_back_on_a_2000_node_graph():
    """One repaint per key, within one frame at 60 Hz (16 ms) at p95, for keys two frames
    apart (a person's presses, or a held key's repeats)."""
    steps, backs = step_and_back_times(spaced=True)
    results = [report(f"{name} on a 2,000-node graph", values)
               for name, values in (("step", steps), ("back", backs))]
    for result in results:
        assert result["p95"] < 16, result


def test_keys_pressed_back_to_back_on_a_2000_node_graph():
    """Each key pressed the instant the last repaint ends: Textual paints at most once a
    frame, so each takes about a frame (17 ms); at p95 none waits more than two."""
    steps, backs = step_and_back_times(spaced=False)
    results = [report(f"{name} pressed back to back on a 2,000-node graph", values)
               for name, values in (("step", steps), ("back", backs))]
    for result in results:
        assert result["p95"] < 2 * FRAME * 1000, result


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
