"""The source pane: the op's forward or backward code, and the user's line that made the node.

In `step into` line mode the app passes the core's `LineState`: the line being run is
marked and the locals before it are listed underneath. Otherwise the op's `def` line is
marked. The user's own line (`event.file:event.line`) is shown above with two lines of
context, so both "what the engine does" and "where my code asked for it" are in view.
"""

from __future__ import annotations

import linecache
import os
from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from stepgrad import events as ev


class SourcePane(VerticalScroll, can_focus=True):
    """Shows source for the event the app passes down with `show`."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[Any, ...] | None = None
        self.dark = True

    def compose(self):
        yield Static(Text("No source yet.", style="dim"), id="source-body")

    def show(self, event: ev.Event | None, line: Any = None, dark: bool = True) -> None:
        """Show the op source of `event` (a ForwardStep or BackwardStep); `line` is a LineState."""
        phase = getattr(line, "phase", None) or getattr(event, "phase", "")
        op = getattr(line, "op", None) or getattr(event, "op", None)
        key = (op, phase, getattr(line, "lineno", None), getattr(line, "locals_text", None),
               getattr(event, "file", None), getattr(event, "line", None), dark)
        if key == self._key:
            return
        self._key = key
        self.query_one(Static).update(self._content(event, op, phase, line, dark))

    def _content(self, event: ev.Event | None, op: str | None, phase: str, line: Any,
                 dark: bool) -> RenderableType:
        parts: list[RenderableType] = []
        theme = "ansi_dark" if dark else "ansi_light"
        file, lineno = getattr(event, "file", ""), getattr(event, "line", 0)
        if file and lineno:
            parts.append(Text(f"your code  {os.path.basename(file)}:{lineno}", style="bold"))
            parts.append(_user_lines(file, lineno, theme))
        if op and phase in ("forward", "backward"):
            from stepgrad.debug.source import op_source

            try:
                lines, first, path = op_source(op, phase)
            except KeyError:
                lines, first, path = [f"# no op named {op!r} in the registry\n"], 1, ""
            mark = getattr(line, "lineno", None) or _def_line(lines, first)
            title = Text(f"{op}.{phase}  {os.path.basename(path)}:{first}", style="bold")
            if line is not None:
                title.append(f"   step into: line {mark}", style="bold yellow")
            parts.append(title)
            parts.append(Syntax("".join(lines), "python", theme=theme, line_numbers=True,
                                start_line=first, highlight_lines={mark},
                                background_color="default", code_width=None))
            if line is not None and getattr(line, "locals_text", ""):
                parts.append(Text("locals before this line", style="bold"))
                parts.append(Text(line.locals_text))
        if not parts:
            parts.append(Text("(no source for this event)", style="dim"))
        return Group(*parts)


def _user_lines(file: str, lineno: int, theme: str) -> RenderableType:
    start = max(1, lineno - 2)
    lines = [linecache.getline(file, n) for n in range(start, lineno + 3)]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return Text("  (source not available)", style="dim")
    return Syntax("".join(lines), "python", theme=theme, line_numbers=True, start_line=start,
                  highlight_lines={lineno}, background_color="default", code_width=None)


def _def_line(lines: list[str], first: int) -> int:
    """The `def` line of a function's source (after its decorators)."""
    for offset, text in enumerate(lines):
        if text.lstrip().startswith("def "):
            return first + offset
    return first
