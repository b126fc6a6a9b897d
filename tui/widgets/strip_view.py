"""A scrolling view of lines rendered ahead of time: the base of the inspector and source.

Rich renderables (heatmaps, syntax-highlighted code, tables) are turned into lines with
`render_strips`, which needs no widget and may run in a worker thread; `set_lines` then
shows them. Showing new lines only scrolls and repaints this widget: no layout of the
screen, which is what keeps a step's repaint within a frame or two.
"""

from __future__ import annotations

from rich.console import Console, RenderableType
from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget


def set_virtual_size(widget: Widget, size: Size) -> None:
    """Change a scrolling widget's virtual size without laying out the whole screen.

    Assigning `virtual_size` asks for a layout of the screen (a full repaint, about 20 ms
    at 120x40); only the scrollbars depend on it, so update them as Textual does when it
    resizes a widget itself, and repaint this widget. A layout still happens when a
    scrollbar appears or disappears (that changes the widget's content region).
    """
    if size == widget.virtual_size:
        return
    widget.set_reactive(Widget.virtual_size, size)
    if widget.is_scrollable and widget.container_size:
        widget._scroll_update(size)
    widget.refresh()


def render_strips(renderable: RenderableType, width: int) -> list[Strip]:
    """Render `renderable` at `width` cells into lines (thread-safe: a private Console)."""
    console = Console(width=width, color_system="truecolor", force_terminal=True,
                      legacy_windows=False, no_color=False, highlight=False, markup=False,
                      emoji=False)
    options = console.options.update(width=width, highlight=False, markup=False)
    lines = console.render_lines(renderable, options, pad=False)
    return [Strip(Segment.simplify(line)) for line in lines]


class StripView(ScrollView, can_focus=True):
    """Shows a list of pre-rendered Strips, scrolling vertically (and horizontally)."""

    DEFAULT_CSS = """
    StripView { overflow-x: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Strip] = []

    @property
    def view_width(self) -> int:
        """The width to render content at: inside border and padding, less one column kept
        for the scrollbar whether or not it shows (so showing it never re-renders)."""
        return max(20, self.outer_size.width - self.styles.gutter.width - 1)

    def set_lines(self, lines: list[Strip], keep_scroll: bool = False) -> None:
        """Show `lines`. Where they are as many and as wide as those shown and the view does
        not scroll, only the lines that changed are repainted (a step often keeps a few)."""
        width = max((strip.cell_length for strip in lines), default=0)
        old, self.lines = self.lines, [strip.adjust_cell_length(width) for strip in lines]
        size, offset = self.virtual_size, self.scroll_offset
        set_virtual_size(self, Size(width, len(lines)))
        if not keep_scroll:
            self.scroll_to(0, 0, animate=False, immediate=True)
        if size != self.virtual_size or offset != self.scroll_offset or len(old) != len(lines):
            self.refresh()
            return
        for y, (before, after) in enumerate(zip(old, self.lines)):
            if before != after:
                self.refresh_line(y)

    @property
    def text(self) -> str:
        """The plain text shown (for tests and copy)."""
        return "\n".join(strip.text for strip in self.lines)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        strip = self.lines[index]
        if scroll_x or strip.cell_length != width:
            strip = strip.crop(scroll_x, scroll_x + width).adjust_cell_length(width)
        return strip.apply_style(self.rich_style)   # (cached by the strip per style)
