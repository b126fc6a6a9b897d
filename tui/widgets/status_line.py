"""The status line: where the program is, why it stopped, and what is queued."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.timer import Timer
from textual.widgets import Static

STATUS_STYLES = {"paused": "bold green", "running": "bold yellow", "finished": "bold blue",
                 "crashed": "bold red", "replay": "bold cyan", "closed": "dim"}

#: While commands are queued the line is repainted at most this often (seconds).
QUEUED_DELAY = 0.1


class StatusLine(Static):
    """One line: status, event number out of the history, iteration, epoch and reason."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text: Text | None = None     # what the line should say
        self._shown: Text | None = None    # what it says
        self._timer: Timer | None = None

    def show(self, state: Any, queued: int = 0, selected: int | None = None) -> None:
        """Say where `state` is. While commands are queued, wait a little first: a step
        answers within a frame, and a "(1 queued)" painted meanwhile would put its answer
        a frame later (Textual paints at most once a frame). A long command (a continue)
        shows its progress every QUEUED_DELAY seconds."""
        self._text = status_text(state, queued, selected)
        if not queued:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            self._apply()
        elif self._timer is None:
            self._timer = self.set_timer(QUEUED_DELAY, self._waited)

    def _waited(self) -> None:
        self._timer = None
        self._apply()

    def _apply(self) -> None:
        if self._text is not None and self._text != self._shown:
            self._shown = self._text
            self.update(self._text, layout=False)  # one line, always: no layout of the screen


def status_text(state: Any, queued: int = 0, selected: int | None = None) -> Text:
    """Status, event number out of the history, iteration, epoch, loss, reason, queue."""
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
    return text
