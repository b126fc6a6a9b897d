"""SVG snapshots of the main screen at 120x40 (and one at 80x24), from seeded programs.

Update after a deliberate change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the report before committing the new SVGs.
"""

from __future__ import annotations

import tui_programs as programs
from tui_helpers import SIZE, settle


def prepare(*commands: str):
    """A run_before that runs command lines one after another, waiting for each."""

    async def run_before(pilot) -> None:
        await settle(pilot)
        for line in commands:
            pilot.app.submit_command(line)
            await settle(pilot)

    return run_before


def test_after_start(snap_compare, make_app):
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=prepare())


def test_after_a_few_steps(snap_compare, make_app):
    app = make_app()
    assert snap_compare(app, terminal_size=SIZE, run_before=prepare(*["step"] * 6))


def test_at_a_breakpoint(snap_compare, make_app):
    app = make_app(programs.tiny_mlp, 2)
    assert snap_compare(app, terminal_size=SIZE,
                        run_before=prepare("break relu", "continue", "continue"))


def test_backward_step_with_a_heatmap(snap_compare, make_app):
    app = make_app(programs.wide_grad)
    assert snap_compare(app, terminal_size=SIZE,
                        run_before=prepare("break backward mul", "continue"))


def test_channel_grid_at_80x24(snap_compare, make_app):
    app = make_app(programs.conv_net)
    assert snap_compare(app, terminal_size=(80, 24),
                        run_before=prepare("break backward conv2d", "continue"))


def test_light_theme_at_a_backward_step(snap_compare, make_app):
    app = make_app(programs.wide_grad)

    async def run_before(pilot) -> None:
        await prepare("break backward mul", "continue")(pilot)
        await pilot.press("ctrl+t")  # Textual's light theme
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
