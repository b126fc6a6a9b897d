"""The command palette (ctrl+p) offers every debugger command, from `commands.infos()`.

A command that needs an argument (its usage names one, like `print EXPR`) is put in the
command line for the user to finish; the others run at once, through the same queue as
keys and typed lines.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

_OPTIONAL = re.compile(r"\[[^\]]*\]")
_PLACEHOLDER = re.compile(r"^(#?[A-Z]+)$")


def needs_argument(usage: str) -> bool:
    """`print EXPR`, `goto #K`, `until iter N` need one; `step [N]`, `continue` do not."""
    alternatives = _OPTIONAL.sub("", usage).split("|")
    return all(any(_PLACEHOLDER.match(word) for word in alt.split()[1:]) for alt in alternatives)


class CommandProvider(Provider):
    """Debugger commands for Textual's command palette."""

    def _hits(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        hits = []
        for info in app.commands.infos():
            usage = info.usage or info.name
            if needs_argument(usage):
                action = partial(app.prefill_command, info.name + " ")
            else:
                action = partial(app.submit_command, info.name)
            hits.append((f"{info.name}  ({usage})", info.summary, action))
        return hits

    async def discover(self) -> Hits:
        for text, description, action in self._hits():
            yield DiscoveryHit(text, action, help=description)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, description, action in self._hits():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), action, help=description)
