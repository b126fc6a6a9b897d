"""The footer: the keys and their commands, with help and quit always in sight.

Fourteen keys do not fit in 80 columns: Textual's Footer cut the last ones, `? Help` and
`q Quit`, which a newcomer needs most. On a narrow terminal this footer leaves out the
keys listed in `NARROW_HIDDEN` (they still work, and `?` lists them all).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

#: Actions whose keys the footer leaves out below 120 columns (the keys still work).
NARROW_HIDDEN = frozenset({"command('finish')", "command('step into')", "command('gradcheck')",
                           "command('where')", "filter"})


class KeyFooter(Footer):
    """Textual's Footer, marking the keys a narrow terminal leaves out (class `-optional`;
    app.tcss hides them unless the screen is `-wide`)."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if getattr(widget, "action", None) in NARROW_HIDDEN:   # a FooterKey
                widget.add_class("-optional")
            yield widget
