"""The graph of one pass, as data: nodes (ops and leaves) and data-flow edges.

Two sources build the same model: the events the debugger recorded (`from_events`, what
the `graph` command and the app's Graph view draw) and a live tensor (`from_tensor`, what
`sg.draw_graph(loss)` draws, like micrograd's `draw_dot` and torchviz's `make_dot`).
Drawing lives elsewhere (`stepgrad.graph.text` for the terminal, `stepgrad.graph.dot` for
Graphviz): this module only says what is connected to what, and with which numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from stepgrad import events as ev


@dataclass(frozen=True)
class Node:
    """One box of the drawing.

    kind      "op" (made by an op), "leaf" (data or a constant) or "param" (a leaf that
              requires grad), or "module" once modules are folded
    value     the value when it is a single number, else None
    grad      the gradient's norm once backward has reached the node, else None
    walked    True when backward has already passed through this node in the pass
    """

    id: int
    name: str
    op: str
    shape: tuple[int, ...]
    kind: str
    module: str = ""
    value: float | None = None
    grad: float | None = None
    walked: bool = False


@dataclass
class PassGraph:
    """Nodes by id, edges (source id, target id) in data-flow order, and the edges along
    which a value was broadcast (its shape grew to the op's output shape)."""

    nodes: dict[int, Node] = field(default_factory=dict)
    edges: list[tuple[int, int]] = field(default_factory=list)
    broadcasts: set[tuple[int, int]] = field(default_factory=set)
    #: node id -> history index of the event that made it (filled from recorded history)
    made_at: dict[int, int] = field(default_factory=dict)
    _adjacency: dict[int, set[int]] | None = field(default=None, repr=False, compare=False)
    _edges: set[tuple[int, int]] | None = field(default=None, repr=False, compare=False)

    def add_inputs(self, node_id: int, input_ids: Iterable[int],
                   shapes: list[tuple[int, ...]], out_shape: tuple[int, ...]) -> None:
        """Edges from each input to `node_id`; broadcast ones marked (numpy's rule)."""
        input_ids = list(input_ids)
        self._adjacency = self._edges = None  # the cached lookups no longer hold
        widened: tuple[int, ...] | None = None
        if len(shapes) > 1:
            try:
                widened = tuple(np.broadcast_shapes(*shapes))
            except ValueError:
                widened = None
        for input_id, shape in zip(input_ids, shapes):
            self.edges.append((input_id, node_id))
            if widened == tuple(out_shape) and tuple(shape) != widened:
                self.broadcasts.add((input_id, node_id))

    def inputs_of(self, node_id: int) -> list[int]:
        return [a for a, b in self.edges if b == node_id]

    def users_of(self, node_id: int) -> list[int]:
        return [b for a, b in self.edges if a == node_id]

    def neighbourhood(self, center: int, depth: int) -> PassGraph:
        """The nodes at most `depth` edges from `center` (either direction), and their edges."""
        if center not in self.nodes:
            raise KeyError(f"node {center} is not in this pass")
        near = {center}
        frontier = {center}
        adjacency = self._adjacency
        if adjacency is None:  # built once per pass graph: every cursor move reuses it
            adjacency = self._adjacency = {}
            for a, b in self.edges:
                adjacency.setdefault(a, set()).add(b)
                adjacency.setdefault(b, set()).add(a)
        for _ in range(depth):
            frontier = {m for n in frontier for m in adjacency.get(n, ())} - near
            near |= frontier
        edges = [(a, b) for a in near for b in adjacency.get(a, ()) if b in near]
        ordered = [e for e in dict.fromkeys(edges) if e in self._edge_set()]
        return PassGraph({i: self.nodes[i] for i in sorted(near)}, ordered,
                         {e for e in ordered if e in self.broadcasts},
                         {i: self.made_at[i] for i in near if i in self.made_at})

    def _edge_set(self) -> set[tuple[int, int]]:
        if self._edges is None:
            self._edges = set(self.edges)
        return self._edges

    def fold_modules(self) -> PassGraph:
        """One box per top-level module (`fc1`, `conv2`): the nodes made inside it and its
        parameters fold into it, and the edges inside a module disappear."""
        folded = PassGraph()
        box_of: dict[int, int] = {}
        boxes: dict[str, Node] = {}
        for node in self.nodes.values():
            path = _module_of(node)
            if not path:
                folded.nodes[node.id] = node
                box_of[node.id] = node.id
                continue
            box = boxes.get(path)
            ops = [] if box is None or not box.op else box.op.split(", ")
            if node.op and node.op not in ops:
                ops.append(node.op)
            box_id = -(len(boxes) + 1) if box is None else box.id
            shape = node.shape if node.kind == "op" or box is None else box.shape
            boxes[path] = Node(box_id, path, ", ".join(ops), shape, "module", module=path,
                               grad=node.grad if node.kind == "op" or box is None else box.grad,
                               walked=node.walked or (box is not None and box.walked))
            box_of[node.id] = box_id
        folded.nodes.update((box.id, box) for box in boxes.values())
        for a, b in self.edges:
            edge = (box_of[a], box_of[b])
            if edge[0] != edge[1] and edge not in folded.edges:
                folded.edges.append(edge)
        return folded


def _module_of(node: Node) -> str:
    """The top-level module a node belongs to: where an op ran, or whose parameter it is."""
    if node.kind == "op":
        return node.module.split(".")[0]
    if node.kind == "param" and "." in node.name:
        return node.name.split(".")[0]
    return ""


def _scalar(array: Any) -> float | None:
    if not isinstance(array, np.ndarray):
        array = np.asarray(array)
    return float(array.reshape(())) if array.size == 1 and array.dtype.kind in "fiub" else None


def norm(array: Any) -> float | None:
    """The L2 norm in float64 (None for no array), as the tape shows it."""
    if array is None:
        return None
    flat = np.asarray(array, dtype=np.float64).ravel()
    return math.sqrt(flat @ flat)  # float64 squares of float32 values cannot overflow


def from_events(events: Iterable[ev.Event]) -> PassGraph:
    """The graph of the forward and backward steps among `events` (one pass)."""
    graph = PassGraph()
    leaf_grads: dict[int, list[Any]] = {}
    with np.errstate(over="ignore", invalid="ignore"):  # a norm of float64 data may overflow
        for event in events:
            _add_event(graph, event, leaf_grads)
    for node_id, grads in leaf_grads.items():
        node = graph.nodes.get(node_id)
        if node is not None and node.kind != "op":
            total = grads[0] if len(grads) == 1 else np.sum(grads, axis=0)
            graph.nodes[node_id] = replace(node, grad=norm(total), walked=True)
    return graph


def _add_event(graph: PassGraph, event: ev.Event, leaf_grads: dict[int, list[Any]]) -> None:
    if isinstance(event, ev.ForwardStep):
        _add_forward(graph, event)
    elif isinstance(event, ev.BackwardStep):
        node = graph.nodes.get(event.node_id)
        if node is not None:
            graph.nodes[event.node_id] = replace(node, grad=norm(event.upstream), walked=True)
        for input_id, grad in zip(event.input_ids, event.grads):
            if grad is not None:  # leaves get the sum of what every user sent them
                leaf_grads.setdefault(input_id, []).append(grad)


def _add_forward(graph: PassGraph, event: ev.ForwardStep) -> None:
    for input_id, name, array, needs in zip(event.input_ids, event.input_names,
                                            event.inputs, event.input_requires_grad):
        if input_id not in graph.nodes:
            graph.nodes[input_id] = Node(input_id, name, "", array.shape,
                                         "param" if needs else "leaf",
                                         value=_scalar(array))
    graph.add_inputs(event.node_id, event.input_ids, [a.shape for a in event.inputs],
                     event.output.shape)
    graph.nodes[event.node_id] = Node(event.node_id, event.name, event.op,
                                      event.output.shape, "op",
                                      module=event.module_path, value=_scalar(event.output))


def from_tensor(root: Any) -> PassGraph:
    """The graph that made tensor `root`, walked back through its parents (no events
    needed: `sg.draw_graph(loss)` works on any tensor, before or after backward)."""
    graph = PassGraph()
    stack, seen = [root], {id(root)}
    while stack:
        tensor = stack.pop()
        grad = getattr(tensor, "grad", None)
        is_op = getattr(tensor, "_fn", None) is not None
        kind = "op" if is_op else ("param" if tensor.requires_grad else "leaf")
        op = tensor._fn.name if is_op else ""
        graph.nodes[tensor._id] = Node(tensor._id, tensor.name, op, tuple(tensor.data.shape),
                                       kind, value=_scalar(tensor.data),
                                       grad=norm(None if grad is None else np.asarray(grad)))
        parents = getattr(tensor, "_parents", ())
        graph.add_inputs(tensor._id, [p._id for p in parents],
                         [tuple(p.data.shape) for p in parents], tuple(tensor.data.shape))
        for parent in parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    graph.edges.reverse()
    return graph
