"""Breakpoints and watches (displays), as the core reports them in its state."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static


class BreakpointList(VerticalScroll, can_focus=True):
    """The breakpoints (number, spec, enabled, hits, condition) and the display expressions."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._key: tuple[Any, ...] | None = None

    def compose(self):
        yield Static("", id="breakpoints-body")

    def show(self, breakpoints: tuple[Any, ...], displays: tuple[str, ...]) -> None:
        key = (breakpoints, displays)
        if key == self._key:
            return
        self._key = key
        text = Text()
        text.append("breakpoints\n", style="bold")
        if not breakpoints:
            text.append("  none: b on a node, or `break relu`, `break nan`\n", style="dim")
        for bp in breakpoints:
            mark = "●" if bp.enabled else "○"
            text.append(f" {mark} ", style="red" if bp.enabled else "dim")
            text.append(f"{bp.number} {bp.spec}", style="bold" if bp.enabled else "dim")
            text.append(f"  hits {bp.hits}", style="dim")
            if bp.temporary:
                text.append("  once", style="dim")
            if bp.condition:
                text.append(f"  if {bp.condition}", style="italic")
            if getattr(bp, "ignore", 0):
                text.append(f"  ignore {bp.ignore}", style="dim")
            text.append("\n")
        text.append("watches\n", style="bold")
        if not displays:
            text.append("  none: `display out.mean()`\n", style="dim")
        for number, expression in enumerate(displays, 1):
            text.append(f"  {number} {expression}\n")
        self.query_one(Static).update(text)
