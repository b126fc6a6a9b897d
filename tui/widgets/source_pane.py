"""The source pane: the op's forward or backward code, and the user's line that made the node.

In `step into` line mode the app passes the core's `LineState`: the line being run is
marked and the locals before it are listed underneath. Otherwise the op's `def` line is
marked. The user's own line (`event.file:event.line`) is shown above with two lines of
context, so both "what the engine does" and "where my code asked for it" are in view.
Highlighting is done in a worker and cached: stepping through a graph shows the same few
ops again and again.
"""

from __future__ import annotations

import linecache
import os
from typing import Any

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.message import Message
from textual.strip import Strip

from stepgrad import events as ev
from stepgrad.torchbridge import TORCH_NODE_IDS
from stepgrad.tui.widgets.strip_view import StripView, render_strips


class SourcePane(StripView):
    """Shows source for the event the app passes down with `show`."""

    class Rendered(Message):
        """The lines for request `key` are ready (posted by the render worker)."""

        def __init__(self, key: tuple[Any, ...], lines: list[Strip]) -> None:
            self.key = key
            self.lines = lines
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[Any, ...] | None = None
        self.rendered_key: tuple[Any, ...] | None = None
        self._shown: tuple[Any, ...] = (None, None, True)

    @property
    def is_drawn(self) -> bool:
        """True once the source last asked for is on screen (not still being highlighted)."""
        return self.rendered_key == self._key

    def show(self, event: ev.Event | None, line: Any = None, dark: bool = True) -> None:
        """Show the op source of `event` (a ForwardStep or BackwardStep); `line` is a LineState.
        The command worker has usually drawn it into the cache already (`prefetch`)."""
        self._shown = (event, line, dark)
        key = source_key(event, line, dark, self.view_width)
        if key != self._key:
            self._key = key
            cached = _CACHE.get(key)
            if cached is not None:
                self._apply(key, cached)
            else:
                self._draw(key)

    @work(thread=True, exclusive=True, group="source")
    def _draw(self, key: tuple[Any, ...]) -> None:
        self.post_message(self.Rendered(key, draw(key)))

    def on_source_pane_rendered(self, message: Rendered) -> None:
        message.stop()
        _remember(message.key, message.lines)
        if message.key == self._key:
            self._apply(message.key, message.lines)

    def _apply(self, key: tuple[Any, ...], lines: list[Strip]) -> None:
        self.set_lines(lines)
        self.rendered_key = key


    def on_resize(self) -> None:
        if self._key is not None and self._key[-1] != self.view_width:
            self.show(*self._shown)


#: Rendered source by request: stepping through a graph shows the same few ops again.
_CACHE: dict[tuple[Any, ...], list[Strip]] = {}


def source_key(event: ev.Event | None, line: Any, dark: bool, width: int) -> tuple[Any, ...]:
    """What the pane shows for `event` at `line` (a LineState or None), as a cache key."""
    phase = getattr(line, "phase", None) or getattr(event, "phase", "")
    op = getattr(line, "op", None) or getattr(event, "op", None)
    if getattr(event, "node_id", 0) > TORCH_NODE_IDS:  # PyTorch's op: compiled, no source
        op = None  # (stepgrad's op of the same name is not the code that ran)
    return (op, phase, getattr(line, "lineno", None), getattr(line, "locals_text", None),
            getattr(event, "file", ""), getattr(event, "line", 0), dark, width)


def draw(key: tuple[Any, ...]) -> list[Strip]:
    """The lines for a `source_key` (any thread but the UI's: highlighting takes a while)."""
    op, phase, lineno, locals_text, file, user_line, dark, width = key
    return render_strips(content(op, phase, lineno, locals_text, file, user_line, dark), width)


def prefetch(event: ev.Event | None, line: Any, dark: bool, width: int) -> None:
    """Draw what the pane will show for `event` into the cache, unless it is there (the
    command worker calls this, so a step shows its source in the same repaint)."""
    key = source_key(event, line, dark, width)
    if key not in _CACHE:
        _remember(key, draw(key))


def _remember(key: tuple[Any, ...], lines: list[Strip]) -> None:
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = lines


def content(op: str | None, phase: str, lineno: int | None, locals_text: str | None,
            file: str, user_line: int, dark: bool) -> RenderableType:
    """The user's line with context, then the op's forward or backward with a marked line.
    In `step into` mode the line being run and its locals come first (they are what the
    learner is looking at), then the whole op, then the user's line."""
    theme = "ansi_dark" if dark else "ansi_light"
    if lineno is not None and op and phase in ("forward", "backward"):
        return _line_mode(op, phase, lineno, locals_text, file, user_line, theme)
    parts: list[RenderableType] = []
    if file and user_line:
        parts.append(Text(f"your code  {os.path.basename(file)}:{user_line}", style="bold"))
        parts.append(_user_lines(file, user_line, theme))
    if op and phase in ("forward", "backward"):
        from stepgrad.debug.source import op_source

        try:
            lines, first, path = op_source(op, phase)
        except KeyError:
            lines, first, path = [f"# no op named {op!r} in the registry\n"], 1, ""
        mark = lineno or _def_line(lines, first)
        parts.append(Text(f"{op}.{phase}  {os.path.basename(path)}:{first}", style="bold"))
        if lineno is not None:
            parts.append(Text(f"step into: line {mark}", style="bold yellow"))
        parts.append(Syntax("".join(lines), "python", theme=theme, line_numbers=True,
                            start_line=first, highlight_lines={mark},
                            background_color="default", code_width=None))
        if locals_text:
            parts.append(Text("locals before this line", style="bold"))
            parts.append(Text(locals_text))
    if not parts:
        parts.append(Text("(no source for this event)", style="dim"))
    return Group(*parts)


#: In `step into` mode: how many lines of the op to show before and after the current one.
LINE_CONTEXT = 2


def _line_mode(op: str, phase: str, lineno: int, locals_text: str | None, file: str,
               user_line: int, theme: str) -> RenderableType:
    """`step into`: the current line with a little context and the locals before it."""
    from stepgrad.debug.source import op_source

    try:
        lines, first, path = op_source(op, phase)
    except KeyError:
        lines, first, path = [f"# no op named {op!r} in the registry\n"], 1, ""
    start = max(first, lineno - LINE_CONTEXT)
    window = lines[start - first: lineno - first + LINE_CONTEXT + 1]
    parts: list[RenderableType] = [
        Text(f"step into {op}.{phase}: line {lineno}  ({os.path.basename(path)})",
             style="bold yellow"),
        Syntax("".join(window), "python", theme=theme, line_numbers=True, start_line=start,
               highlight_lines={lineno}, background_color="default", code_width=None),
    ]
    if locals_text:
        parts += [Text("locals before this line", style="bold"), Text(locals_text)]
    parts += [Text(""), Text(f"{op}.{phase}, all of it", style="bold"),
              Syntax("".join(lines), "python", theme=theme, line_numbers=True,
                     start_line=first, background_color="default", code_width=None)]
    if file and user_line:
        parts.append(Text(f"your code  {os.path.basename(file)}:{user_line}", style="bold"))
        parts.append(_user_lines(file, user_line, theme))
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
