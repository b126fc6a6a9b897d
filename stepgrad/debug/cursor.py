"""The cursor's moves through recorded history: forward, back, to a breakpoint, to #K.

Moving back never re-runs anything: the cursor walks the History. Moving forward walks
recorded events first (asking the same stop rule and breakpoints the live program would)
and resumes the program only when it passes the newest event. `Session` takes these moves
from `CursorMoves`; what they need of it is declared below.
"""

from __future__ import annotations

from collections.abc import Callable

from stepgrad.debug import rules
from stepgrad.debug.breakpoints import Breakpoint
from stepgrad.debug.history import History, format_size


class CursorMoves:
    """move, back, rcontinue and goto over the session's history."""

    history: History
    breakpoints: list[Breakpoint]
    _cursor: int
    _reason: str
    _status: str
    _end_reason: str
    _notify: Callable[[], None]
    _resume: Callable[[rules.Rule], None]
    _breakpoint_hit: Callable[..., str | None]

    def move(self, rule: rules.Rule) -> str:
        """Move forward by `rule`: through recorded history first, then the live program."""
        for number, event in self.history.numbered(self._cursor + 1):
            reason = rule(number, event) or self._breakpoint_hit(number, event, count=False)
            if reason:
                self._cursor, self._reason = number, reason
                self._notify()
                return reason
        self._cursor = self.history.last
        if self._status == "paused":
            self._resume(rule)
            return self._reason
        if self._status == "replay":
            self._reason = "end of the recorded trace"
        elif self._status in ("finished", "crashed", "closed"):
            self._reason = f"end of history: {self._end_reason}"
        self._notify()
        return self._reason

    def back(self, count: int = 1) -> str:
        """Move the cursor `count` events back through history (nothing re-runs)."""
        target = self._cursor - count
        if target < self.history.first:
            if self.history.dropped:
                self._cursor = self.history.first
                return (
                    f"cannot go back past #{self.history.first}: older events were dropped to "
                    f"stay under the {format_size(self.history.limit)} history limit "
                    f"('set history 1GB' keeps more)"
                )
            self._cursor = max(self.history.first, 0) if len(self.history) else -1
            return "at the first recorded event"
        self._cursor, self._reason = target, "back"
        self._notify()
        return "back"

    def rcontinue(self) -> str:
        """Move back to the previous event where a breakpoint matches."""
        if not any(bp.enabled for bp in self.breakpoints):
            return "no enabled breakpoints to go back to"
        for number in range(self._cursor - 1, self.history.first - 1, -1):
            reason = self._breakpoint_hit(number, self.history[number], count=False)
            if reason:
                self._cursor, self._reason = number, f"back to {reason}"
                self._notify()
                return self._reason
        self._reason = ""  # the cursor stays: it is not a breakpoint hit
        return f"no earlier breakpoint hit in history; staying at #{self._cursor}"

    def goto(self, number: int) -> str:
        """Go to event #number: in history directly, or by running forward to it."""
        if number in self.history:
            self._cursor, self._reason = number, f"at #{number}"
            self._notify()
            return self._reason
        if number < self.history.first:
            return (
                f"#{number} was dropped to keep the history under "
                f"{format_size(self.history.limit)}; the oldest kept is #{self.history.first}"
            )
        if self._status != "paused":
            return f"#{number} was never recorded: the newest event is #{self.history.last}"
        return self.move(rules.Goto(number))


__all__ = ["CursorMoves"]
