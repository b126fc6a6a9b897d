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
    #: node id -> history index of the backward step that last reached it
    walked_at: dict[int, int] = field(default_factory=dict)
    _leaf_sums: dict[int, Any] = field(default_factory=dict, repr=False, compare=False)
    _adjacency: dict[int, set[int]] | None = field(default=None, repr=False, compare=False)
    #: each edge -> the place of its first appearance in `edges` (a set that keeps the order)
    _edges: dict[tuple[int, int], int] | None = field(default=None, repr=False, compare=False)

    def add_inputs(self, node_id: int, input_ids: Iterable[int],
                   shapes: list[tuple[int, ...]], out_shape: tuple[int, ...]) -> None:
        """Edges from each input to `node_id`; broadcast ones marked (numpy's rule)."""
        input_ids = list(input_ids)
        widened: tuple[int, ...] | None = None
        if len(shapes) > 1:
            try:
                widened = tuple(np.broadcast_shapes(*shapes))
            except ValueError:
                widened = None
        for input_id, shape in zip(input_ids, shapes):
            self.edges.append((input_id, node_id))
            if self._edges is not None:  # keep the cached lookups true as the graph grows
                self._edges.setdefault((input_id, node_id), len(self._edges))
            if self._adjacency is not None:
                self._adjacency.setdefault(input_id, set()).add(node_id)
                self._adjacency.setdefault(node_id, set()).add(input_id)
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
        edges = {(a, b) for a in near for b in adjacency.get(a, ()) if b in near}
        # in data-flow order, as the pass made them: a set's order depends on how it grew (a
        # graph built as the program ran, or at once from history), and the layout on the
        # order, so the same cut once drew its leaves in another order after step and back
        place = self._edge_places()
        ordered = sorted([e for e in edges if e in place], key=place.__getitem__)
        return PassGraph({i: self.nodes[i] for i in sorted(near)}, ordered,
                         {e for e in ordered if e in self.broadcasts},
                         {i: self.made_at[i] for i in near if i in self.made_at},
                         {i: self.walked_at[i] for i in near if i in self.walked_at})

    def _edge_places(self) -> dict[tuple[int, int], int]:
        if self._edges is None:
            places: dict[tuple[int, int], int] = {}
            for edge in self.edges:
                places.setdefault(edge, len(places))
            self._edges = places
        return self._edges

    def add(self, number: int, event: ev.Event) -> None:
        """Take in event `number` of the pass (the graph grows as the program runs)."""
        if isinstance(event, ev.ForwardStep):
            for input_id in event.input_ids:
                self.made_at.setdefault(input_id, number)  # a leaf appears with its first use
            _add_forward(self, event)
            self.made_at[event.node_id] = number
        elif isinstance(event, ev.BackwardStep):
            self._add_backward(number, event)

    def _add_backward(self, number: int, event: ev.BackwardStep) -> None:
        with np.errstate(over="ignore", invalid="ignore"):  # float64 data may overflow
            node = self.nodes.get(event.node_id)
            if node is not None:
                self.nodes[event.node_id] = replace(node, grad=norm(event.upstream),
                                                    walked=True)
                self.walked_at[event.node_id] = number
            for input_id, grad in zip(event.input_ids, event.grads):
                leaf = self.nodes.get(input_id)
                if grad is None or leaf is None or leaf.kind == "op":
                    continue
                # a leaf's gradient is the sum of what every user sent it
                total = self._leaf_sums.get(input_id)
                total = grad if total is None else total + grad
                self._leaf_sums[input_id] = total
                self.nodes[input_id] = replace(leaf, grad=norm(total), walked=True)
                self.walked_at[input_id] = number

    def as_of(self, cursor: int) -> PassGraph:
        """The graph as it stood at event `cursor`: nodes made later are left out, and
        backward has walked only the nodes it had reached by then."""
        nodes = {}
        for node_id, node in self.nodes.items():
            if self.made_at.get(node_id, -1) > cursor:
                continue
            if node.walked and self.walked_at.get(node_id, -1) > cursor:
                node = replace(node, walked=False, grad=None)
            nodes[node_id] = node
        edges = [(a, b) for a, b in self.edges if a in nodes and b in nodes]
        return PassGraph(nodes, edges, {e for e in self.broadcasts if e[0] in nodes
                                        and e[1] in nodes},
                         {i: n for i, n in self.made_at.items() if i in nodes},
                         {i: n for i, n in self.walked_at.items() if i in nodes})

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
    for number, event in enumerate(events):
        graph.add(number, event)
    return graph


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
