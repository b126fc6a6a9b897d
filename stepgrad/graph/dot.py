"""A pass graph as Graphviz DOT, and as SVG when the `dot` program is installed.

    sg.draw_graph(loss)                 # the DOT source, like torchviz's make_dot(loss).source
    sg.draw_graph(loss, "graph.svg")    # writes an SVG (needs Graphviz's `dot` program)

Each node is a record with its name, op, shape and numbers (value for a single number,
|grad| once backward has reached it); edges point in data-flow order, as in micrograd's
`draw_dot`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from stepgrad.graph.model import Node, PassGraph, from_tensor
from stepgrad.graph.text import box_text

INSTALL_DOT = ("the `dot` program (Graphviz) is not installed: install it with "
               "`apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS), "
               "or write DOT with --dot and render it elsewhere")
FILL = {"leaf": "#f2f2f2", "param": "#dbe9f6", "op": "#ffffff", "module": "#fff3d6"}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(node: Node) -> str:
    return "\\n".join(part for part in box_text(node) if part)


def to_dot(graph: PassGraph, current: int | None = None, title: str = "stepgrad") -> str:
    """The DOT source of `graph`; the `current` node is drawn bold."""
    lines = [f"digraph {_quote(title)} {{", "  rankdir=TB;",
             '  node [shape=box, style="rounded,filled", fontname="monospace"];']
    for node in graph.nodes.values():
        style = ', penwidth=3' if node.id == current else ''
        color = ', color="#c0392b"' if node.walked else ''
        lines.append(f'  n{_name(node.id)} [label={_quote(_label(node))}, '
                     f'fillcolor="{FILL.get(node.kind, "#ffffff")}"{style}{color}];')
    for a, b in dict.fromkeys(graph.edges):
        extra = ' [label="broadcast", style=dashed]' if (a, b) in graph.broadcasts else ""
        lines.append(f"  n{_name(a)} -> n{_name(b)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _name(node_id: int) -> str:
    return str(node_id) if node_id >= 0 else f"m{-node_id}"  # folded modules have ids < 0


def write_svg(dot_source: str, path: str | Path) -> Path:
    """Render DOT to an SVG file with Graphviz; a clear error when `dot` is missing."""
    program = shutil.which("dot")
    if program is None:
        raise RuntimeError(INSTALL_DOT)
    done = subprocess.run([program, "-Tsvg", "-o", str(path)], input=dot_source.encode(),
                          capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    return Path(path)


def draw_graph(root: Any, path: str | Path | None = None) -> str:
    """The graph that made tensor `root` as DOT source; with `path`, also write it there:
    `.svg` renders with Graphviz, anything else gets the DOT text.

    PyTorch equivalent: torchviz's `make_dot(loss)`; micrograd's `draw_dot(loss)`.
    """
    source = to_dot(from_tensor(root), current=getattr(root, "_id", None))
    if path is not None:
        if str(path).lower().endswith(".svg"):
            write_svg(source, path)
        else:
            Path(path).write_text(source, encoding="utf-8")
    return source
