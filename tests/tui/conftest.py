"""Fixtures for the TUI tests: sessions over the seeded programs, and async test support.

`make_app(program, *args)` builds a StepgradApp over a fresh, started Session for one of
tui_programs.py's functions; every session made is closed after the test, so no program
thread outlives it. `async def` tests run under asyncio.run (no asyncio plugin needed).
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import tui_programs  # noqa: E402

from stepgrad.debug import Commands, Session  # noqa: E402
from stepgrad.tui.app import StepgradApp  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture
def make_app() -> Iterator[Callable[..., StepgradApp]]:
    sessions: list[Session] = []

    def make(program: Callable[..., Any] = tui_programs.tiny_mlp, *args: Any,
             lesson: Any = None, tutor: Any = None, start: bool = True,
             **options: Any) -> StepgradApp:
        session = Session(lambda: program(*args), name=program.__name__, **options)
        sessions.append(session)
        if start:
            session.start()
        return StepgradApp(session, Commands(session, tutor=tutor), lesson=lesson)

    yield make
    for session in sessions:
        session.close()
