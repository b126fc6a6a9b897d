"""The Graph view (issue 15): `v` swaps it for the inspector; it follows `step` and `back`,
colours boxes by |grad|, and a click on a box inspects that node."""

from __future__ import annotations

import tui_programs as programs
from tui_helpers import SIZE, press, settle

from stepgrad.tui.widgets.graph_view import GraphView


async def _drawn(pilot) -> GraphView:
    view = pilot.app.query_one(GraphView)
    for _ in range(200):
        await settle(pilot)
        if view.is_drawn and view.drawing is not None:
            return view
        await pilot.pause(0.01)
    raise AssertionError("the graph view did not draw")


async def _graph_at(pilot, breakpoint: str) -> GraphView:
    """Continue to `breakpoint`, press `v`, and wait for the Graph view's drawing."""
    await settle(pilot)
    pilot.app.submit_command(f"break {breakpoint}")
    pilot.app.submit_command("continue")
    await settle(pilot)
    await press(pilot, "v")
    return await _drawn(pilot)


async def test_v_shows_the_graph_and_it_follows_step_and_back(make_app):
    app = make_app(programs.tiny_mlp)
    async with app.run_test(size=SIZE) as pilot:
        view = await _graph_at(pilot, "relu")
        assert app.query_one(GraphView).display and not app.query_one("#inspector").display
        first = view.text
        assert "◀ here" in first
        steps = 0
        while steps == 0 or not hasattr(app.state.event, "node_id"):
            await press(pilot, "s")
            steps += 1
        view = await _drawn(pilot)
        assert f"╔═ {app.state.event.name} " in view.text and view.text != first
        await press(pilot, *["r"] * steps)
        view = await _drawn(pilot)
        assert view.text == first
        await press(pilot, "v")
        assert not app.query_one(GraphView).display and app.query_one("#inspector").display


async def test_backward_marks_the_walked_path(make_app):
    app = make_app(programs.tiny_mlp)
    async with app.run_test(size=SIZE) as pilot:
        text = (await _graph_at(pilot, "backward relu")).text
        assert "╔═ relu_1 " in text and "┏━ linear_2 " in text and "|grad|" in text


async def test_a_click_on_a_box_inspects_that_node(make_app):
    app = make_app(programs.tiny_mlp)
    async with app.run_test(size=SIZE) as pilot:
        view = await _graph_at(pilot, "backward relu")
        target = next(i for i, n in view.graph.nodes.items() if n.name == "linear_1")
        row, col, width, _ = view.drawing.boxes[target]
        await pilot.click(GraphView, offset=(col + width // 2 - view.scroll_offset.x + 1,
                                             row + 1 - view.scroll_offset.y + 1))
        await settle(pilot)
        status = app.query_one("#status")
        assert app.state.cursor != view.graph.made_at[target]   # the program stays put
        await press(pilot, "v")
        assert "linear_1" in app.query_one("#inspector").text
        assert status is not None


def test_graph_view_snapshot(snap_compare, make_app):
    app = make_app(programs.tiny_mlp)

    async def run_before(pilot) -> None:
        await settle(pilot)
        pilot.app.submit_command("break backward relu")
        pilot.app.submit_command("continue")
        await settle(pilot)
        await pilot.press("v")
        view = await _drawn(pilot)
        # the view scrolls to the current box as soon as it is drawn, and whether its
        # scrollbar had appeared by then moved it by a column between runs: pin the scroll
        view.scroll_to(0, 0, animate=False, immediate=True)
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
