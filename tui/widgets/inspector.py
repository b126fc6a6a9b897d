"""The inspector: everything recorded about one node, as numbers and pictures.

At a forward step: the inputs and the output. At a backward step: the upstream gradient
(dL/d out), the op's local derivative, and the gradient sent to each input, with the
broadcast axes that were summed and whether the gradient was added to one the input
already had (a value used more than once). At a node that fans out, every contribution
it received is listed: their sum is its gradient.

Pictures take time, so they are never drawn on the UI thread. The command worker draws a
small node's lines as it works out the view (`views.Views`), so a step arrives ready to
show and the screen repaints once; a big node's pictures are drawn in this widget's own
thread worker and come back in an `Inspector.Rendered` message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.message import Message
from textual.strip import Strip

from stepgrad import events as ev
from stepgrad.debug.chain import local_derivatives
from stepgrad.tui.render import number, stats_text, tensor_block
from stepgrad.tui.widgets.strip_view import StripView, render_strips


@dataclass
class Selection:
    """What the inspector is asked to show: a NodeView and the node's incoming gradients."""

    view: Any                                   # stepgrad.debug.NodeView
    contributions: list[tuple[int, str, np.ndarray]] = field(default_factory=list)
    current: bool = True                        # the cursor's event, not a user's selection
    hidden: str | None = None  # "grads", "output" or "update": a lesson's open prediction
    drawn: tuple[int, list[Strip]] | None = None  # (width, lines) drawn by the command worker


HIDDEN = "hidden until you answer the question: predict N  (or: predict skip)"


class Inspector(StripView):
    """Shows the selected node; the app calls `show(selection)`."""

    class Rendered(Message):
        """The lines for selection `token` are ready (posted by the render worker)."""

        def __init__(self, token: int, lines: list[Strip]) -> None:
            self.token = token
            self.lines = lines
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.selection: Selection | None = None
        self._token = 0
        self.rendered_token = 0
        self._width = 0

    @property
    def is_drawn(self) -> bool:
        """True once the lines of the last selection shown are on screen (not still being
        drawn by the worker)."""
        return self.rendered_token == self._token

    def on_mount(self) -> None:
        self.set_lines(render_strips(Text("Nothing to inspect yet.", style="dim"), 40))

    def show(self, selection: Selection | None) -> int:
        """Show `selection`: at once if it comes drawn at this width, else after the
        worker draws it. Returns the width drawn at (the command worker's next views come
        drawn at it: `views.Views.look`)."""
        self.selection = selection
        self._token += 1
        self._width = self.view_width
        if selection is None:
            self.set_lines(render_strips(Text("Nothing to inspect yet.", style="dim"), 40))
            self.rendered_token = self._token
        elif selection.drawn is not None and selection.drawn[0] == self._width:
            self.set_lines(selection.drawn[1])
            self.rendered_token = self._token
        else:
            self._draw(self._token, selection, self._width)
        return self._width

    @work(thread=True, exclusive=True, group="inspector")
    def _draw(self, token: int, selection: Selection, width: int) -> None:
        self.post_message(self.Rendered(token, draw(selection, width)))

    def on_inspector_rendered(self, message: Rendered) -> None:
        message.stop()
        if message.token == self._token:
            self.set_lines(message.lines, keep_scroll=self.rendered_token == message.token)
            self.rendered_token = message.token

    def on_resize(self) -> None:
        if self.selection is not None and self.view_width != self._width:
            self.show(self.selection)


# ---------------------------------------------------------------------- what to draw
def draw(selection: Selection, width: int) -> list[Strip]:
    """The inspector's lines for a selection at `width` cells (any thread but the UI's)."""
    try:
        return render_strips(build(selection, width), width)
    except Exception as error:  # noqa: BLE001 (a bad array must not take the UI down)
        return render_strips(Text(f"cannot draw this node: {type(error).__name__}: "
                                  f"{error}", style="red"), width)


def build(selection: Selection, width: int) -> RenderableType:
    """The inspector's content for a selection (runs in a worker thread)."""
    view = selection.view
    event = view.event
    parts: list[RenderableType] = [_title(view.number, event, selection.current)]
    hidden = selection.hidden
    if isinstance(event, ev.BackwardStep):
        parts += _backward(event, view.forward, selection.contributions, width,
                           hide=hidden == "grads")
    elif isinstance(event, ev.ForwardStep):
        parts += _forward(event, view.backward, width, hide=hidden == "output")
    elif isinstance(event, ev.OptimizerStep):
        parts.append(Text(HIDDEN, style="yellow") if hidden == "update" else _optimizer(event))
    elif isinstance(event, (ev.Iteration, ev.Epoch)):
        metrics = dict(event.metrics)
        if isinstance(event, ev.Iteration) and event.loss is not None:
            metrics = {"loss": event.loss, **metrics}
        parts += [Text(f"  {k:<16} {number(v)}") for k, v in metrics.items()]
    return Group(*parts)


