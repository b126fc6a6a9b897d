"""The bottom toolbar: phase, node k of N, breakpoints and status.

    backward | node 2 of 4 | 1 breakpoint | paused: breakpoint 1 (relu)

"node k of N" counts the nodes of the pass the cursor is in: in a backward pass, the
backward steps since it began out of the nodes it will visit (BackwardBegin knows); in a
forward pass, the forward steps since it began out of those recorded so far ("so far"
when the program may still add more).
"""

from __future__ import annotations

from typing import Any

from prompt_toolkit.formatted_text import FormattedText

from stepgrad import events as ev

#: How far back or ahead of the cursor to look for the edges of a pass.
SCAN = 20_000

SEP = ("class:bottom-toolbar", " | ")


def toolbar(session: Any) -> FormattedText:
    """The toolbar for `session` (called at each redraw of the prompt, while paused)."""
    state = session.state
    phase = getattr(state.event, "phase", None) or "-"
    total = len(state.breakpoints)
    off = sum(1 for b in state.breakpoints if not b.enabled)
    breaks = f"{total} breakpoint{'s' * (total != 1)}" + (f" ({off} off)" if off else "")
    status = state.status + (f": {state.reason}" if state.reason else "")
    bad = state.status == "crashed"
    return FormattedText([
        ("class:bottom-toolbar.key", f" {phase}"), SEP,
        ("class:bottom-toolbar", where_in_pass(session.history, state)), SEP,
        ("class:bottom-toolbar", breaks), SEP,
        ("class:bottom-toolbar.bad" if bad else "class:bottom-toolbar", status),
    ])


def where_in_pass(history: Any, state: Any) -> str:
    """`node k of N` for the cursor's pass, or `event #K of T` outside forward and backward."""
    event, cursor = state.event, state.cursor
    if event is None:
        return "no events yet"
    if event.phase == "backward":
        return _backward_position(history, cursor)
    if event.phase == "forward":
        live = state.status in ("paused", "running")
        return _forward_position(history, cursor, live)
    return f"event #{cursor} of {state.total}"


def _backward_position(history: Any, cursor: int) -> str:
    k = 0
    for number in range(cursor, max(history.first, cursor - SCAN) - 1, -1):
        event = history[number]
        if isinstance(event, ev.BackwardStep):
            k += 1
        elif isinstance(event, ev.BackwardBegin):
            return f"node {k} of {event.nodes}"
    return f"node {k} of ?"


def _forward_position(history: Any, cursor: int, live: bool) -> str:
    k = n = 0
    for number in range(cursor, max(history.first, cursor - SCAN) - 1, -1):
        event = history[number]
        if event.phase != "forward":
            break
        k += isinstance(event, ev.ForwardStep)
    n = k
    ended = False
    for number in range(cursor + 1, min(len(history), cursor + SCAN)):
        event = history[number]
        if event.phase != "forward":
            ended = True
            break
        n += isinstance(event, ev.ForwardStep)
    if k == 0:
        return "before the first node"
    return f"node {k} of {n}" + ("" if ended or not live else " so far")
