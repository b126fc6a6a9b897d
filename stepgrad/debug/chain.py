"""The chain rule at one backward step, as numbers a front end can show.

    sent grad = upstream grad x local derivative

For an elementwise op the local derivative d out / d input is itself an array shaped like
the output: the op's own backward given a gradient of ones (re-run on the node's recorded
inputs). Ops that mix elements (matmul, softmax, conv2d, ...) have a Jacobian instead,
which is not shown as an array; their docstrings give the formula.
"""

from __future__ import annotations

import numpy as np

from stepgrad import events as ev
from stepgrad.function import Context
from stepgrad.ops.registry import get

#: Ops whose output element i depends only on the input elements at position i.
ELEMENTWISE = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "neg",
        "pow",
        "exp",
        "log",
        "sqrt",
        "abs",
        "relu",
        "leaky_relu",
        "sigmoid",
        "tanh",
        # the PyTorch drop-in's elementwise ops (issue 11)
        "sin",
        "cos",
        "clamp",
        "maximum",
        "minimum",
        "where",
        "cast",
        "gelu",
        "silu",
    }
)


def local_derivatives(forward: ev.ForwardStep | None) -> list[np.ndarray | None]:
    """d out / d input for each input of an elementwise node, shaped like the output
    (None for an input that takes no gradient); [] for ops that mix elements."""
    if forward is not None and "torch" in forward.attrs:  # a torch node: torch re-runs it
        from stepgrad.torchbridge import local_derivatives as torch_local_derivatives

        return torch_local_derivatives(forward)
    if forward is None or forward.op not in ELEMENTWISE:
        return []
    cls = get(forward.op)
    ctx = Context()
    arrays = [np.array(a, dtype=np.float64) for a in forward.inputs]
    ctx.needs_input_grad = tuple(True for _ in arrays)
    with np.errstate(all="ignore"):
        cls.forward(ctx, *arrays, **forward.attrs)
        sent = cls.backward(ctx, np.ones(np.shape(forward.output)))
    sent = sent if isinstance(sent, tuple) else (sent,)
    shape = np.shape(forward.output)
    return [None if s is None else np.broadcast_to(s, shape) for s in sent]


def received(history: object, node_id: int, upto: int) -> list[tuple[int, str, np.ndarray]]:
    """The gradients node `node_id` received in the backward pass that holds event `upto`,
    one per use, oldest first: (history index of the consumer's BackwardStep, consumer
    name, the gradient it sent). Their sum is the node's gradient (the multivariable chain
    rule): a value used twice, as in `h * h`, receives two."""
    found = []
    for number in range(upto, history.first - 1, -1):  # type: ignore[attr-defined]
        past = history[number]  # type: ignore[index]
        if isinstance(past, ev.BackwardBegin):
            break
        if isinstance(past, ev.BackwardStep):
            for input_id, grad in reversed(list(zip(past.input_ids, past.grads))):
                if input_id == node_id and grad is not None:
                    found.append((number, past.name, grad))
    return list(reversed(found))


def contributions(history: object, cursor: int, event: ev.BackwardStep) -> dict[int, list[str]]:
    """For inputs used more than once: the backward steps of this pass so far (up to
    `cursor`) that sent them a gradient, oldest first, as `name (#K)`."""
    found: dict[int, list[str]] = {}
    for i, (input_id, accumulated) in enumerate(zip(event.input_ids, event.accumulated)):
        if accumulated:
            senders = dict.fromkeys((number, name) for number, name, _ in
                                    received(history, input_id, cursor))
            found[i] = [f"{name} (#{number})" for number, name in senders]
    return found
