"""Fixtures for the TUI tests: sessions over the seeded programs, and a started app.

`make_app(program)` builds a StepgradApp over a fresh Session for one of programs.py's
functions; pytest closes every session made here after the test, so no program thread
outlives its test.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import programs  # noqa: E402
from stepgrad.tui.app import StepgradApp  # noqa: E402

from stepgrad.debug import Commands, Session  # noqa: E402

SIZE = (120, 40)


@pytest.fixture
def make_app() -> Iterator[Callable[..., StepgradApp]]:
    sessions: list[Session] = []

    def make(program: Callable[..., Any] = programs.tiny_mlp, *args: Any,
             lesson: Any = None, start: bool = True, **options: Any) -> StepgradApp:
        session = Session(lambda: program(*args), name=program.__name__, **options)
        sessions.append(session)
        if start:
            session.start()
        return StepgradApp(session, Commands(session), lesson=lesson)

    yield make
    for session in sessions:
        session.close()


async def settle(pilot: Any) -> None:
    """Wait until queued commands ran and the inspector drew its pictures."""
    app = pilot.app
    for _ in range(400):
        await pilot.pause()
        inspector = app.query_one("#inspector")
        if app.busy == 0 and inspector.rendered_token == inspector._token:
            drawing = [w for w in app.workers if w.group == "inspector"]
            if drawing:   # (an empty list would wait for every worker, the runner too)
                await app.workers.wait_for_complete(drawing)
            await pilot.pause()
            return
        await pilot.pause(0.01)
    raise AssertionError(f"the app did not settle: {app.busy} commands still queued")
