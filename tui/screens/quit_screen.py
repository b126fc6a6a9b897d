"""Asks before quitting while a program is still running or paused."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class QuitScreen(ModalScreen[bool]):
    """Dismisses with True to quit (y, Enter on Quit) or False to stay (n, Escape)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    def compose(self) -> ComposeResult:
        with Grid(id="quit-dialog"):
            yield Label("The program is still running. Stop it and quit?", id="quit-question")
            yield Button("Quit (y)", variant="error", id="quit-yes")
            yield Button("Stay (n)", variant="primary", id="quit-no")

    def on_mount(self) -> None:
        self.query_one("#quit-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit-yes")

    def action_answer(self, quit_: bool) -> None:
        self.dismiss(quit_)
