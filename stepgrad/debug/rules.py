"""Stop rules: the moves `step`, `next`, `finish`, `until` and `goto` as small objects.

A rule is asked about every new event (`rule(number, event)`) and answers with the reason
to stop there, or None to go on. Rules hold their own countdowns, so a move that walks
recorded history first and then resumes the live program keeps counting across both.
"""

from __future__ import annotations

from dataclasses import dataclass

from stepgrad import events as ev


class Rule:
    """Never stops (continue): only breakpoints and interrupts will."""

    name = "continue"

    def __call__(self, number: int, event: ev.Event) -> str | None:
        return None


@dataclass
class Step(Rule):
    """Stop after `count` events."""

    count: int = 1
    name = "step"

    def __call__(self, number: int, event: ev.Event) -> str | None:
        self.count -= 1
        return "step" if self.count <= 0 else None


@dataclass
class Next(Rule):
    """Stop at the next event no deeper than `depth` (steps over whole modules)."""

    depth: int
    count: int = 1
    name = "next"

    def __call__(self, number: int, event: ev.Event) -> str | None:
        if event.depth > self.depth:
            return None
        self.count -= 1
        return "next" if self.count <= 0 else None


@dataclass
class Finish(Rule):
    """Stop when the current module's call, or the current forward or backward pass, ends."""

    phase: str
    depth: int
    name = "finish"

    def __call__(self, number: int, event: ev.Event) -> str | None:
        if self.phase == "backward":
            return "backward pass finished" if isinstance(event, ev.BackwardEnd) else None
        if self.depth > 0:
            if isinstance(event, ev.ModuleExit) and event.depth == self.depth - 1:
                return f"module {event.path or '<model>'} finished"
            return None
        if event.phase != "forward":
            return "forward pass finished"
        return None


@dataclass
class Until(Rule):
    """Stop at the end of iteration (or epoch) `target` or later."""

    unit: str
    target: int
    name = "until"

    def __call__(self, number: int, event: ev.Event) -> str | None:
        if (
            self.unit == "iter"
            and isinstance(event, ev.Iteration)
            and event.iteration >= self.target
        ):
            return f"iteration {event.iteration} finished"
        if self.unit == "epoch" and isinstance(event, ev.Epoch) and event.epoch >= self.target:
            return f"epoch {event.epoch} finished"
        return None


@dataclass
class Goto(Rule):
    """Stop at event number `target`."""

    target: int
    name = "goto"

    def __call__(self, number: int, event: ev.Event) -> str | None:
        return f"arrived at #{number}" if number >= self.target else None
