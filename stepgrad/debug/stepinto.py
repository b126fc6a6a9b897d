"""`step into`: replaying one op's forward or backward a Python line at a time.

The one owner of the line-by-line state. The session holds a `LineStepper` (so its
`State.line` shows where the replay is) and the commands drive it: `enter` traces the op
on the node's recorded inputs, `move` walks the traced lines, `leave` returns to nodes.
"""

from __future__ import annotations

from typing import Any

from stepgrad import events as ev
from stepgrad.debug.history import History
from stepgrad.debug.source import locals_text, op_source, trace_op
from stepgrad.debug.state import LineState


class LineStepper:
    """The traced lines of one op and the position among them (empty: stepping nodes)."""

    def __init__(self) -> None:
        self.steps: list[Any] = []  # source.LineStep: lineno and locals after that line
        self.op = ""
        self.phase = ""
        self.line: LineState | None = None

    @property
    def active(self) -> bool:
        return bool(self.steps)

    @property
    def position(self) -> int:
        return 0 if self.line is None else self.line.position

    @property
    def locals(self) -> dict[str, Any]:
        """The variables of the current line (what `print` sees during step into)."""
        return self.steps[self.position].locals

    def enter(self, event: ev.Event | None, history: History) -> str | None:
        """Trace the op of `event`; returns why it cannot be entered, or None."""
        if not isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
            return "step into replays an op: go to a forward or backward step first"
        forward = history.forward_of(event.node_id)
        if forward is None:
            return "the forward step of this node was dropped from history"
        if "torch" in forward.attrs:  # a node of a torch program (stepgrad.torchbridge)
            return (f"{event.op} is PyTorch's compiled code: no Python lines to step through "
                    f"(`list` shows its call and its autograd node)")
        upstream = event.upstream if isinstance(event, ev.BackwardStep) else None
        steps, _ = trace_op(event.op, event.phase, forward.inputs, forward.attrs, upstream)
        if not steps:
            return f"{event.op}.{event.phase} has no Python lines to step through"
        self.steps, self.op, self.phase = steps, event.op, event.phase
        self._set(0)
        return None

    def move(self, delta: int) -> bool:
        """Move `delta` lines (back when negative); False when it ran past the last line,
        which leaves the replay."""
        position = self.position + delta
        if position >= len(self.steps):
            self.leave()
            return False
        self._set(max(0, position))
        return True

    def leave(self) -> bool:
        """Back to stepping nodes; True if a replay was going on."""
        was = self.active
        self.steps, self.line = [], None
        return was

    def _set(self, position: int) -> None:
        step = self.steps[position]
        self.line = LineState(
            self.op, self.phase, step.lineno, position, len(self.steps), locals_text(step.locals)
        )

    def text(self) -> str:
        """The current line with its code and locals, as shown after each move."""
        line = self.line
        assert line is not None
        lines, first, _ = op_source(line.op, line.phase)
        index = line.lineno - first
        code = lines[index].rstrip() if 0 <= index < len(lines) else ""
        return (
            f"{line.op}.{line.phase} line {line.lineno} ({line.position + 1}/{line.steps}): "
            f"{code.strip()}\n{line.locals_text}"
        )
