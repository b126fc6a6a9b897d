"""Lesson 1's prediction game: at every backward step, what gradient does an input receive?

The right answer is the chain rule, worked out by finite differences of the op's forward as
stepgrad shipped it, so a learner who is right while a bug breaks the backward is told that
the engine, not they, is wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.lessons.base import pristine
from stepgrad.lessons.report import short_number as _num

_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


class ChainGame:
    """Questions at the backward steps of a scalar expression (lesson 1)."""

    def __init__(self, forward: Mapping[int, events.ForwardStep]) -> None:
        self._forward = forward

    def question(self, event: events.Event | None) -> str | None:
        """At a backward step of a predicting lesson: "what gradient does x receive?"."""
        picked = self._pick(event)
        if picked is None:
            return None
        step, index = picked
        forward = self._forward.get(step.node_id)
        upstream = _scalar(step.upstream)
        where = f"{step.name} = {_expression(step, forward)}"
        return (f"Predict: {where} receives upstream gradient {_num(upstream)}. "
                f"What gradient does {step.input_names[index]} receive? "
                f"(predict NUMBER, or predict skip)")

    def answer(self, event: events.Event | None, number: float) -> tuple[bool | None, str]:
        """(right, what to say): a prediction against the chain rule and against what
        backward actually sent; right is None when there is no question here."""
        picked = self._pick(event)
        if picked is None:
            return None, "There is no question at this step: predictions are asked at " \
                "backward steps."
        step, index = picked
        name = step.input_names[index]
        sent = None if step.grads[index] is None else _scalar(step.grads[index])
        truth = self._chain_rule(step, index)
        sent_text = "nothing" if sent is None else _num(sent)
        if truth is None:  # the forward step was not recorded: compare with backward only
            ok = sent is not None and _close(number, sent)
            return ok, (f"{'Right' if ok else 'Not quite'}: backward sent {sent_text} to "
                        f"{name}; you said {_num(number)}.")
        upstream = _scalar(step.upstream)
        local = f" = upstream {_num(upstream)} x local derivative {_num(truth / upstream)}" \
            if upstream not in (0.0,) else ""
        right, engine_right = _close(number, truth), sent is not None and _close(sent, truth)
        if right and engine_right:
            return right, (f"Right: {name} receives {_num(truth)}{local}. Backward sent "
                           f"{sent_text} too.")
        if right:
            return right, (f"Your prediction matches the chain rule: {name} should receive "
                           f"{_num(truth)}{local} (finite differences agree). But backward sent "
                           f"{sent_text}! Here the engine is wrong, not you: {step.op}'s "
                           f"backward is a suspect (`gradcheck` it).")
        if engine_right:
            return right, (f"Not quite: {name} receives {_num(truth)}{local}; you said "
                           f"{_num(number)}. Backward agrees with the chain rule here.")
        return right, (f"Not quite: the chain rule (finite differences) gives {name} "
                       f"{_num(truth)}{local}; you said {_num(number)}. And backward sent "
                       f"{sent_text}, which is wrong too: look closely at {step.op}'s backward.")

    def _pick(self, event: events.Event | None) -> tuple[events.BackwardStep, int] | None:
        """The input a question is about: one that wants a gradient, a leaf if possible."""
        if not isinstance(event, events.BackwardStep):
            return None
        if event.upstream.size != 1:
            return None
        forward = self._forward.get(event.node_id)
        wants = [i for i in range(len(event.input_ids))
                 if (forward.input_requires_grad[i] if forward else event.grads[i] is not None)]
        if not wants:
            return None
        leaves = [i for i in wants if event.input_ids[i] not in self._forward]
        return event, (leaves or wants)[0]

    def _chain_rule(self, step: events.BackwardStep, index: int) -> float | None:
        """What input `index` should receive: finite differences of the op's own forward."""
        forward = self._forward.get(step.node_id)
        if forward is None:
            return None
        arrays = [np.array(a, dtype=np.float64) for a in forward.inputs]
        upstream = np.asarray(step.upstream, dtype=np.float64)
        op_forward = pristine(step.op, "forward")

        def value() -> float:
            from stepgrad.function import Context

            ctx = Context()
            ctx.needs_input_grad = tuple(True for _ in arrays)
            return float(np.sum(upstream * op_forward(ctx, *arrays, **forward.attrs)))

        target, eps = arrays[index].reshape(-1), 1e-6
        if target.size != 1:
            return None
        saved = target[0]
        target[0] = saved + eps
        plus = value()
        target[0] = saved - eps
        minus = value()
        target[0] = saved
        return (plus - minus) / (2 * eps)


def _scalar(array: Any) -> float:
    return float(np.asarray(array, dtype=np.float64).reshape(-1)[0])


def _close(a: float, b: float) -> bool:
    return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= 1e-2 * max(1.0, abs(b))




def _expression(step: events.BackwardStep, forward: events.ForwardStep | None) -> str:
    names = list(step.input_names)
    if forward is not None:  # constants (auto-named t123) show as their value
        names = [(_num(_scalar(a)) if re.fullmatch(r"t\d+", n) else f"{n} ({_num(_scalar(a))})")
                 if a.size == 1 else n for n, a in zip(names, forward.inputs)]
    symbol = _SYMBOLS.get(step.op)
    if symbol and len(names) == 2:
        return f"{names[0]} {symbol} {names[1]}"
    return f"{step.op}({', '.join(names)})"


__all__ = ["ChainGame"]
