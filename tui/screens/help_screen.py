"""The help screen (`?`): every command from the core's `infos()`, and every key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Commands (name, aliases, summary) and key bindings; Escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, infos: Iterable[Any], keys: Iterable[tuple[str, str]]) -> None:
        super().__init__()
        self.infos = list(infos)
        self.keys = list(keys)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(Text("stepgrad debugger: keys are shortcuts for commands; every "
                              "command also works in the command line.", style="bold"))
            yield Static(key_table(self.keys))
            yield Static(command_table(self.infos))
            yield Static(Text("Escape closes this screen.", style="dim"))


def key_table(keys: list[tuple[str, str]]) -> Table:
    table = Table(title="keys", title_justify="left", box=None, pad_edge=False)
    table.add_column("key", style="bold cyan", no_wrap=True)
    table.add_column("does")
    for key, description in keys:
        table.add_row(key, description)
    return table


def command_table(infos: list[Any]) -> Table:
    table = Table(title="commands", title_justify="left", box=None, pad_edge=False)
    table.add_column("command", style="bold", no_wrap=True)
    table.add_column("aliases", style="dim", no_wrap=True)
    table.add_column("what it does")
    for info in infos:
        table.add_row(info.name, ", ".join(info.aliases), info.summary)
    return table
