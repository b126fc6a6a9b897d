"""Prediction questions: the learner predicts a number before the debugger shows it.

A lesson lists `questions`; the tutor asks each one at the first event it fits (a node's
forward or backward step, or an optimizer step) and hides what the step would show (the
gradients sent, the output, the update) until the learner answers with `predict` or skips.
The right answer comes from the op as stepgrad shipped it, run again on the recorded inputs,
so a question is right even while a bug breaks the engine; the learner is then told that the
engine disagrees.

    grad_shape("linear", 1, "What shape is the gradient the weight receives?")
    window_grads("max_pool2d")        # the four gradients of one pooling window
    first_step_over_lr("Adam")        # |update| / lr of Adam's first step (1 with correction)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.lessons.report import short_number as num

Numbers = list[float]


@dataclass(frozen=True)
class Moment:
    """The event a question is asked at, with its node's forward step (None if unknown)."""

    event: Any
    forward: events.ForwardStep | None

    def true_grads(self) -> list[np.ndarray | None]:
        """What each input should receive: the shipped forward and backward, run again on
        the recorded inputs (repeated inputs, such as e in e * e, get the sum of their paths)."""
        from stepgrad.function import Context
        from stepgrad.lessons.base import pristine

        forward, step = self.forward, self.event
        assert forward is not None
        arrays = [np.array(a, dtype=np.float64) for a in forward.inputs]
        ctx = Context()
        ctx.needs_input_grad = tuple(forward.input_requires_grad)
        pristine(step.op, "forward")(ctx, *arrays, **forward.attrs)
        grads = list(pristine(step.op, "backward")(ctx, np.asarray(step.upstream, np.float64)))
        total: list[np.ndarray | None] = []
        for node in forward.input_ids:
            same = [g for j, g in enumerate(grads)
                    if forward.input_ids[j] == node and g is not None]
            total.append(sum(same[1:], same[0]) if same else None)
        return total

    def input(self, index: int) -> np.ndarray:
        assert self.forward is not None
        return np.asarray(self.forward.inputs[index], dtype=np.float64)


@dataclass(frozen=True)
class Question:
    """One prediction, asked at the first event that fits.

    id        stable name (progress counts answers per lesson)
    kind      the event kind it is asked at: "forward", "backward" or "optimizer_step"
    op        the node's op, or the optimizer's class name for an optimizer step
    prompt    what is asked, formatted from the moment by `facts`
    truth     the right answer, as numbers
    explain   said after the answer, formatted with the facts and `truth`
    hides     what the step must not show until the answer: "grads", "output" or "update"
    fits      an extra condition on the moment (for example: both inputs are the same node)
    """

    id: str
    kind: str
    op: str
    prompt: str
    truth: Callable[[Moment], Numbers]
    explain: str
    hides: str = "grads"
    facts: Callable[[Moment], dict[str, str]] = lambda m: {}
    fits: Callable[[Moment], bool] = lambda m: True
    tolerance: float = 0.02

    def matches(self, moment: Moment) -> bool:
        event = moment.event
        if getattr(event, "kind", None) != self.kind:
            return False
        name = getattr(event, "op", None) or getattr(event, "optimizer", None)
        needs_forward = self.kind == "backward"
        return name == self.op and (moment.forward is not None or not needs_forward) \
            and self.fits(moment)

    def ask(self, moment: Moment, place: str = "") -> str:
        """The question as shown; `place` says which of a step's questions it is
        ("question 1 of 2 at this step")."""
        where = f"({place}) " if place else ""
        return f"Predict: {where}" + self.prompt.format(**self._facts(moment)) + \
            "  (predict NUMBER..., or predict skip)"

    def check(self, moment: Moment, said: Sequence[float]) -> tuple[bool, str]:
        """(right, what to tell the learner) for the numbers `said`."""
        truth = [float(t) if abs(t) > 1e-12 else 0.0 for t in self.truth(moment)]
        facts = {**self._facts(moment), "truth": " ".join(num(t) for t in truth)}
        right = len(said) == len(truth) and all(
            math.isfinite(s) and abs(s - t) <= self.tolerance * max(abs(t), 1e-3) + 1e-6
            for s, t in zip(said, truth))
        verdict = "Right" if right else f"Not quite (you said {' '.join(num(s) for s in said)})"
        return right, f"{verdict}: {facts['truth']}. " + self.explain.format(**facts)

    def _facts(self, moment: Moment) -> dict[str, str]:
        event = moment.event
        facts = {"name": getattr(event, "name", ""), "op": self.op}
        if moment.forward is not None:
            facts["inputs"] = ", ".join(moment.forward.input_names)
        return {**facts, **self.facts(moment)}


