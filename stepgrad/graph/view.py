"""The `graph` command's work, on recorded history: pick the pass, cut the neighbourhood,
draw it, or export the whole pass. Front ends call `graph_command`; the Graph view calls
`pass_graph` once per pass and `draw` per cursor move."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from stepgrad.debug.passes import HistoryLike, pass_range
from stepgrad.graph.dot import to_dot, write_svg
from stepgrad.graph.model import PassGraph
from stepgrad.graph.text import draw

USAGE = "usage: graph [DEPTH] [--modules] [--dot FILE] [--svg FILE]"


@dataclass(frozen=True)
class GraphRequest:
    depth: int = 2
    modules: bool = False
    dot: str | None = None
    svg: str | None = None


def parse(arg: str) -> GraphRequest:
    """`graph 3 --modules`, `graph --dot pass.dot`; ValueError with the usage when wrong."""
    words = shlex.split(arg)
    depth, modules = 2, False
    files: dict[str, str | None] = {"--dot": None, "--svg": None}
    while words:
        word = words.pop(0)
        if word in files:
            if not words:
                raise ValueError(f"{word} needs a file name; {USAGE}")
            files[word] = words.pop(0)
        elif word == "--modules":
            modules = True
        elif word.isascii() and word.isdigit():
            depth = int(word)
        else:
            raise ValueError(f"graph: did not understand {word!r}; {USAGE}")
    if not 0 <= depth <= 20:
        raise ValueError("graph: DEPTH is from 0 to 20 (how many edges from the current node)")
    return GraphRequest(depth, modules, files["--dot"], files["--svg"])


def pass_graph(history: HistoryLike, index: int) -> PassGraph:
    """The graph of the pass holding event `index`."""
    span = pass_range(history, index)
    graph = PassGraph()
    extend(graph, history, span.start, span.stop)
    return graph


def extend(graph: PassGraph, history: HistoryLike, start: int, stop: int) -> None:
    """Add history events start .. stop-1 to `graph` (the Graph view grows it per stop)."""
    numbered = getattr(history, "numbered", None)  # History's own iterator skips a lookup
    pairs = numbered(start, stop) if numbered is not None else ((i, history[i])
                                                                   for i in range(start, stop))
    for number, event in pairs:
        graph.add(number, event)


def current_node(history: HistoryLike, index: int) -> int | None:
    return getattr(history[index], "node_id", None)


def graph_command(history: HistoryLike, index: int, arg: str) -> str:
    """What `graph ARG` prints at event `index`."""
    request = parse(arg)
    graph = pass_graph(history, index).as_of(index)
    node = current_node(history, index)
    if request.dot or request.svg:
        return _export(graph, node, request)
    if not graph.nodes:
        return "graph: no node recorded in this pass yet: step to a forward step first"
    if request.modules:
        graph = graph.fold_modules()
        node = None
    elif node is not None and node in graph.nodes:
        graph = graph.neighbourhood(node, request.depth)
    elif len(graph.nodes) > 40:
        return ("graph draws the nodes around the current one: go to a forward or backward "
                "step, or use `graph --modules` or `graph --dot FILE` for the whole pass")
    legend = "╔╗ current   ┏┓ backward has passed   ┌┐ op   ╭╮ leaf or parameter"
    return f"{draw(graph, current=node)}\n{legend}"


def _export(graph: PassGraph, node: int | None, request: GraphRequest) -> str:
    if request.modules:
        graph = graph.fold_modules()
    source = to_dot(graph, current=node)
    said = []
    if request.dot:
        try:
            Path(request.dot).write_text(source, encoding="utf-8")
        except OSError as error:
            return f"graph --dot: could not write {request.dot}: {error.strerror or error}"
        said.append(f"wrote {request.dot} ({len(graph.nodes)} nodes, {len(graph.edges)} edges)")
    if request.svg:
        try:
            write_svg(source, request.svg)
        except RuntimeError as error:
            said.append(f"graph --svg: {error}")
        else:
            said.append(f"wrote {request.svg}")
    return "\n".join(said)

