"""The log: each command typed or bound to a key, and the text the core answered.

Lines are rendered once when written (and again only if the width changes), and adding
them never lays out the screen: a step's repaint touches only the lines that changed.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.geometry import Size

from stepgrad.tui.widgets.strip_view import StripView, render_strips, set_virtual_size

MAX_ENTRIES = 500


class CommandLog(StripView):
    """A scrolling transcript of commands and their output (bounded, newest at the bottom)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[RenderableType] = []
        self._rendered: list[list] = []
        self._width = 0

    def add_command(self, line: str, output: str) -> None:
        self.write(Text(f"(sg) {line}", style="bold"))
        if output:
            self.write(Text(output.rstrip("\n")))

    def add_note(self, text: str, style: str = "dim") -> None:
        self.write(Text(text, style=style))

    def write(self, renderable: RenderableType) -> None:
        width = self.view_width
        if width != self._width:
            self._rerender(width)
        self.entries.append(renderable)
        self._rendered.append(render_strips(renderable, width))
        if len(self.entries) > MAX_ENTRIES:
            del self.entries[: len(self.entries) - MAX_ENTRIES]
            del self._rendered[: len(self._rendered) - MAX_ENTRIES]
        self._show_all()

    def _rerender(self, width: int) -> None:
        self._width = width
        self._rendered = [render_strips(entry, width) for entry in self.entries]

    def _show_all(self) -> None:
        self.lines = [strip for strips in self._rendered for strip in strips]
        width = max((strip.cell_length for strip in self.lines), default=0)
        set_virtual_size(self, Size(width, len(self.lines)))
        self.scroll_to(0, max(0, len(self.lines) - self.scrollable_content_region.height),
                       animate=False, immediate=True)
        self.refresh()

    def on_resize(self) -> None:
        if self.entries and self.view_width != self._width:
            self._rerender(self.view_width)
            self._show_all()
