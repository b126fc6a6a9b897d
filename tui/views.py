"""From the session to what the screen shows: the tape's pass and the inspector's node.

Runs in the command worker, never on the UI thread: reading the history can take a while
on a long pass, and the program's thread appends to it. The pass holding the cursor is
kept between stops and extended event by event, so stepping through a 2,000-node graph
does not rebuild the tape's model at every key. A small node's inspector lines are drawn
here too, so the UI shows a step in one repaint (not the tape first, the inspector a frame
later) and draws nothing itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug.chain import received
from stepgrad.graph import PassGraph
from stepgrad.graph.view import extend
from stepgrad.tui import passes
from stepgrad.tui.messages import View
from stepgrad.tui.widgets import source_pane
from stepgrad.tui.widgets.inspector import Selection, draw

#: The Graph view draws this many edges out from the current node ...
GRAPH_DEPTH = 2
#: ... or the whole pass when the cursor is on no node and the pass is this small.
GRAPH_WHOLE = 40
#: A node whose arrays hold at most this many numbers is drawn here, with its view (a few
#: ms at most); a bigger one is drawn by the inspector's own worker, so the tape does not
#: wait for its pictures.
DRAW_ELEMENTS = 4096


class Views:
    """Builds `View`s and `Selection`s for one session (from one worker thread at a time)."""

    def __init__(self, session: Any, tutor: Any = None) -> None:
        self.session = session
        self.tutor = tutor                 # a lesson's: hides what a prediction asks for
        self.model: passes.Pass | None = None
        self._history: Any = None          # the history `model` was built from
        self.graph: PassGraph | None = None  # the pass's graph, for the Graph view
        self._graph_key: tuple[int, int] = (0, -1)
        self._graph_end = 0
        # (width, dark theme) the inspector and the source pane under it, as wide, draw at:
        # the app sets it; until then (or if it is wrong) the panes draw for themselves
        self.look: tuple[int, bool] | None = None

    def view(self, state: Any) -> View:
        """The tape's pass and the cursor's node for `state` (a paused or finished State)."""
        if state.cursor < 0 or state.cursor < state.first:
            return View(state)
        try:
            model = self._model_for(state)
            selection = self.selection(state.cursor, current=True, line=state.line)
            graph = self._graph_near(state, model)
        except IndexError:        # the history moved under us: the next stop redraws
            return View(state)
        return View(state, model, selection, graph)

    def _graph_near(self, state: Any, model: passes.Pass) -> PassGraph | None:
        """The Graph view's part of the pass: the cursor node's neighbourhood as it stood
        at the cursor. The pass's graph is built once and grows with the pass."""
        history = self.session.history
        if self.graph is None or self._graph_key != (id(history), model.start):
            self.graph, self._graph_key = PassGraph(), (id(history), model.start)
            self._graph_end = model.start
        if model.end + 1 > self._graph_end:
            extend(self.graph, history, self._graph_end, model.end + 1)
            self._graph_end = model.end + 1
        current = getattr(state.event, "node_id", None)
        # while a lesson's question is open, draw the graph as it stood just before this
        # step: the gradients it sends are the answer
        open_question = self.tutor is not None and self.tutor.hidden(state.event)
        cursor = state.cursor - 1 if open_question else state.cursor
        if current in self.graph.nodes:
            return self.graph.neighbourhood(current, GRAPH_DEPTH).as_of(cursor)
        if len(self.graph.nodes) <= GRAPH_WHOLE:
            return self.graph.as_of(cursor)
        return None

    def selection(self, index: int, current: bool, line: Any = None) -> Selection:
        """Everything the inspector shows for history event `index`; for a backward step,
        the gradients its node received in this pass (their sum is its gradient). A small
        node comes drawn, and its source (at `line` in `step into` mode) is drawn into the
        source pane's cache."""
        view = self.session.node_view(index)
        found = []
        if isinstance(view.event, ev.BackwardStep):
            found = received(self.session.history, view.event.node_id, index)
        hidden = self.tutor.hidden(view.event) if self.tutor is not None and current else None
        selection = Selection(view, found, current, hidden)
        if self.look is not None:
            width, dark = self.look
            if _elements(view.event) <= DRAW_ELEMENTS:
                selection.drawn = (width, draw(selection, width))
            source_pane.prefetch(view.event, line, dark, width)
        return selection

    def _model_for(self, state: Any) -> passes.Pass:
        """The pass holding the cursor: the current one extended, or a new one."""
        history, model = self.session.history, self.model
        if model is not None and self._history is history and model.start >= history.first:
            if state.cursor in model or (state.cursor > model.end
                                         and model.extend(history, state.cursor)
                                         and state.cursor in model):
                model.extend(history, state.head)
                return model
        self._history = history
        self.model = passes.build(history, state.cursor, state.head)
        return self.model


def _elements(event: Any) -> int:
    """How many numbers the inspector shows for `event` (its pictures cost about that)."""
    arrays = [*getattr(event, "inputs", ()), getattr(event, "output", None),
              getattr(event, "upstream", None), *getattr(event, "grads", ())]
    return sum(int(np.size(a)) for a in arrays if a is not None)
