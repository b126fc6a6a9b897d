"""A pass graph drawn in text: boxes in layers, arrows in data-flow order.

The layout is grandalf's Sugiyama layered layout (layers, then crossing reduction, then
coordinates); this module only turns its coordinates into characters. Inputs are at the
top and the loss at the bottom, so forward reads downward and backward upward:

    ╭─ x ───────────╮   ╭─ w ───────────╮
    │ leaf (4,)     │   │ param (4,)    │
    ╰───────┬───────╯   ╰───────┬───────╯
            ╰─────────┬─────────╯
                      ▼
              ╔═ mul_1 ═══════╗
              ║ mul (4,)      ║  ◀ here
              ╚═══════════════╝

Boxes: ╭╮ a leaf, ┌┐ an op, ┏┓ a node backward has already walked in this pass, ╔╗ the
current node. A value used twice has two arrows out; a broadcast shows as an input whose
shape differs from its user's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout

from stepgrad.graph.model import Node, PassGraph

# kind of box -> its corners (top-left, top-right, bottom-left, bottom-right), then - and |
BORDERS = {
    "leaf": "╭╮╰╯─│", "param": "╭╮╰╯─│", "op": "┌┐└┘─│", "module": "┌┐└┘─│",
    "walked": "┏┓┗┛━┃", "current": "╔╗╚╝═║",
}
LAYER_GAP = 3  # rows between two layers of boxes: room for the arrows' bends


@dataclass
class Drawing:
    """The drawn lines and where each node's box is (row, column, width, height), so a
    front end can colour boxes and find the node under a mouse click."""

    lines: list[str]
    boxes: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    current: int | None = None

    def __str__(self) -> str:
        return "\n".join(line.rstrip() for line in self.lines)

    def node_at(self, row: int, column: int) -> int | None:
        for node_id, (top, left, width, height) in self.boxes.items():
            if top <= row < top + height and left <= column < left + width:
                return node_id
        return None


def box_text(node: Node) -> tuple[str, str, str]:
    """Title, and two lines: what the node is, and its number (value or |grad|)."""
    shape = str(tuple(node.shape)).replace(" ", "")
    what = {"leaf": "leaf", "param": "param", "module": node.op or "module"}.get(node.kind,
                                                                               node.op)
    if node.grad is not None:
        number = f"|grad| {node.grad:.3g}"
    elif node.value is not None:
        number = f"value {node.value:.4g}"
    else:
        number = ""
    return node.name, f"{what} {shape}", number


class _View:
    """What grandalf needs to know of a box: its size (and it writes `xy` back)."""

    def __init__(self, width: int, height: int) -> None:
        self.w, self.h = width, height
        self.xy = (0.0, 0.0)


class _EdgeView:
    def __init__(self) -> None:
        self._pts: list[tuple[float, float]] = []

    def setpath(self, pts: list[tuple[float, float]]) -> None:
        self._pts = pts


def draw(graph: PassGraph, current: int | None = None, width_limit: int = 28) -> Drawing:
    """Lay out `graph` and draw it; `current` is the node marked "◀ here"."""
    if not graph.nodes:
        return Drawing(["(no nodes recorded in this pass yet)"])
    texts = {i: tuple(t[:width_limit] for t in box_text(n)) for i, n in graph.nodes.items()}
    vertices = {i: Vertex(i) for i in graph.nodes}
    for i, v in vertices.items():
        v.view = _View(max(len(t) for t in texts[i]) + 6, 4)
    edges = [Edge(vertices[a], vertices[b]) for a, b in dict.fromkeys(graph.edges)]
    for e in edges:
        e.view = _EdgeView()
    positions: dict[int, tuple[int, int]] = {}
    routes: list[tuple[list[tuple[float, float]], bool]] = []
    offset = 0.0
    for component in Graph(list(vertices.values()), edges).C:
        layout = SugiyamaLayout(component)
        layout.xspace, layout.yspace = 3, LAYER_GAP
        layout.init_all()
        layout.draw(3)
        xs = [v.view.xy[0] - v.view.w / 2 for v in component.sV]
        shift = offset - min(xs)
        for v in component.sV:
            x, y = v.view.xy
            positions[v.data] = (round(y - v.view.h / 2), round(x - v.view.w / 2 + shift))
        routes.extend(([(px + shift, py) for px, py in e.view._pts],
                       (e.v[0].data, e.v[1].data) in graph.broadcasts) for e in component.sE)
        offset = max(v.view.xy[0] + v.view.w / 2 for v in component.sV) + shift + 4
    return _paint(graph, texts, positions, vertices, routes, current)


def _paint(graph: PassGraph, texts: dict, positions: dict[int, tuple[int, int]],
           vertices: dict, routes: list, current: int | None) -> Drawing:
    top = min(r for r, _ in positions.values())
    rows = max(r for r, _ in positions.values()) - top + 4
    cols = max(c + vertices[i].view.w for i, (_, c) in positions.items()) + 8
    canvas = _Canvas(rows, cols)
    for points, _ in routes:
        canvas.route([(round(x), round(y) - top) for x, y in points])
    boxes = {}
    for node_id, (row, col) in positions.items():
        node = graph.nodes[node_id]
        style = "current" if node_id == current else "walked" if node.walked else node.kind
        width = vertices[node_id].view.w
        boxes[node_id] = (row - top, col, width, 4)
        canvas.box(row - top, col, width, texts[node_id], BORDERS[style])
        if node_id == current:
            canvas.write(row - top + 1, col + width + 1, "◀ here")
    for points, broadcast in routes:  # an arrow leaves a box through a tee in its edge
        x, y = round(points[0][0]), round(points[0][1]) - top
        if canvas.char(y + 1, x) in "─━═":
            canvas.write(y + 1, x, {"─": "┬", "━": "┳", "═": "╤"}[canvas.char(y + 1, x)])
        if broadcast:
            canvas.write(y + 2, x + 2, "broadcast")
    return Drawing(canvas.lines(), boxes, current if current in boxes else None)


UP, DOWN, LEFT, RIGHT = 1, 2, 4, 8
JOINS = {UP | DOWN: "│", LEFT | RIGHT: "─", DOWN | RIGHT: "╭", DOWN | LEFT: "╮",
         UP | RIGHT: "╰", UP | LEFT: "╯", UP | DOWN | RIGHT: "├", UP | DOWN | LEFT: "┤",
         DOWN | LEFT | RIGHT: "┬", UP | LEFT | RIGHT: "┴", UP | DOWN | LEFT | RIGHT: "┼",
         UP: "│", DOWN: "│", LEFT: "─", RIGHT: "─"}


class _Canvas:
    """A grid of characters. Arrows are drawn as directions per cell (up, down, left,
    right) and become box-drawing characters at the end, so lines that meet join (┬ ┼)."""

    def __init__(self, rows: int, cols: int) -> None:
        self.cells = [[" "] * cols for _ in range(rows)]
        self.links = [[0] * cols for _ in range(rows)]
        self.arrows: set[tuple[int, int]] = set()

    def _inside(self, row: int, col: int) -> bool:
        return 0 <= row < len(self.cells) and 0 <= col < len(self.cells[0])

    def char(self, row: int, col: int) -> str:
        return self.cells[row][col] if self._inside(row, col) else " "

    def write(self, row: int, col: int, text: str) -> None:
        if not 0 <= row < len(self.cells):
            return
        start, stop = max(col, 0), min(col + len(text), len(self.cells[row]))
        if start < stop:
            self.cells[row][start:stop] = text[start - col:stop - col]
            self.links[row][start:stop] = [0] * (stop - start)

    def box(self, row: int, col: int, width: int, text: tuple[str, ...], b: str) -> None:
        title, what, number = text
        inner = width - 2
        self.write(row, col, b[0] + (b[4] + " " + title + " ").ljust(inner, b[4]) + b[1])
        self.write(row + 1, col, b[5] + (" " + what).ljust(inner) + b[5])
        self.write(row + 2, col, b[5] + (" " + number).ljust(inner) + b[5])
        self.write(row + 3, col, b[2] + b[4] * inner + b[3])

    def _link(self, row: int, col: int, bits: int) -> None:
        if self._inside(row, col):
            self.links[row][col] |= bits

    def _vertical(self, col: int, start: int, stop: int) -> None:
        for row in range(start, stop + 1):
            self._link(row, col, (UP if row > start else 0) | (DOWN if row < stop else 0))

    def route(self, points: list[tuple[int, int]]) -> None:
        """An arrow through `points` (box centres, with grandalf's bend points between):
        down out of the first box, across in the gap below its layer, down into the next."""
        if len(points) < 2:
            return
        for k, ((xa, ya), (xb, yb)) in enumerate(zip(points, points[1:])):
            first, last = k == 0, k == len(points) - 2
            start = ya + 2 if first else ya
            stop = yb - 3 if last else yb
            bend = min(ya + 3, stop)
            self._vertical(xa, start, bend)
            if xa != xb:
                lo, hi = sorted((xa, xb))
                for x in range(lo, hi + 1):
                    self._link(bend, x, (LEFT if x > lo else 0) | (RIGHT if x < hi else 0))
            self._vertical(xb, bend, stop)
            if first:
                self._link(start, xa, UP)
        xn, yn = points[-1]
        self.arrows.add((yn - 3, xn))

    def lines(self) -> list[str]:
        out = []
        for r, row in enumerate(self.cells):
            links = self.links[r]
            chars = row if not any(links) else [
                JOINS.get(links[c], ch) if links[c] and ch == " " else ch
                for c, ch in enumerate(row)]
            for ar, ac in self.arrows:
                if ar == r and 0 <= ac < len(chars) and chars[ac] in " │":
                    chars[ac] = "▼"
            out.append("".join(chars).rstrip())
        return out
