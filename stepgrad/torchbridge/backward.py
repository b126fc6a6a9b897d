"""Backward steps of a torch program, one per recorded op, from hooks on autograd nodes.

One op the user called can make several autograd nodes: `F.linear` makes AddmmBackward0
and a TBackward0 for the weight, `F.cross_entropy` makes NllLossBackward0 and
LogSoftmaxBackward0. When an op is recorded, `watch` walks the autograd graph from its
output's node down to the nodes of its inputs (or their AccumulateGrad, for leaves): the
nodes in between are the op's own. A hook on each of them (`Node.register_hook`, which
receives the gradients a node sends and the ones it received) collects

    upstream   what the op's output received (the first node's grad_outputs), and
    sent       what crossed each edge into one of the op's inputs, summed per input,

and when the last of the op's nodes has run, the op's BackwardStep is emitted, in the
same shape as the stepgrad engine's: upstream, one gradient per input, accumulation into
values used more than once, broadcast axes summed.
"""

from __future__ import annotations

import weakref
from functools import partial
from typing import Any

import numpy as np
import torch

from stepgrad import events
from stepgrad.torchbridge.state import Made, local, snapshot

#: An op whose autograd subgraph is bigger than this is not followed (its backward is not
#: shown); built-in ops make one to three nodes.
MAX_NODES = 64

#: Ops whose backward sums over broadcast axes (reported in `summed_axes`).
BROADCASTING = frozenset({"add", "sub", "rsub", "mul", "div", "rdiv", "pow", "where",
                          "maximum", "minimum", "add_", "sub_", "mul_", "div_"})

_no_torch_function = torch._C.DisableTorchFunction


class Record:
    """One op waiting for its backward: where its gradients go, and what arrived so far."""

    __slots__ = ("made", "op", "input_ids", "input_names", "leaves", "summed", "nodes",
                 "edges", "output_nr", "left", "upstream", "sent", "had_grad")

    def __init__(self, made: Made, op: str, input_ids: tuple[int, ...],
                 input_names: tuple[str, ...], leaves: tuple[Any, ...],
                 summed: tuple[tuple[int, ...], ...], output_nr: int) -> None:
        self.made, self.op, self.output_nr = made, op, output_nr
        self.input_ids, self.input_names = input_ids, input_names
        self.leaves, self.summed = leaves, summed  # weak references to leaf inputs, or None
        self.nodes = 0
        self.edges: dict[int, list[tuple[int, int]]] = {}  # node index -> [(edge, input)]
        self.left = 0
        self.upstream: np.ndarray | None = None
        self.sent: list[np.ndarray | None] = [None] * len(input_ids)
        self.had_grad: list[bool] = [False] * len(input_ids)  # leaves, as the pass reached us


def watch(made: Made, op: str, output: torch.Tensor, inputs: list[torch.Tensor],
          input_ids: tuple[int, ...], input_names: tuple[str, ...]) -> None:
    """Hook the autograd nodes of the op that made `output` (see the module docstring)."""
    targets: dict[Any, list[int]] = {}  # (node, output_nr) or id(leaf) -> input positions
    for i, tensor in enumerate(inputs):
        if tensor.requires_grad:
            fn = tensor.grad_fn
            targets.setdefault((fn, tensor.output_nr) if fn is not None else id(tensor),
                               []).append(i)
    own = _own_nodes(output.grad_fn, targets)
    if own is None:
        return
    nodes, edges = own
    leaves = tuple(weakref.ref(t) if t.grad_fn is None and t.requires_grad else None
                   for t in inputs)
    shape = tuple(output.shape)
    summed = tuple(_broadcast_axes(tuple(t.shape), shape) if op in BROADCASTING else ()
                   for t in inputs)
    record = Record(made, op, input_ids, input_names, leaves, summed, output.output_nr)
    record.nodes = record.left = len(nodes)
    record.edges = edges
    for index, node in enumerate(nodes):
        node.register_hook(partial(_on_node, record, index))
    local.watched += 1


Edges = dict[int, list[tuple[int, int]]]  # node index -> [(edge number, input position)]


