"""The messages that reach the app from other threads.

Only messages cross threads (Textual's workers guide): the command worker, the program's
thread (through the session's listener) and the output capture post these; the app's
handlers push what they carry down into the widgets. Everything the UI shows of the
history arrives here already computed, so the UI thread never reads `session.history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from stepgrad.graph import PassGraph
from stepgrad.tui.passes import Pass
from stepgrad.tui.widgets.inspector import Selection


@dataclass(frozen=True)
class View:
    """What the screen shows at one stop, computed in the command worker.

    `state` is the session's State; `model` the tape's pass holding the cursor (None
    before the first event); `selection` the cursor's node for the inspector (None when
    the cursor is not in the recorded history)."""

    state: Any
    model: Pass | None = None
    selection: Selection | None = None
    graph: PassGraph | None = None   # the Graph view's nodes (around the cursor's node)


class CommandDone(Message):
    """The worker ran command `line` ("(start)" for the program's start, empty for Enter
    on an empty line, which repeats the last move); `output` is its text."""

    def __init__(self, line: str, output: str, view: View) -> None:
        self.line, self.output, self.view = line, output, view
        super().__init__()


class ViewReady(Message):
    """A fresh view with no command behind it (the program stopped or ended by itself)."""

    def __init__(self, view: View) -> None:
        self.view = view
        super().__init__()


class Inspected(Message):
    """The node the user selected on the tape, ready for the inspector (None: it is gone)."""

    def __init__(self, selection: Selection | None) -> None:
        self.selection = selection
        super().__init__()


class StateChanged(Message):
    """The session reported a stop or progress (posted from the program's thread)."""

    def __init__(self, state: Any) -> None:
        self.state = state
        super().__init__()


class OutputWaiting(Message):
    """The program wrote to its stdout or stderr: the app takes the text from `ProgramOutput`
    (one message per batch of writes, not one per `print`)."""


class CommandProgress(Message):
    """A long command (a gradient check) says how far it got (posted by the worker)."""

    def __init__(self, line: str) -> None:
        self.line = line
        super().__init__()
