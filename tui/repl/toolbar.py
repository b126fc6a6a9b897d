"""The bottom toolbar: phase, node k of N, breakpoints, status, from the session state."""

from __future__ import annotations

from typing import Any

from prompt_toolkit.formatted_text import FormattedText

SEP = ("class:bottom-toolbar", " | ")


def toolbar(state: Any) -> FormattedText:
    """One line describing `state`; `nan`-free and cheap (called at every redraw)."""
    event = state.event
    phase = getattr(event, "phase", None) or "-"
    node = f"event {state.cursor} of {state.total}"
    count = sum(1 for b in state.breakpoints if b.enabled)
    breaks = f"{count} breakpoint{'s' if count != 1 else ''}"
    status = state.status + (f": {state.reason}" if state.reason else "")
    crashed = state.status == "crashed"
    status_class = "class:bottom-toolbar.bad" if crashed else "class:bottom-toolbar"
    return FormattedText([
        ("class:bottom-toolbar.key", f" {phase}"), SEP,
        ("class:bottom-toolbar", node), SEP,
        ("class:bottom-toolbar", breaks), SEP,
        (status_class, status),
    ])
