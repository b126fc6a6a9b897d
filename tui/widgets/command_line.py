"""The command line: type any debugger command; completion and history like a shell.

Completion comes from the core (`commands.complete(line)`, passed down by the app as a
callable) and shows as a greyed suggestion: right arrow or Tab accepts it. Up and down
walk through the lines entered before. Enter posts `CommandLine.Entered(line)`; an
empty line repeats the last move, as in pdb.

A line holds at most `MAX_LINE` characters: a paste of 200 KB typed key by key froze the
app for a minute. What goes beyond is refused, and `CommandLine.Refused` says so once.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.binding import Binding
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input

Complete = Callable[[str], list[str]]

#: The longest command line accepted (no command needs more; an expression rarely does).
MAX_LINE = 4096


class CommandSuggester(Suggester):
    """Suggest the first completion of the line's last word."""

    def __init__(self, complete: Complete | None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.complete = complete

    async def get_suggestion(self, value: str) -> str | None:
        if not value or self.complete is None:
            return None
        try:
            options = self.complete(value)
        except Exception:  # noqa: BLE001 (completion must never break typing)
            return None
        head, _, word = value.rpartition(" ")
        for option in options:
            if option.startswith(word) and option != word:
                return (head + " " if head else "") + option
        return None


class CommandLine(Input):
    """The debugger prompt."""

    BINDINGS = [
        Binding("up", "history(-1)", "Previous", show=False),
        Binding("down", "history(1)", "Next", show=False),
        Binding("tab", "complete", "Complete", show=False),
        Binding("escape", "leave", "Leave", show=False),
    ]

    class Entered(Message):
        """The user entered `line` (possibly empty: repeat the last move)."""

        def __init__(self, line: str) -> None:
            self.line = line
            super().__init__()

    class Refused(Message):
        """Typing or pasting went beyond `MAX_LINE` characters; `reason` says so."""

        def __init__(self, reason: str) -> None:
            self.reason = reason
            super().__init__()

    class Left(Message):
        """Escape: the user leaves the command line without running anything."""

    def __init__(self, complete: Complete | None = None, *, id: str | None = None) -> None:
        super().__init__(placeholder=": for a command, e.g. break relu, p grad.norm, "
                         "diagnose ..., help  (Enter repeats the last move)",
                         suggester=CommandSuggester(complete), max_length=MAX_LINE, id=id)
        self.history: list[str] = []
        self._position = 0
        self._refused = False      # told the user about this line already

    def restricted(self) -> None:
        """A key or paste would make the line too long: say it once per line (Textual's
        default rings the bell, once per refused key of a long paste)."""
        if not self._refused:
            self._refused = True
            self.post_message(self.Refused(
                f"*** the command line holds at most {MAX_LINE:,} characters: the rest was "
                "not taken"))

    async def action_submit(self) -> None:
        line = self.value.strip()
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self._position = len(self.history)
        self.value = ""
        self._refused = False
        self.post_message(self.Entered(line))

    def action_history(self, delta: int) -> None:
        if not self.history:
            return
        self._position = max(0, min(len(self.history), self._position + delta))
        self.value = self.history[self._position] if self._position < len(self.history) else ""
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        """Accept the suggestion if there is one, else move on to the next pane."""
        if self._suggestion and self.cursor_position == len(self.value):
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()

    def action_leave(self) -> None:
        self.post_message(self.Left())
