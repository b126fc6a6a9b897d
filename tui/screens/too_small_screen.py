"""Shown instead of the debugger while the terminal is smaller than it needs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 80, 24


def too_small(width: int, height: int) -> bool:
    """Whether a terminal of width x height is too small for the debugger's panes."""
    return width < MIN_WIDTH or height < MIN_HEIGHT


class TooSmallScreen(Screen[None]):
    """Says how much room is needed, and goes away by itself once the terminal has grown.

    While it shows, the app's command keys do nothing (`StepgradApp.check_action`): a key
    pressed on a screen that shows nothing of the program must not move the program."""

    def __init__(self) -> None:
        super().__init__()
        self.leaving = False

    def compose(self) -> ComposeResult:
        yield Static("", id="too-small-text")

    def on_mount(self) -> None:
        self.show_size()

    def on_resize(self) -> None:
        self.show_size()

    def on_screen_resume(self) -> None:
        """Back on top (a dialog opened over this notice closed): the terminal may have grown
        meanwhile."""
        self.show_size()

    def show_size(self) -> None:
        width, height = self.app.size
        if not too_small(width, height):
            # Dismiss once (a resize and a resume may both ask before the pop is done), and
            # only from the top: dismissing a screen under another one is an error.
            if self.is_current and not self.leaving:
                self.leaving = True
                self.dismiss()
            return
        self.query_one(Static).update(
            f"stepgrad needs a terminal of at least {MIN_WIDTH}x{MIN_HEIGHT}; "
            f"this one is {width}x{height}.\nMake the window bigger (ctrl+q quits).")