def _title(index: int, event: ev.Event, current: bool) -> Text:
    text = Text()
    text.append(f"#{index} ", style="bold")
    if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
        text.append(f"{event.phase} ", style="bold magenta" if event.phase == "backward"
                    else "bold cyan")
        text.append(f"{event.name}", style="bold")
        text.append(f" ({event.op})")
        if event.module_path:
            text.append(f" in {event.module_path}", style="dim")
        if event.file:
            text.append(f"  {os.path.basename(event.file)}:{event.line}", style="dim")
    else:
        text.append(event.summary().split(" ", 1)[1])
    if not current:
        text.append("  (selected; the program is elsewhere)", style="italic dim")
    text.append("\n")
    return text


def _forward(event: ev.ForwardStep, backward: ev.BackwardStep | None,
             width: int, hide: bool = False) -> list[RenderableType]:
    parts: list[RenderableType] = []
    args = ", ".join(event.input_names)
    formula = Text(f"{event.name} = {event.op}({args})", style="bold")
    if event.attrs:
        formula.append("  " + ", ".join(f"{k}={v!r}" for k, v in event.attrs.items()),
                       style="dim")
    parts.append(formula)
    for i, (name, array) in enumerate(zip(event.input_names, event.inputs)):
        wants = event.input_requires_grad[i] if i < len(event.input_requires_grad) else False
        tag = "" if wants else "  (constant)"
        parts.append(tensor_block(f"input {i}: {name}{tag}", array, width, diverging=False,
                                  rows=4, show_histogram=False))
    parts.append(Text(f"output: {event.name}: {HIDDEN}", style="yellow") if hide else
                 tensor_block(f"output: {event.name}", event.output, width, diverging=False))
    if backward is not None:
        parts.append(Text("its gradient arrives later in the backward pass", style="dim italic"))
    return parts


def _backward(event: ev.BackwardStep, forward: ev.ForwardStep | None,
              contributions: list[tuple[int, str, np.ndarray]], width: int,
              hide: bool = False) -> list[RenderableType]:
    parts: list[RenderableType] = [Text("chain rule: sent grad = upstream grad x local derivative",
                                        style="italic")]
    parts.append(tensor_block(f"upstream: dL/d{event.name}", event.upstream, width,
                              diverging=True))
    if len(contributions) > 1:
        parts.append(_fan_in(event, contributions, width))
    locals_ = local_derivatives(forward)
    for i, (name, sent) in enumerate(zip(event.input_names, event.grads)):
        notes = Text()
        if event.summed_axes[i]:
            notes.append(f"  broadcast undone: summed over axes {event.summed_axes[i]}",
                         style="yellow")
        if event.accumulated[i]:
            notes.append(f"  += added to the gradient {name} already had (used more than once)",
                         style="cyan")
        parts.append(Text(""))
        local = locals_[i] if i < len(locals_) else None
        if hide:  # a lesson asks for this gradient: neither it nor its factor shows yet
            parts.append(Text(f"sent to input {i}: dL/d{name}: {HIDDEN}", style="yellow"))
            continue
        if local is not None:
            parts.append(tensor_block(f"x local derivative d{event.name}/d{name}", local, width,
                                      diverging=True, rows=4, show_histogram=False))
        elif sent is not None and forward is not None and not locals_:
            parts.append(Text(f"x the local derivative of {forward.op} (it mixes elements: "
                              f"see its backward in the source pane)", style="dim italic"))
        parts.append(tensor_block(f"= sent to input {i}: dL/d{name}", sent, width,
                                  diverging=True))
        if notes.plain:
            parts.append(notes)
    return parts


def _fan_in(event: ev.BackwardStep, contributions: list[tuple[int, str, np.ndarray]],
            width: int) -> RenderableType:
    """The gradients a node used more than once received: they add up to its upstream."""
    table = Table(title=f"{event.name} feeds {len(contributions)} nodes: its gradient is "
                  f"the sum of theirs", title_justify="left", box=None, pad_edge=False,
                  show_header=True, header_style="dim")
    table.add_column("from")
    table.add_column("event", justify="right")
    table.add_column("stats")
    for index, name, grad in contributions:
        table.add_row(name, f"#{index}", stats_text(grad))
    return table


def _optimizer(event: ev.OptimizerStep) -> RenderableType:
    table = Table(box=None, pad_edge=False, header_style="dim")
    for column in ("parameter", "|grad|", "|update|", "update/weight"):
        table.add_column(column, justify="right" if column != "parameter" else "left")
    for p in event.params:
        grad = "-" if p.grad is None else number(float(np.linalg.norm(p.grad)))
        ratio = Text(f"{p.ratio:.2e}", style="red" if p.ratio > 1e-2 or p.ratio < 1e-5
                     else "green")
        table.add_row(p.name, grad, number(float(np.linalg.norm(p.update))), ratio)
    return table
