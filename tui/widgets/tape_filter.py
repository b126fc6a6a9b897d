"""The tape's filter (`/`): type part of a node's name, op or shape to show only those rows.

Hidden until `/` opens it; Enter keeps the filter and goes back to the tape, Escape clears
it. The filter posts nothing new: Textual's `Input.Changed` carries the text, and the
app hands it to `Tape.set_filter`.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class TapeFilter(Input):
    """A one-line filter over the tape; `open()` shows and focuses it."""

    BINDINGS = [Binding("escape", "clear", "Clear", show=False)]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="filter nodes", id=id)

    def open(self) -> None:
        self.add_class("-visible")
        self.focus()

    def action_clear(self) -> None:
        """Escape: no filter, no field, back to the tape."""
        self.value = ""
        self.remove_class("-visible")
        self.screen.focus_next("Tape")

    async def action_submit(self) -> None:
        """Enter: keep the filter, back to the tape."""
        self.screen.focus_next("Tape")
