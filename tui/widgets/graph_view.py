"""The Graph view: the computation graph around the cursor's node, following every step.

The command worker cuts the pass's graph down to the current node's neighbourhood as it
stood at the cursor (`tui/views.py`), and the app hands that here. The drawing (grandalf's
layout, see stepgrad.graph.text) is made in a thread worker and comes back in a
`GraphView.Rendered` message, like the inspector's pictures. Boxes are coloured by |grad|
on the tape's scale; clicking a box posts `GraphView.NodeSelected` with the history index
of that node's forward step. `v` swaps it with the inspector.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.events import Click
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip

from stepgrad.graph import Drawing, PassGraph, draw
from stepgrad.tui.render import magnitude_color
from stepgrad.tui.widgets.strip_view import StripView


class GraphView(StripView):
    """Shows the neighbourhood of the current node; the app calls `show(graph, node)`."""

    class Rendered(Message):
        """The drawing for request `token` is ready (posted by the render worker)."""

        def __init__(self, token: int, drawing: Drawing, lines: list[Strip]) -> None:
            self.token, self.drawing, self.lines = token, drawing, lines
            super().__init__()

    class NodeSelected(Message):
        """The user clicked a box: inspect history event `index` (the program stays put)."""

        def __init__(self, index: int) -> None:
            self.index = index
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.graph: PassGraph | None = None
        self.current: int | None = None
        self.drawing: Drawing | None = None
        self.requested = 0
        self.rendered = 0

    @property
    def is_drawn(self) -> bool:
        return self.rendered == self.requested

    def show(self, graph: PassGraph | None, current: int | None) -> None:
        """Draw `graph` (already cut around node `current`), `current` marked."""
        if graph is self.graph and current == self.current and self.drawing is not None:
            return
        self.graph, self.current = graph, current
        self.requested += 1
        self._draw(self.requested, graph, current)

    @work(thread=True, exclusive=True, group="graph")
    def _draw(self, token: int, graph: PassGraph | None, current: int | None) -> None:
        if graph is None or not graph.nodes:
            drawing = Drawing(["No graph here: step to a forward or backward step of a node.",
                               "(`graph --modules` on the command line draws a whole pass.)"])
        else:
            drawing = draw(graph, current=current if current in graph.nodes else None)
        self.post_message(self.Rendered(token, drawing, _strips(drawing, graph)))

    def on_graph_view_rendered(self, message: Rendered) -> None:
        message.stop()
        if message.token != self.requested:
            return  # a newer request is being drawn
        self.drawing = message.drawing
        self.rendered = message.token
        self.set_lines(message.lines, keep_scroll=True)
        if self.current is not None and self.current in message.drawing.boxes:
            row, col, width, height = message.drawing.boxes[self.current]
            # the least scrolling that shows the current box (with its "◀ here")
            self.scroll_to_region(Region(col, row, width + 8, height), animate=False,
                                  immediate=True)

    def on_click(self, event: Click) -> None:
        if self.drawing is None or self.graph is None:
            return
        node = self.drawing.node_at(self.scroll_offset.y + event.y,
                                    self.scroll_offset.x + event.x)
        index = None if node is None else self.graph.made_at.get(node)
        if index is not None:
            self.post_message(self.NodeSelected(index))


def _strips(drawing: Drawing, graph: PassGraph | None) -> list[Strip]:
    """The drawing's lines, each box's text coloured by its |grad| (bold for the current)."""
    styles: list[list[tuple[int, int, Style]]] = [[] for _ in drawing.lines]
    for node_id, (row, col, width, height) in drawing.boxes.items():
        node = graph.nodes.get(node_id) if graph is not None else None
        color = magnitude_color(node.grad) if node is not None else None
        style = Style(color=color, bold=node_id == drawing.current)
        for r in range(row, min(row + height, len(drawing.lines))):
            styles[r].append((col, col + width, style))
    strips = []
    for line, spans in zip(drawing.lines, styles):
        segments, at = [], 0
        for start, stop, style in sorted(spans, key=lambda s: s[0]):
            if start > at:
                segments.append(Segment(line[at:start]))
            segments.append(Segment(line[max(start, at):stop], style))
            at = max(at, stop)
        segments.append(Segment(line[at:]))
        strips.append(Strip([s for s in segments if s.text]))
    return strips

