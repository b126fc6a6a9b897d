"""Tab completion: a prompt_toolkit Completer that asks the command language.

The REPL knows no command names itself: `Commands.complete(line)` answers with the
candidates for the last word of the line (the one being typed), and this class turns them
into Completions that replace that word.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document


class CommandCompleter(Completer):
    """Completes the line before the cursor with `commands.complete(line)`."""

    def __init__(self, commands: Any) -> None:
        self.commands = commands

    def get_completions(self, document: Document,
                        complete_event: CompleteEvent) -> Iterable[Completion]:
        line = document.text_before_cursor
        word = line.split(" ")[-1]
        try:
            candidates = self.commands.complete(line)
        except Exception:  # completion must never break the prompt
            return
        for candidate in candidates:
            yield Completion(candidate, start_position=-len(word))
