"""The status line: where the program is, why it stopped, and what is queued."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

STATUS_STYLES = {"paused": "bold green", "running": "bold yellow", "finished": "bold blue",
                 "crashed": "bold red", "replay": "bold cyan", "closed": "dim"}


class StatusLine(Static):
    """One line: status, event number out of the history, iteration, epoch and reason."""

    def show(self, state: Any, queued: int = 0, selected: int | None = None) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {state.status} ", style=STATUS_STYLES.get(state.status, "bold"))
        if state.cursor >= 0:
            text.append(f" #{state.cursor}", style="bold")
            text.append(f"/{state.head}", style="dim")
        if selected is not None and selected != state.cursor:
            text.append(f"  viewing #{selected}", style="italic")
        if state.iteration is not None:
            text.append(f"  iteration {state.iteration}")
        if state.epoch is not None:
            text.append(f"  epoch {state.epoch}")
        if state.losses:
            text.append(f"  loss {state.losses[-1][1]:.4g}")
        if state.reason:
            text.append(f"  {state.reason}", style="italic")
        if queued:
            text.append(f"  ({queued} queued)", style="yellow")
        self.update(text, layout=False)   # one line, always: no need to lay out the screen
