"""The tape: the nodes of the current pass in execution order, grouped by module.

A Line API widget: only the visible lines are drawn, so a 2,000-node graph scrolls and
repaints as fast as a 20-node one. The app pushes the model (`passes.Pass`) and the
cursor down; the tape highlights the row of the cursor's event and keeps it in view.
Moving the selection (keys or mouse) inspects a node without moving the program: the
tape posts `Tape.NodeSelected(index)` with the history index to show.

Each node row: forward glyph (● computed, ○ not yet), backward glyph (◀ coloured by the
magnitude of the gradient the node received), name, op and output shape.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from stepgrad.tui.passes import Pass, Row
from stepgrad.tui.render import magnitude_color, number
from stepgrad.tui.widgets.strip_view import set_virtual_size


class Tape(ScrollView, can_focus=True):
    """The pass as rows; select to inspect, enter to fold a module."""

    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", show=False),
        Binding("pagedown", "move(10)", show=False),
        Binding("home", "edge(0)", show=False),
        Binding("end", "edge(1)", show=False),
        Binding("enter,space", "toggle_group", "Fold", show=False),
        Binding("escape", "follow", "Follow", show=False),
    ]

    COMPONENT_CLASSES = {"tape--current", "tape--selected", "tape--group", "tape--mark",
                         "tape--dim", "tape--op"}

    DEFAULT_CSS = """
    Tape { background: $surface; }
    Tape > .tape--current { background: $accent 45%; text-style: bold; }
    Tape > .tape--selected { background: $primary 35%; }
    Tape > .tape--group { color: $secondary; text-style: bold; }
    Tape > .tape--mark { color: $foreground-muted; text-style: italic; }
    Tape > .tape--dim { color: $foreground-disabled; }
    Tape > .tape--op { color: $foreground-muted; }
    """

    class NodeSelected(Message):
        """The user selected a row: inspect history event `index` (the program stays put)."""

        def __init__(self, index: int) -> None:
            self.index = index
            super().__init__()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model: Pass | None = None
        self.cursor = -1
        self.selected: int | None = None      # row number; None follows the cursor
        self.filter_text = ""
        self.collapsed: set[int] = set()       # index of the collapsed group headers
        self._visible: list[int] = []          # row numbers shown, top to bottom
        self._line_of: dict[int, int] = {}     # row number -> line
        self._built_version = (-1, -1, "", 0)
        self._strips: dict[tuple[object, ...], Strip] = {}   # drawn rows, by what they show

    # ----------------------------------------------------------------- data from the app
    def show(self, model: Pass | None, cursor: int) -> None:
        """Show `model` with the cursor at history index `cursor` (called by the app)."""
        if model is not self.model:
            self.selected = None
            self._strips.clear()
        self.model, self.cursor = model, cursor
        self._relayout()
        if self.selected is None:
            self._scroll_to_row(self.current_row)
        self.refresh()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip().lower()
        self._relayout()
        self.refresh()

    @property
    def visible_rows(self) -> list[Row]:
        """The rows shown, top to bottom (after folding and filtering)."""
        if self.model is None:
            return []
        return [self.model.rows[number] for number in self._visible]

    @property
    def current_row(self) -> int:
        return -1 if self.model is None else self.model.row_for(self.cursor)

    @property
    def selected_row(self) -> Row | None:
        """The row the user selected, or the cursor's row when following."""
        if self.model is None:
            return None
        number = self.current_row if self.selected is None else self.selected
        return self.model.rows[number] if 0 <= number < len(self.model.rows) else None

    def inspect_index(self, row: Row) -> int:
        """The history event that shows `row` best at the cursor: its backward once done."""
        if row.backward is not None and self.cursor >= row.backward:
            return row.backward
        return row.index

    # ----------------------------------------------------------------- layout of the lines
    def _relayout(self) -> None:
        model = self.model
        key = (id(model), -1 if model is None else model.version, self.filter_text,
               len(self.collapsed))
        if key == self._built_version:
            return
        self._built_version = key
        visible: list[int] = []
        if model is not None:
            text = self.filter_text
            for number, row in enumerate(model.rows):
                if text:
                    if row.kind != "group" and text in row.search:
                        visible.append(number)
                elif row.kind == "group" or row.group < 0 or \
                        model.rows[row.group].index not in self.collapsed:
                    visible.append(number)
        self._visible = visible
        self._line_of = {number: line for line, number in enumerate(visible)}
        self._fit_virtual_size()

    def _line_for(self, number: int) -> int:
        """The line showing row `number`, or its folded header's line."""
        if self.model is None or number < 0:
            return -1
        line = self._line_of.get(number)
        if line is None:
            group = self.model.rows[number].group
            line = self._line_of.get(group, -1)
        return line

    def _scroll_to_row(self, number: int) -> None:
        line = self._line_for(number)
        if line >= 0:
            self.scroll_to_region(Region(0, line, 1, 1), animate=False, immediate=True,
                                  spacing=Spacing(2, 0, 2, 0) if self.size.height > 8 else None)

    # ----------------------------------------------------------------- drawing
    def render_line(self, y: int) -> Strip:
        line = self.scroll_offset.y + y
        width = self.size.width
        if self.model is None or line >= len(self._visible):
            if self.model is None and y == 0:
                return Strip([Segment("(no events yet)", self._style(
                    "tape--dim"))]).adjust_cell_length(width)
            return Strip.blank(width, self.rich_style)
        number = self._visible[line]
        row = self.model.rows[number]
        mark = 0
        if number == self.current_row or (self._line_of.get(self.current_row) is None
                                          and row.kind == "group"
                                          and self._line_for(self.current_row) == line):
            mark = 1
        elif number == self.selected:
            mark = 2
        key = (number, mark, self.cursor >= row.index,
               row.backward is not None and self.cursor >= row.backward,
               row.index in self.collapsed, row.count, width)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        strip = Strip(self._segments(row)).crop(0, width).adjust_cell_length(width)
        if mark:   # under the segments' own colours, over the background
            strip = strip.apply_style(self._style("tape--current" if mark == 1
                                                  else "tape--selected", partial=False))
        strip = strip.apply_style(self.rich_style)
        if len(self._strips) > 4096:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def _segments(self, row: Row) -> list[Segment]:
        indent = "  " * row.depth
        if row.kind == "group":
            fold = "▸" if row.index in self.collapsed else "▾"
            style = self._style("tape--group")
            return [Segment(f"{indent}{fold} {row.label}", style),
                    Segment(f" {row.op} ·{row.count}", self._style("tape--op"))]
        if row.kind == "mark":
            dim = self.cursor < row.index
            style = self._style("tape--dim" if dim else "tape--mark")
            return [Segment(f"{indent}── {row.label}", style)]
        done = self.cursor >= row.index
        back = row.backward is not None and self.cursor >= row.backward
        dim_style = self._style("tape--dim")
        grad_style = Style(color=magnitude_color(row.grad_norm), bold=True) if back else dim_style
        segments = [
            Segment(indent),
            Segment("●" if done else "○", Style() if done else dim_style),
            Segment("◀" if back else "·", grad_style),
            Segment(f" {row.label} ", Style(bold=True) if done else dim_style),
            Segment(f"{row.op} {row.shape}", self._style("tape--op")),
        ]
        if back and row.grad_norm is not None:
            segments.append(Segment(f" |g|={number(row.grad_norm)}", grad_style))
        return segments

    def _style(self, name: str, partial: bool = True) -> Style:
        return self.get_component_rich_style(name, partial=partial)

    # ----------------------------------------------------------------- user input
    def _select(self, number: int) -> None:
        if self.model is None or not self._visible:
            return
        self.selected = number
        self._scroll_to_row(number)
        self.refresh()
        self.post_message(self.NodeSelected(self.inspect_index(self.model.rows[number])))

    def action_move(self, delta: int) -> None:
        if not self._visible:
            return
        start = self.selected if self.selected is not None else self.current_row
        line = self._line_for(start)
        line = 0 if line < 0 else max(0, min(len(self._visible) - 1, line + delta))
        self._select(self._visible[line])

    def action_edge(self, end: int) -> None:
        if self._visible:
            self._select(self._visible[-1 if end else 0])

    def action_toggle_group(self) -> None:
        row = self.selected_row
        if row is None or self.model is None:
            return
        header = row if row.kind == "group" else (
            self.model.rows[row.group] if row.group >= 0 else None)
        if header is None:
            return
        self.collapsed ^= {header.index}
        self._built_version = (-1, -1, "", 0)
        self._relayout()
        self.selected = self.model.rows.index(header)
        self._scroll_to_row(self.selected)
        self.refresh()

    def action_follow(self) -> None:
        """Drop the selection and follow the program's cursor again."""
        self.selected = None
        self._scroll_to_row(self.current_row)
        self.refresh()
        row = self.selected_row
        if row is not None:
            self.post_message(self.NodeSelected(self.inspect_index(row)))

    def on_click(self, event: Click) -> None:
        line = self.scroll_offset.y + event.y
        if 0 <= line < len(self._visible):
            number = self._visible[line]
            if self.model is not None and self.model.rows[number].kind == "group" \
                    and event.chain >= 2:
                self.selected = number
                self.action_toggle_group()
            else:
                self._select(number)

    def on_resize(self) -> None:
        self._fit_virtual_size()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.restyle()

    def restyle(self) -> None:
        """The theme changed: forget the drawn rows and draw them again with its colours."""
        self._strips = {}
        self.refresh()

    def _fit_virtual_size(self) -> None:
        set_virtual_size(self, Size(self.size.width, len(self._visible)))
