"""The log: each command typed or bound to a key, and the text the core answered."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog


class CommandLog(RichLog, can_focus=True):
    """A scrolling transcript of commands and their output (bounded)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=2000, wrap=True, markup=False, highlight=False,
                         min_width=20, auto_scroll=True)

    def add_command(self, line: str, output: str) -> None:
        self.write(Text(f"(sg) {line}", style="bold"))
        if output:
            self.write(Text(output.rstrip("\n")))

    def add_note(self, text: str, style: str = "dim") -> None:
        self.write(Text(text, style=style))
