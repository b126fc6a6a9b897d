"""Where stepgrad keeps a learner's files (lesson progress, the REPL's history).

$STEPGRAD_HOME if set, else $XDG_DATA_HOME/stepgrad, else ~/.local/share/stepgrad.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """stepgrad's per-user data directory (not created here)."""
    home = os.environ.get("STEPGRAD_HOME")
    if home:
        return Path(home).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg:
        return Path(xdg).expanduser() / "stepgrad"
    return Path.home() / ".local" / "share" / "stepgrad"