def _own_nodes(first: Any, targets: dict[Any, list[int]]) -> tuple[list[Any], Edges] | None:
    """The op's autograd nodes (from its output's node down to its inputs' nodes), and for
    each of them which edges lead into which input. None when the walk goes too far."""
    nodes, seen, edges = [first], {first}, {}  # type: tuple[list[Any], set[Any], Edges]
    used: dict[Any, int] = {}  # target -> edges into it so far (x * x: two edges into x)
    index = 0
    while index < len(nodes):
        node = nodes[index]
        for edge, (child, nr) in enumerate(node.next_functions):
            if child is None:
                continue
            key: Any = (child, nr)
            positions = targets.get(key)
            if positions is None and hasattr(child, "variable"):  # AccumulateGrad of a leaf
                key = id(child.variable)
                positions = targets.get(key)
            if positions is not None:
                n = used[key] = used.get(key, -1) + 1
                edges.setdefault(index, []).append((edge, positions[min(n, len(positions) - 1)]))
            elif child not in seen and not hasattr(child, "variable"):
                seen.add(child)
                nodes.append(child)
                if len(nodes) > MAX_NODES:
                    return None
        index += 1
    return nodes, edges


def _broadcast_axes(shape: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of `out` a gradient is summed over to fit an input of `shape`."""
    if shape == out or len(shape) > len(out):
        return ()
    lead = len(out) - len(shape)
    return tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape)
                                      if n == 1 and out[lead + i] != 1)


def _on_node(record: Record, index: int, grad_inputs: tuple[Any, ...],
             grad_outputs: tuple[Any, ...]) -> None:
    """A hook on one of the op's nodes: note what it received and sent; emit when done."""
    if not local.active:
        return
    try:
        step = _note(record, index, grad_inputs, grad_outputs)
    except Exception:  # noqa: BLE001 (the bridge never breaks the program's backward)
        _reset(record)
        return
    if step is not None and events.listeners:
        events.emit(step)


def _note(record: Record, index: int, grad_inputs: tuple[Any, ...],
          grad_outputs: tuple[Any, ...]) -> events.BackwardStep | None:
    """Take in one node's gradients; the op's BackwardStep when it was the op's last node."""
    with _no_torch_function():
        if record.left == record.nodes:  # the op's first node: its inputs get nothing yet
            local.in_flight.append(record)
            record.had_grad = [leaf is not None and _has_grad(leaf()) for leaf in record.leaves]
        if index == 0:
            upstream = grad_outputs[record.output_nr] if record.output_nr < len(
                grad_outputs) else None
            record.upstream = None if upstream is None else snapshot(upstream)
        sent = record.sent
        for edge, position in record.edges.get(index, ()):
            grad = grad_inputs[edge] if edge < len(grad_inputs) else None
            if grad is not None:
                grad = snapshot(grad)
                sent[position] = grad if sent[position] is None else sent[position] + grad
        record.left -= 1
        return _finish(record) if record.left == 0 else None


def _has_grad(leaf: torch.Tensor | None) -> bool:
    """A leaf that already holds a gradient (from earlier in this pass, or never zeroed)."""
    return leaf is not None and leaf.grad is not None


def _finish(record: Record) -> events.BackwardStep:
    """The op's BackwardStep, and the record made ready for another backward pass."""
    received, accumulated = local.received, []
    for i, (node_id, grad) in enumerate(zip(record.input_ids, record.sent)):
        already = False
        if grad is not None:
            already = node_id in received or record.had_grad[i]
            received.add(node_id)
        accumulated.append(already)
    made = record.made
    upstream = record.upstream
    if upstream is None:
        upstream = np.zeros_like(made.array)
    step = events.BackwardStep(
        seq=events.next_seq(), depth=made.depth, node_id=made.node_id, op=record.op,
        name=made.name, upstream=upstream, grads=tuple(record.sent),
        input_ids=record.input_ids, input_names=record.input_names,
        accumulated=tuple(accumulated), summed_axes=record.summed,
        module_path=made.module_path, file=made.file, line=made.line)
    _reset(record)
    if record in local.in_flight:
        local.in_flight.remove(record)
    return step


def _reset(record: Record) -> None:
    record.left, record.upstream = record.nodes, None
    record.sent = [None] * len(record.input_ids)


def begin() -> None:
    """A backward pass starts: nothing has received a gradient yet."""
    local.received.clear()
    for record in local.in_flight:
        _reset(record)
    local.in_flight.clear()


def end() -> None:
    """A backward pass ended; ops whose nodes did not all run (a partial `autograd.grad`)
    are forgotten until the next pass."""
    begin()
    local.watched = 0
