"""User tensors named after their variables from their first use (pdb's reach, issue 10).

After `W1 = sg.randn(3, 4, requires_grad=True)`, the engine knows that tensor only as `t7`.
The first time an op uses it, the session looks in the user's frame for the variable that
holds it and records the event with that name, so the tape, the inspector, `graph`,
`break W1` and `print W1` all say W1 from the first event on. Only leaves that require grad
are looked up (the weights a learner makes by hand; a module's parameters are already
named by their path), and each at most once, so the cost stays off the hot path.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from stepgrad import events as ev
from stepgrad.debug.program import user_frame


class LeafNamer:
    """Called with each ForwardStep before it is recorded; returns it, renamed if needed."""

    def __init__(self) -> None:
        self._tried: set[int] = set()
        self.names: dict[int, str] = {}  # tensor id -> the variable's name found for it

    def backward(self, event: ev.BackwardStep) -> ev.BackwardStep:
        """A backward step names its inputs as their forward did (recorded back then)."""
        names = self.names
        if not names or names.keys().isdisjoint(event.input_ids):
            return event
        renamed = tuple(names.get(i, n) for i, n in zip(event.input_ids, event.input_names))
        return dataclasses.replace(event, input_names=renamed)

    def __call__(self, event: ev.ForwardStep) -> ev.ForwardStep:
        renamed: list[str] | None = None
        for i, (name, needs, node_id) in enumerate(zip(event.input_names,
                                                       event.input_requires_grad,
                                                       event.input_ids)):
            if not needs or name[:1] != "t" or not name[1:].isdigit() or node_id in self._tried:
                continue
            self._tried.add(node_id)
            variable = _name_from_user_frame(node_id)
            if variable is not None:
                self.names[node_id] = variable
                renamed = renamed or list(event.input_names)
                renamed[i] = variable
        if renamed is None:
            return event
        return dataclasses.replace(event, input_names=tuple(renamed))


def _name_from_user_frame(node_id: int) -> str | None:
    """The name of the user's variable holding tensor `node_id` (which then takes it)."""
    frame = user_frame(sys._getframe(1))
    if frame is None:
        return None
    for variable, value in list(frame.f_locals.items()):
        if getattr(value, "_id", None) == node_id and not variable.startswith("_"):
            _rename(value, variable)
            return variable
    return None


def _rename(tensor: Any, variable: str) -> None:
    try:
        tensor.name = variable
    except (AttributeError, TypeError):
        pass
