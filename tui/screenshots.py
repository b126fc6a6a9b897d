"""Where the palette's Screenshot saves its SVG files.

Textual saves to the user's Downloads folder, which a server or a fresh account may not
have (the save then failed). stepgrad keeps them with its other files, in the data
directory (`stepgrad.paths`), or in the temporary directory when that cannot be made.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from stepgrad.paths import data_dir


def screenshot_folder() -> str:
    """An existing folder to save screenshots in: <data dir>/screenshots if possible."""
    folder = data_dir() / "screenshots"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir())
    return str(folder)
