"""A few thousand random keys: the app stays alive and consistent.

Keys come from every binding, navigation, typing and screen keys; the only ones held
back are those that would legitimately end the app: `y`, `q` and Ctrl-Q once the program
has ended, and Enter in the command palette (whose fuzzy match may pick Quit). Every 50
keys the test waits for the queue to drain and checks that the cursor lies within the
recorded history and the tape shows a row for it.

Then the races that crashed Textual: Ctrl-Q quickly followed by Ctrl-P and typing, with
the program alive (the app asks) and ended (the app quits at once), and the palette at 20
columns. Any exception inside the app fails the test (Pilot re-raises it).
"""

from __future__ import annotations

import random

import pytest
import tui_programs as programs
from textual.command import CommandPalette
from tui_helpers import SIZE, settle

from stepgrad.tui.screens.quit_screen import QuitScreen
from stepgrad.tui.widgets.tape import Tape

KEYS = ["s"] * 6 + ["n", "c", "f", "r", "left", "b", "g", "i", "w", "p", "slash", "escape",
        "tab", "shift+tab", "up", "down", "home", "end", "pageup", "enter", "space",
        "question_mark", "escape", "t", "ctrl+t", "q", "n", "colon", "x", "1", "backspace",
        "ctrl+p", "escape", "escape", "ctrl+q", "ctrl+q", "ctrl+p"]
RACE_KEYS = ["ctrl+q", "ctrl+p", "s", "t", "e", "p", "q", "n", "escape", "enter", "backspace",
             "down", "colon"]


def check(app) -> None:
    state = app.session.state
    assert app.is_running
    assert state.status in ("paused", "finished", "crashed", "closed")
    assert state.first <= state.cursor <= state.head
    tape = app.query_one(Tape)
    if tape.model is not None and app.state is not None and app.busy == 0:
        assert app.state.cursor in tape.model
        assert 0 <= tape.current_row < len(tape.model.rows)


async def test_thousands_of_random_keys(make_app):
    rng = random.Random(1234)
    app = make_app(programs.tiny_mlp, 30)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for count in range(1, 2001):
            key = rng.choice(KEYS)
            if key in ("q", "ctrl+q") and app.session.status not in ("paused", "running"):
                continue
            if key == "enter" and isinstance(app.screen, CommandPalette):
                key = "escape"
            await pilot.press(key)
            if count % 50 == 0:
                while isinstance(app.screen, QuitScreen):
                    await pilot.press("n")
                await settle(pilot)
                check(app)
        for _ in range(4):
            await pilot.press("escape")
        await settle(pilot)
        check(app)
        assert app.session.state.total > 1


async def leave(pilot) -> None:
    """Close whatever is open and quit for good, waiting for the app to end."""
    app = pilot.app
    for _ in range(200):
        if not app.is_running:
            return
        if isinstance(app.screen, QuitScreen):
            await pilot.press("y")
        elif isinstance(app.screen, CommandPalette):
            await pilot.press("escape")
        else:
            await pilot.press("ctrl+q")
        await pilot.pause(0.05)
    raise AssertionError("the app did not end")


@pytest.mark.parametrize("program_ended", [False, True])
async def test_ctrl_q_and_ctrl_p_races(make_app, program_ended):
    rng = random.Random(99)
    for _ in range(6):
        app = make_app(programs.tiny_mlp, 2)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            if program_ended:
                await pilot.press("c")
                await settle(pilot)
            await pilot.press("ctrl+q", "ctrl+p", *rng.choices(RACE_KEYS, k=12))
            if rng.random() < 0.5:
                await pilot.resize_terminal(20, 10)
                await pilot.press("ctrl+p", *rng.choices(RACE_KEYS, k=4))
                await pilot.resize_terminal(*SIZE)
            await leave(pilot)
        assert app.return_code == 0 and app.session.status in ("closed", "finished")
