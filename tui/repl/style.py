"""Colour for the REPL: the core answers in plain text, this module paints it.

    colorize("loss: nan at #12")   ->  FormattedText with `nan` red and `#12` in the event colour

The rules are few and line-based, so any text the core writes gets them for free:

* a line that opens with `***` (or a Python `SomethingError:`) is an error;
* a line ending with `:` that does not start with a space, or a markdown `# title`, is a
  heading, and a leading `label:` is bold;
* a line in parentheses, such as `(breakpoint 1 (relu))`, says why the program stopped;
* inside a line, `nan`, `inf` and `MISMATCH` are red, numbers are coloured, and `#412`
  (an event number) stands out.

Colour is only for terminals: `wants_color` says no when the output is not a tty or the
NO_COLOR convention (no-color.org) is set.
"""

from __future__ import annotations

import os
import re
from typing import Any

from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.styles import Style

STYLE = Style.from_dict({
    "prompt": "ansiblue bold",
    "heading": "bold",
    "error": "ansired bold",
    "reason": "ansiyellow",
    "bad": "ansired bold",
    "number": "ansicyan",
    "event": "ansimagenta",
    "bottom-toolbar": "noreverse bg:ansiblack ansiwhite",
    "bottom-toolbar.key": "bold",
    "bottom-toolbar.bad": "ansired bold",
})

_TOKEN = re.compile(
    r"(?P<bad>(?<![\w.])[-+]?(?:nan|inf)(?![\w])|\bMISMATCH\b)"
    r"|(?P<event>(?<![\w])#\d+)"
    r"|(?P<number>(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:e[-+]?\d+)?(?![\w]))",
    re.IGNORECASE,
)
_ERROR = re.compile(r"\*\*\*|[A-Z]\w*(?:Error|Exception):")
_LABEL = re.compile(r"[\w.\[\]]+:(?= )")


def wants_color(stream: Any) -> bool:
    """True when `stream` is a terminal and the user has not asked for NO_COLOR."""
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def colorize(text: str) -> FormattedText:
    """The plain `text` as prompt_toolkit formatted text, styled line by line."""
    fragments: list[tuple[str, str]] = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\n")
        label = _LABEL.match(line)
        if _ERROR.match(body):
            fragments.append(("class:error", line))
        elif body.startswith(("# ", "## ")) or (
                body.endswith(":") and body[:1] not in ("", " ", "\t")):
            fragments.append(("class:heading", line))
        elif body.startswith("(") and body.endswith(")"):
            fragments.append(("class:reason", line))
        elif label:
            fragments.append(("class:heading", label.group()))
            fragments.extend(_tokens(line[label.end():]))
        else:
            fragments.extend(_tokens(line))
    return FormattedText(fragments)


def _tokens(line: str) -> list[tuple[str, str]]:
    fragments: list[tuple[str, str]] = []
    start = 0
    for match in _TOKEN.finditer(line):
        if match.start() > start:
            fragments.append(("", line[start:match.start()]))
        fragments.append((f"class:{match.lastgroup}", match.group()))
        start = match.end()
    if start < len(line):
        fragments.append(("", line[start:]))
    return fragments
