"""The session's breakpoints: numbered as set, checked against what the program has, and
asked at every event while any exist (mixed into Session).

A name that matches nothing known (no node, module, parameter or variable of that name)
is refused with "did you mean ..." when something close exists, and otherwise kept as
pending and said so, as gdb does: the program may not have made it yet.
"""

from __future__ import annotations

import difflib
import linecache
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from stepgrad import events as ev
from stepgrad.debug import matchers
from stepgrad.debug.breakpoints import Breakpoint, first_hit, parse
from stepgrad.debug.program import user_frame

#: How far back the names a breakpoint may mean are looked for.
NAME_LOOKBACK = 20_000
_MODULE_EVENTS = (ev.ModuleEnter, ev.ModuleExit)
#: The name the engine gives a tensor nobody named.
_UNNAMED = re.compile(r"t\d+")


class BreakpointTable:
    """add, find and ask the breakpoints (what Session needs is declared below)."""

    breakpoints: list[Breakpoint]
    messages: list[str]
    history: Any
    _next_breakpoint: int
    _cursor: int
    namespace: Callable[..., dict[str, Any]]
    tensor_namespace: Callable[[int], dict[str, Any]]

    def add_breakpoint(self, spec: str, temporary: bool = False) -> Breakpoint:
        """Set a breakpoint from its spec (see breakpoints.py); ValueError says what is wrong."""
        bp = parse(self._next_breakpoint, spec, temporary)
        self._check_place(bp)
        self._next_breakpoint += 1
        self.breakpoints.append(bp)
        return bp

    def find_breakpoint(self, number: int) -> Breakpoint:
        for bp in self.breakpoints:
            if bp.number == number:
                return bp
        known = ", ".join(str(bp.number) for bp in self.breakpoints) or "none"
        raise KeyError(f"no breakpoint number {number} (set: {known})")

    def _check_place(self, bp: Breakpoint) -> None:
        matcher = bp.matcher
        if isinstance(matcher, matchers.Line):
            if matcher.file is None:
                matcher.file = self._current_file()
            _check_line(matcher)
        if not isinstance(matcher, matchers.Name) or matchers.is_node_name(matcher.name):
            return
        known = self.known_names()
        if matcher.name in known:
            return
        close = difflib.get_close_matches(matcher.name, sorted(known), n=3, cutoff=0.6)
        if close:
            choices = " or ".join(repr(c) for c in close)
            raise ValueError(f"nothing is named {matcher.name!r}; did you mean {choices}?")
        bp.pending = (
            f"nothing named {matcher.name} has been seen yet; it will stop when a node, "
            f"module or tensor of that name appears"
        )

    def known_names(self) -> set[str]:
        """Names of nodes, modules, parameters and tensors seen so far or in the program's
        variables where it is paused."""
        names: set[str] = set()
        history = self.history
        for _, event in history.numbered(max(history.first, history.last - NAME_LOOKBACK)):
            if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
                names.add(event.name)
                names.add(event.op)  # torch ops stepgrad's registry lacks (torchbridge)
                names.update(event.input_names)
                names.update(_prefixes(event.module_path))
            elif isinstance(event, ev.ModuleEnter):
                names.add(event.path)
        names.update(_names_in_variables(self.namespace()))
        names.discard("")
        return names

    def _current_file(self) -> str | None:
        """The user's file where the program is (for `break LINE`), if known."""
        event = self.history[self._cursor] if self._cursor in self.history else None
        if getattr(event, "file", ""):
            return str(event.file)  # type: ignore[union-attr]
        file = self.namespace().get("__file__")
        return file if isinstance(file, str) else None

    def _breakpoint_hit(self, number: int, event: ev.Event, count: bool = True) -> str | None:
        """The stop reason of the first breakpoint that stops at event `number`, or None. A
        breakpoint whose test cannot be decided there is disabled and said once."""
        if not self.breakpoints:
            return None
        if count and isinstance(event, ev.ForwardStep):
            self._name_variables(event)
        hit, broken = first_hit(
            self.breakpoints,
            event,
            self._previous(number),
            lambda: self.tensor_namespace(number),
            count,
        )
        for bp in broken:
            self.messages.append(
                f"breakpoint {bp.number} ({bp.spec}) is disabled: its "
                f"condition failed at #{number}: {bp.broken}"
            )
        if hit is None:
            return None
        hit.pending = None
        if hit.temporary and count:
            self.breakpoints.remove(hit)
        return f"breakpoint {hit.number} ({hit.spec})"

    def _name_variables(self, event: ev.ForwardStep) -> None:
        """Live, in the program's thread: a `break W1` whose W1 is a variable holding an
        unnamed tensor (t17) learns that name, and the tensor takes the variable's name."""
        unnamed = [n for n in event.input_names if _UNNAMED.fullmatch(n)]
        wanted = [
            bp.matcher
            for bp in self.breakpoints
            if isinstance(bp.matcher, matchers.Name) and bp.enabled
        ]
        if not unnamed or not wanted:
            return
        frame = user_frame(sys._getframe())
        if frame is None:
            return
        for matcher in wanted:
            value = frame.f_locals.get(matcher.name, frame.f_globals.get(matcher.name))
            name = getattr(value, "name", None)
            if value is not None and isinstance(name, str) and name in unnamed:
                matcher.aliases.add(name)
                value.name = matcher.name

    def _previous(self, number: int) -> ev.Event | None:
        """The event before `number`, looking past module entries and exits (a line that
        calls a model makes nodes in several modules: they are still one run of the line)."""
        for earlier in range(number - 1, max(self.history.first, number - 64) - 1, -1):
            event = self.history[earlier]
            if not isinstance(event, _MODULE_EVENTS):
                return event
        return None


def _check_line(matcher: matchers.Line) -> None:
    """Refuse a line that can make no node: past the end of the file, blank, a comment."""
    if matcher.file is None or not os.path.isfile(matcher.file):
        return  # a file known only by its tail (train.py:12) is checked when it runs
    text = linecache.getline(matcher.file, matcher.line).strip()
    where = f"line {matcher.line} of {os.path.basename(matcher.file)}"
    if not text:
        raise ValueError(f"{where} is blank or past the end of the file: no node is made there")
    if text.startswith("#"):
        raise ValueError(f"{where} is a comment: no node is made there")


def _prefixes(path: str) -> list[str]:
    """`encoder.0.fc` -> encoder, encoder.0, encoder.0.fc"""
    parts = path.split(".") if path else []
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def _names_in_variables(namespace: dict[str, Any]) -> set[str]:
    """Variable names, tensors' own names, and the modules and parameters of models."""
    names: set[str] = set()
    for variable, value in list(namespace.items()):
        names.add(variable)
        name = getattr(value, "name", None)
        if isinstance(name, str) and hasattr(value, "requires_grad"):
            names.add(name)
        named_modules = getattr(value, "named_modules", None)
        if callable(named_modules) and hasattr(value, "named_parameters"):
            try:
                names.update(path for path, _ in named_modules())
                names.update(path for path, _ in value.named_parameters())
            except Exception:  # noqa: BLE001 (a user's module may misbehave; names are a hint)
                continue
    return names
