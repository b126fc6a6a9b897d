"""Tab completion: a prompt_toolkit Completer that asks the command language.

The REPL knows no command names itself: `Commands.complete(line)` answers with the
candidates for the word under the cursor, and this class turns them into Completions
that replace that word.
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
        word = line[len(line) - len(line.split()[-1]):] if line and not line[-1].isspace() else ""
        try:
            candidates = self.commands.complete(line)
        except Exception:  # completion must never break the prompt
            return
        for candidate in candidates:
            yield Completion(candidate, start_position=-_replaced(line, word, candidate))


def _replaced(line: str, word: str, candidate: str) -> int:
    """How many characters before the cursor `candidate` replaces.

    Usually the word being typed; when the candidate continues the whole line (some
    completers answer with full lines, such as `break relu_2`), the whole line.
    """
    if " " in line.strip() and candidate.startswith(line.lstrip()):
        return len(line.lstrip())
    return len(word)
