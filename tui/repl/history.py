"""Where the REPL keeps its command history, across sessions.

The data directory is, in order: $STEPGRAD_HOME, $XDG_DATA_HOME/stepgrad, or
~/.local/share/stepgrad. A directory that cannot be created or written never stops the
debugger: the history then lives in memory for this session only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prompt_toolkit.history import FileHistory, History, InMemoryHistory

from stepgrad.paths import data_dir

HISTORY_FILE = "repl_history"


def history_path() -> Path:
    return data_dir() / HISTORY_FILE


class SafeFileHistory(FileHistory):
    """A FileHistory that keeps going in memory when its file cannot be read or written."""

    def load_history_strings(self) -> Iterable[str]:
        try:
            yield from super().load_history_strings()
        except OSError:
            return

    def store_string(self, string: str) -> None:
        try:
            super().store_string(string)
        except OSError:
            pass  # a read-only home must not end a debugging session


def open_history() -> History:
    """The history for an interactive REPL: the user's file when possible, else in memory."""
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return InMemoryHistory()
    return SafeFileHistory(str(path))
