"""Where the palette's Screenshot saves its SVG files.

Textual saves to the user's Downloads folder, which a server or a fresh account may not
have (the save then failed). stepgrad keeps them with its other files, in the data
directory (`stepgrad.paths`), or in the temporary directory when that cannot be made.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from textual import events

from stepgrad.paths import data_dir


def screenshot_folder() -> str:
    """An existing folder to save screenshots in: <data dir>/screenshots if possible."""
    folder = data_dir() / "screenshots"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir())
    return str(folder)


class ScreenshotsInDataDir:
    """Mixed into the App: the palette's Screenshot goes to `screenshot_folder()` and the
    log says where it went (or why it could not be saved)."""

    _screenshot_folder = ""
    query_one: Any

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's Screenshot: into stepgrad's data directory (Textual's default,
        ~/Downloads, may not exist), and the log says where."""
        folder = screenshot_folder() if path is None else path
        self._screenshot_folder = folder
        # the App's own (this class comes first among the App's bases)
        return super().deliver_screenshot(filename, folder, time_format)  # type: ignore[misc]

    def on_delivery_complete(self, event: events.DeliveryComplete) -> None:
        if event.name == "screenshot":
            where = event.path or self._screenshot_folder
            self.query_one("#log").add_note(f"screenshot saved: {where}")

    def on_delivery_failed(self, event: events.DeliveryFailed) -> None:
        if event.name == "screenshot":
            self.query_one("#log").add_note(
                f"*** the screenshot could not be saved in {self._screenshot_folder}: "
                f"{event.exception}", style="yellow")

