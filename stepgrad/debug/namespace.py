"""The names an expression sees: `print`, `display` and `break if` evaluate over these.

Two layers, the second winning: the program's own variables in the frame where it paused
(globals, then locals, as pdb shows them), then the node's tensors at the cursor
(out, ins, grad, grads, node, np; see expr.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug.expr import NodeInfo, compile_expression, evaluate
from stepgrad.debug.frames import FrameStack
from stepgrad.debug.history import History
from stepgrad.debug.state import NodeView

#: A paused frame's variables: (globals, locals).
Frame = tuple[dict[str, Any], dict[str, Any]]


def tensor_namespace(history: History, number: int) -> dict[str, Any]:
    """out, ins, grad, grads and node for event `number` (see expr.py)."""
    event = history[number]
    forward = event if isinstance(event, ev.ForwardStep) else None
    names: dict[str, Any] = {"np": np, "out": None, "ins": [], "grad": None, "grads": [],
                             "node": None}
    if isinstance(event, ev.BackwardStep):
        forward = history.forward_of(event.node_id)
        names["grad"], names["grads"] = event.upstream, list(event.grads)
    if forward is not None:
        names["out"], names["ins"] = forward.output, list(forward.inputs)
    if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
        made = forward.output if forward is not None else event.upstream  # type: ignore[union-attr]
        shape = tuple(made.shape)
        names["node"] = NodeInfo(
            event.op, event.name, event.node_id, event.module_path, event.phase, shape
        )
    return names


def program_namespace(frame: Frame | None) -> dict[str, Any]:
    """The paused program's variables (dunder globals left out)."""
    names: dict[str, Any] = {}
    if frame is not None:
        globals_, locals_ = frame
        names.update((k, v) for k, v in globals_.items() if not k.startswith("__"))
        names.update(locals_)
    return names


def namespace(frame: Frame | None, history: History, number: int) -> dict[str, Any]:
    """The program's variables where it is paused, then the node's tensors at `number`."""
    names = program_namespace(frame)
    if number in history:
        names.update(tensor_namespace(history, number))
    else:
        names["np"] = np
    return names


def node_view(history: History, number: int) -> NodeView:
    """Everything recorded about the node of event `number`."""
    event = history[number]
    node_id = getattr(event, "node_id", None)
    forward = backward = None
    if node_id is not None:
        forward = history.forward_of(node_id)
        backward = event if isinstance(event, ev.BackwardStep) else history.backward_of(node_id)
    return NodeView(number, event, forward, backward, history.tensors(number))


class Inspection:
    """What the session answers about any recorded event (mixed into Session)."""

    history: History
    frames: FrameStack | None  # the user's frames where the program paused (or died)
    _cursor: int

    def tensor_namespace(self, number: int) -> dict[str, Any]:
        """out, ins, grad, grads and node for event `number` (see expr.py)."""
        return tensor_namespace(self.history, number)

    def namespace(self, number: int | None = None) -> dict[str, Any]:
        """The program's variables where it is paused, then the node's tensors."""
        frame = None if self.frames is None else self.frames.pair()
        return namespace(frame, self.history, self._cursor if number is None else number)

    def evaluate(self, text: str, number: int | None = None) -> Any:
        """Evaluate an expression where the cursor is (or at event `number`)."""
        return evaluate(compile_expression(text), self.namespace(number))

    def node_view(self, number: int) -> NodeView:
        """Everything recorded about the node of event `number`."""
        return node_view(self.history, number)
