"""The log: each command typed or bound to a key, the text the core answered, and what
the program printed (in the order it all happened, as in a terminal under pdb).

Lines are rendered once when written (and again only if the width changes), and adding
them never lays out the screen: a step's repaint touches only the lines that changed.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.geometry import Size

from stepgrad.tui.widgets.strip_view import StripView, render_strips, set_virtual_size

MAX_ENTRIES = 500
#: At most this many lines of one burst of program output are kept in the log.
MAX_OUTPUT_LINES = 1000
#: How the program's own output looks, by stream (the debugger's text is unstyled or bold).
OUTPUT_STYLES = {"stdout": "green", "stderr": "yellow"}


class CommandLog(StripView):
    """A scrolling transcript of commands and their output (bounded, newest at the bottom)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries: list[RenderableType] = []
        self._rendered: list[list] = []
        self._width = 0
        self._partial = ""      # program output after its last newline, not shown yet
        self._partial_stream = "stdout"
        self._widest = 0        # the longest line's cells (the log's virtual width)

    def add_command(self, line: str, output: str) -> None:
        self.flush_output()
        self.write(Text(f"(sg) {line}", style="bold"))
        if output:
            self.write(Text(output.rstrip("\n")))

    def add_output(self, text: str, stream: str = "stdout") -> None:
        """Add what the program wrote; whole lines show at once, the rest at its newline
        (or before the next command)."""
        if stream != self._partial_stream:
            self.flush_output()
            self._partial_stream = stream
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()[-MAX_OUTPUT_LINES * 200:]
        if len(lines) > MAX_OUTPUT_LINES:     # a flood: the terminal gets it all after the app
            cut = len(lines) - MAX_OUTPUT_LINES
            lines = [f"... {cut:,} earlier lines (printed on the terminal when the app ends)",
                     *lines[cut:]]
        if lines:
            style = OUTPUT_STYLES.get(stream, "")
            self.write(Text("\n".join(lines), style=style))

    def flush_output(self) -> None:
        """Show program output still waiting for its newline."""
        if self._partial:
            partial, self._partial = self._partial, ""
            self.write(Text(partial, style=OUTPUT_STYLES.get(self._partial_stream, "")))

    def add_note(self, text: str, style: str = "dim") -> None:
        self.write(Text(text, style=style))

    def write(self, renderable: RenderableType) -> None:
        width = self.view_width
        if width != self._width:
            self._rerender(width)
        strips = render_strips(renderable, width)
        self.entries.append(renderable)
        self._rendered.append(strips)
        self.lines.extend(strips)    # (not rebuilt from every entry: a step writes twice)
        self._widest = max([self._widest, *(strip.cell_length for strip in strips)])
        if len(self.entries) > MAX_ENTRIES:
            cut = len(self.entries) - MAX_ENTRIES
            dropped = [strip for old in self._rendered[:cut] for strip in old]
            del self.lines[: len(dropped)]
            del self.entries[:cut]
            del self._rendered[:cut]
            if any(strip.cell_length == self._widest for strip in dropped):
                self._widest = max((strip.cell_length for strip in self.lines), default=0)
        self._show_all()

    def _rerender(self, width: int) -> None:
        self._width = width
        self._rendered = [render_strips(entry, width) for entry in self.entries]
        self.lines = [strip for strips in self._rendered for strip in strips]
        self._widest = max((strip.cell_length for strip in self.lines), default=0)

    def _show_all(self) -> None:
        set_virtual_size(self, Size(self._widest, len(self.lines)))
        self.scroll_to(0, max(0, len(self.lines) - self.scrollable_content_region.height),
                       animate=False, immediate=True)
        self.refresh()

    def on_resize(self) -> None:
        if self.entries and self.view_width != self._width:
            self._rerender(self.view_width)
            self._show_all()
