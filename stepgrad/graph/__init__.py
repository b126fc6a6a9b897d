"""Computation graphs as pictures: text for the terminal, DOT and SVG for export.

`model` says what is connected (from recorded events or from a live tensor), `text` draws
it in a terminal (grandalf's layered layout), `dot` writes Graphviz. See `sg.draw_graph`.
"""

from stepgrad.graph.dot import draw_graph, to_dot, write_svg
from stepgrad.graph.model import Node, PassGraph, from_events, from_tensor
from stepgrad.graph.text import Drawing, draw

__all__ = ["Drawing", "Node", "PassGraph", "draw", "draw_graph", "from_events", "from_tensor",
           "to_dot", "write_svg"]
