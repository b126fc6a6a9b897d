"""Shown instead of the debugger while the terminal is smaller than it needs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 80, 24


class TooSmallScreen(Screen[None]):
    """Says how much room is needed; the app pops it when the terminal grows again."""

    def compose(self) -> ComposeResult:
        yield Static("", id="too-small-text")

    def on_mount(self) -> None:
        self.show_size()

    def on_resize(self) -> None:
        self.show_size()

    def show_size(self) -> None:
        width, height = self.app.size
        self.query_one(Static).update(
            f"stepgrad needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; "
            f"this one is {width}x{height}.\nMake the window bigger (ctrl+q quits).")
