"""Passes: the stretch of history one forward-backward-step of training makes.

A pass starts after an iteration or epoch mark, or where a forward follows a backward or
an optimizer step, so a training loop shows one iteration's graph at a time. The tape, the
`graph` command and the Graph view all cut history with these two functions.
"""

from __future__ import annotations

from typing import Protocol

from stepgrad import events as ev

#: A pass longer than this many events is cut (its start moves up) so scans stay cheap.
MAX_PASS = 50_000


class HistoryLike(Protocol):
    first: int

    def __len__(self) -> int: ...
    def __getitem__(self, index: int) -> ev.Event: ...


def starts_pass(previous: ev.Event, current: ev.Event) -> bool:
    """Whether `current` opens a new pass after `previous`."""
    if current.phase == "loop":
        return False
    if previous.phase == "loop":
        return True
    if previous.phase in ("backward", "optimizer") and previous.kind != "zero_grad":
        return current.phase == "forward" or current.kind == "zero_grad"
    return False


def pass_start(history: HistoryLike, index: int) -> int:
    """The first history index of the pass holding event `index`."""
    first = max(history.first, index - MAX_PASS)
    i = index
    current = history[i]
    while i > first:
        previous = history[i - 1]
        if starts_pass(previous, current):
            break
        i, current = i - 1, previous
    return i


def pass_range(history: HistoryLike, index: int) -> range:
    """The history indices of the whole pass holding event `index` (up to what happened)."""
    start = pass_start(history, index)
    stop, end = index + 1, min(len(history), start + MAX_PASS)
    while stop < end and not starts_pass(history[stop - 1], history[stop]):
        stop += 1
    return range(start, stop)