# -- builders for the kinds of question the lessons ask ---------------------------------------

def grad_shape(op: str, index: int, prompt: str, explain: str, qid: str = "") -> Question:
    """At `op`'s backward: the shape of the gradient input `index` receives."""
    return Question(
        qid or f"{op}-grad-shape-{index}", "backward", op, prompt,
        truth=lambda m: [float(n) for n in m.input(index).shape], explain=explain,
        facts=lambda m: _node_facts(m, index))


def grad_value(op: str, index: int, prompt: str, explain: str,
               pick: Callable[[np.ndarray], float] = lambda g: float(g.reshape(-1)[0]),
               fits: Callable[[Moment], bool] = lambda m: True, qid: str = "") -> Question:
    """At `op`'s backward: one number of the gradient input `index` receives (`pick`)."""
    def truth(moment: Moment) -> Numbers:
        grad = moment.true_grads()[index]
        return [pick(np.zeros_like(moment.input(index)) if grad is None else grad)]

    return Question(qid or f"{op}-grad-{index}", "backward", op, prompt, truth, explain,
                    facts=lambda m: _node_facts(m, index), fits=fits)


def window_grads(op: str = "max_pool2d") -> Question:
    """At max-pool's backward: the gradient each element of one 2 x 2 window gets (the
    first window of example 0 whose output receives a non-zero gradient)."""
    def window(moment: Moment) -> tuple[int, int, int]:
        upstream = np.asarray(moment.event.upstream, dtype=np.float64)[0]
        nonzero = np.argwhere(upstream != 0)
        c, i, j = (int(v) for v in nonzero[0]) if len(nonzero) else (0, 0, 0)
        return c, i, j

    def truth(moment: Moment) -> Numbers:
        grad, (c, i, j) = moment.true_grads()[0], window(moment)
        block = grad[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2] if grad is not None else None
        return [] if block is None else [float(v) for v in block.ravel()]

    def facts(moment: Moment) -> dict[str, str]:
        c, i, j = window(moment)
        values = moment.input(0)[0, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
        upstream = float(np.asarray(moment.event.upstream)[0, c, i, j])
        return {"window": "[" + ", ".join(num(v) for v in values.ravel()) + "]",
                "u": num(upstream), "where": f"channel {c}, window ({i}, {j})"}

    return Question(
        f"{op}-window", "backward", op,
        "in example 0, {where} of the input holds {window} (row by row); its output "
        "receives upstream gradient {u}. What gradient does each of the 4 elements receive "
        "(4 numbers, row by row)?", truth,
        "Only the window's maximum was passed on by the forward, so only it receives the "
        "gradient; the other three elements did not affect the loss and receive 0.",
        facts=facts)


def forward_count(op: str, prompt: str, explain: str,
                  count: Callable[[np.ndarray], float]) -> Question:
    """At `op`'s forward: a count over example 0 of the output (hidden until answered)."""
    def truth(moment: Moment) -> Numbers:
        return [count(np.asarray(moment.event.output, dtype=np.float64)[0])]

    return Question(f"{op}-forward-count", "forward", op, prompt, truth, explain,
                    hides="output", facts=lambda m: _forward_facts(m.event))


def output_shape(op: str, prompt: str, explain: str) -> Question:
    """At `op`'s forward: the output's shape (hidden until answered)."""
    return Question(f"{op}-output-shape", "forward", op, prompt,
                    truth=lambda m: [float(n) for n in np.shape(m.event.output)],
                    explain=explain, hides="output", facts=lambda m: _forward_facts(m.event))


def first_step(optimizer: str, prompt: str, explain: str,
               truth: Callable[[float, float], float], qid: str = "") -> Question:
    """At the optimizer's first step: a number about one weight with a non-zero gradient
    (`truth(grad, lr)`), before the step's update is shown."""
    def first(moment: Moment) -> tuple[str, float, float]:
        for update in moment.event.params:
            grad = np.asarray(0.0 if update.grad is None else update.grad, dtype=np.float64)
            nonzero = np.flatnonzero(grad)
            if nonzero.size:
                index = np.unravel_index(int(nonzero[0]), grad.shape)
                where = f"{update.name}[{', '.join(str(int(i)) for i in index)}]"
                return where, float(grad.reshape(-1)[nonzero[0]]), float(moment.event.lr)
        return moment.event.params[0].name, 0.0, float(moment.event.lr)

    return Question(
        qid or f"{optimizer}-first-step", "optimizer_step", optimizer, prompt,
        truth=lambda m: [truth(*first(m)[1:])], explain=explain, hides="update",
        facts=lambda m: {"param": first(m)[0], "g": num(first(m)[1]), "lr": num(first(m)[2])},
        fits=lambda m: m.event.step <= 1 and bool(m.event.params))


def dropout_kept() -> Question:
    """At dropout's forward in training: the output of a kept unit (inverted dropout)."""
    def kept(moment: Moment) -> tuple[float, float]:
        x, keep = (np.asarray(a, dtype=np.float64) for a in moment.event.inputs[:2])
        flat = np.flatnonzero(keep.reshape(-1))
        index = int(flat[0]) if flat.size else 0
        return float(x.reshape(-1)[index]), float(moment.event.attrs.get("p", 0.5))

    return Question(
        "dropout-kept", "forward", "dropout",
        "{name} drops each unit with probability p = {p} in training. The first unit it keeps "
        "has input value {x}. What is that unit's output?",
        truth=lambda m: [kept(m)[0] / (1 - kept(m)[1])],
        explain="Inverted dropout divides what it keeps by 1 - p, so the expected output equals "
                "the input, and evaluation (no dropout) sees activations of the same size.",
        hides="output", facts=lambda m: {"x": num(kept(m)[0]), "p": num(kept(m)[1])},
        fits=lambda m: len(m.event.inputs) >= 2 and float(np.asarray(m.event.inputs[1]).max()) > 0)


def batch_norm_mean() -> Question:
    """At batch norm's forward in training: the batch mean of one output channel."""
    def beta(moment: Moment) -> float:
        return float(np.asarray(moment.event.inputs[2], dtype=np.float64).reshape(-1)[0])

    return Question(
        "batch-norm-mean", "forward", "batch_norm",
        "{name} normalises each channel over the batch, then scales by gamma and shifts by "
        "beta; beta[0] = {beta}. What is the mean of output channel 0 over the batch "
        "(and over height and width)?",
        truth=lambda m: [beta(m)],
        explain="After normalising, each channel has mean 0 and variance 1 over the batch; "
                "gamma scales it and beta shifts it, so its mean is exactly beta.",
        hides="output", facts=lambda m: {"beta": num(beta(m))},
        fits=lambda m: bool(m.event.attrs.get("training", False)))


def _node_facts(moment: Moment, index: int) -> dict[str, str]:
    upstream = np.asarray(moment.event.upstream, dtype=np.float64)
    value = moment.input(index)
    other = moment.input(1) if moment.forward is not None and len(moment.forward.inputs) > 1 \
        else value
    return {"x1": num(float(other.reshape(-1)[0])) if other.size else "",
            "input": moment.forward.input_names[index] if moment.forward else "",
            "u0": num(float(upstream.reshape(-1)[0])), "x0": num(float(value.reshape(-1)[0])),
            "n": str(value.size), "upstream": str(tuple(upstream.shape)),
            "shape": str(tuple(value.shape)), "xshape": str(tuple(moment.input(0).shape))}


def _forward_facts(event: events.ForwardStep) -> dict[str, str]:
    first = np.asarray(event.inputs[0])
    return {"name": event.name, "shape": str(tuple(first.shape)),
            "shapes": ", ".join(str(tuple(np.shape(a))) for a in event.inputs),
            "units": str(first[0].size if first.ndim else 1),
            "attrs": ", ".join(f"{k}={v}" for k, v in event.attrs.items())}


def parse(arg: str) -> list[float] | None:
    """`predict` arguments as numbers ("4 2", "4, 2", "(4, 2)"); None for `skip`."""
    text = arg.strip().lower()
    if text in ("skip", "pass", "s"):
        return None
    words = re.sub(r"[,()\[\]]", " ", text).split()
    if not words:
        raise ValueError("predict what? A number, several numbers (a shape: predict 4 2), "
                         "or predict skip")
    try:
        return [float(w) for w in words]
    except ValueError:
        raise ValueError(f"predict takes numbers, for example: predict 0.5 or predict 4 2 "
                         f"(got {arg.strip()!r})") from None


__all__ = ["Moment", "Question", "batch_norm_mean", "dropout_kept", "first_step",
           "forward_count", "grad_shape", "grad_value", "output_shape", "parse", "window_grads"]
