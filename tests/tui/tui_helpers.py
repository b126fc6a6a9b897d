"""Helpers for the Pilot tests (imported as `tui_helpers`; conftest.py puts this folder on
sys.path)."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

SIZE = (120, 40)


async def settle(pilot: Any) -> None:
    """Wait until queued commands ran and the inspector drew its pictures."""
    app = pilot.app
    for _ in range(1000):
        await pilot.pause()
        if app.is_idle:
            drawing = [w for w in app.workers if w.group in ("inspector", "source")]
            if drawing:   # (an empty list would wait for every worker, the runner too)
                await app.workers.wait_for_complete(drawing)
            await pilot.pause()
            return
        await pilot.pause(0.01)
    raise AssertionError(f"the app did not settle: {app.runner.pending} jobs still queued")


async def press(pilot: Any, *keys: str) -> None:
    """Press keys one at a time, letting each command finish before the next."""
    for key in keys:
        await pilot.press(key)
        await settle(pilot)


def log_text(app: Any) -> str:
    return app.query_one("#log").text


def text_of(widget: Any, width: int = 100) -> str:
    """The plain text a Static (or Label) shows, whatever it was given."""
    content = widget.content
    if isinstance(content, str):
        return content
    plain = getattr(content, "plain", None)
    if isinstance(plain, str):
        return plain
    console = Console(width=width, record=True, color_system=None, file=io.StringIO())
    console.print(content)
    return console.export_text()


def inspector_text(app: Any) -> str:
    return app.query_one("#inspector").text
