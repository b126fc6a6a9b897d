"""The app never dies of its input: quitting races, tiny terminals, huge pastes, crashes.

Each test drives the app through Textual's Pilot as a user would (keys, pastes, resizes)
and checks that the app either goes on or ends with the right exit status.
"""

from __future__ import annotations

import tui_programs as programs
from textual import events
from textual.command import CommandPalette
from tui_helpers import SIZE, log_text, press, settle

from stepgrad.debug import Commands, Session
from stepgrad.tui.app import StepgradApp, run_app
from stepgrad.tui.screens.quit_screen import QuitScreen
from stepgrad.tui.screens.too_small_screen import TooSmallScreen
from stepgrad.tui.widgets.command_line import MAX_LINE, CommandLine


async def wait_until_exit(pilot, seconds: float = 15.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if not pilot.app.is_running:
            return
        await pilot.pause(0.02)
    raise AssertionError("the app did not exit")


async def test_ctrl_q_asks_while_paused_and_stops_the_program(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.session.status == "paused"
        await pilot.press("ctrl+q")
        await pilot.press("y")
        await wait_until_exit(pilot)
    assert app.session.status == "closed" and app.return_code == 0


async def test_ctrl_q_while_the_program_runs_asks_then_ends_it(make_app):
    app = make_app(programs.tiny_mlp, 100_000)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        for _ in range(100):
            await pilot.pause(0.01)
            if app.session.status == "running":
                break
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen) and app.session.status == "running"
        await pilot.press("y")
        await wait_until_exit(pilot)
    assert app.session.status == "closed" and app.return_code == 0


async def test_ctrl_q_then_ctrl_p_and_typing_does_not_crash(make_app):
    # The program has ended, so Ctrl-Q quits at once; the palette must not open while the
    # app shuts down (it crashed with NoMatches: No nodes match 'CommandList').
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "c")
        assert app.session.status == "finished"
        await pilot.press("ctrl+q", "ctrl+p", *"step", "enter")
        await wait_until_exit(pilot)
    assert app.return_code == 0


async def test_ctrl_p_while_the_quit_question_is_open_waits(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q", "ctrl+p", *"step")
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen)
        assert not any(isinstance(s, CommandPalette) for s in app.screen_stack)
        await pilot.press("escape")
        await settle(pilot)
        assert app.is_running and app.session.state.cursor == 0


async def test_keys_do_not_move_the_program_while_the_terminal_is_too_small(make_app):
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.press("s", "n", "c", "colon", "ctrl+p", *"step", "enter")
        await settle(pilot)
        assert app.session.state.cursor == 0 and isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        await press(pilot, "s")
        assert app.session.state.cursor == 1


async def test_palette_and_resizes_at_20_columns(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.resize_terminal(20, 10)
        await pilot.press(*"st", "down", "up")
        await pilot.resize_terminal(*SIZE)
        await pilot.press("escape")
        await pilot.resize_terminal(20, 10)
        await pilot.press("ctrl+p", "x")
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        assert app.is_running and not isinstance(app.screen, TooSmallScreen)
        await press(pilot, "s")
        assert app.session.state.cursor == 1


async def test_a_huge_paste_is_cut_with_one_clear_line(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "colon")
        command = app.query_one(CommandLine)
        command.post_message(events.Paste("p 1 + " + "1 + " * 50_000 + "1"))
        await pilot.press(*"step")
        await settle(pilot)
        assert command.value == "step"        # the paste was refused, typing goes on
        assert log_text(app).count(f"at most {MAX_LINE:,} characters") == 1
        await press(pilot, "enter")
        assert app.session.state.cursor == 1


async def test_typing_past_the_limit_keeps_the_first_characters(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "colon")
        command = app.query_one(CommandLine)
        command.value = "p " + "1" * (MAX_LINE - 3)
        command.cursor_position = len(command.value)
        await pilot.press("2", "3", "4")
        await settle(pilot)
        assert command.value.endswith("12") and len(command.value) == MAX_LINE
        assert f"at most {MAX_LINE:,} characters" in log_text(app)


class BrokenCommands(Commands):
    """Commands with bugs: `frobnicate` raises, and so does the help screen's list."""

    def run(self, line: str) -> str:
        if line == "frobnicate":
            raise RuntimeError("a bug in a command")
        return super().run(line)

    def infos(self):
        raise RuntimeError("a bug in the help")


async def test_a_bug_in_a_command_is_one_line_and_the_app_goes_on():
    session = Session(lambda: programs.tiny_mlp(1), name="tiny")
    session.start()
    app = StepgradApp(session, BrokenCommands(session))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.submit_command("frobnicate")
            await settle(pilot)
            assert "*** internal error in 'frobnicate': RuntimeError: a bug in a command" in \
                log_text(app)
            await press(pilot, "s")
            assert app.is_running and app.session.state.cursor == 1
    finally:
        session.close()


def test_a_crash_inside_the_app_exits_non_zero():
    session = Session(lambda: programs.tiny_mlp(1), name="tiny")

    async def press_help(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")         # the help screen asks for infos(): boom
        await pilot.pause(0.5)

    try:
        status = run_app(session, BrokenCommands(session), headless=True, size=SIZE,
                         auto_pilot=press_help)
    finally:
        session.close()
    assert status != 0


async def test_every_alias_of_quit_asks_first(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for line in ("exit", "q", "quit"):
            app.submit_command(line)
            await pilot.pause()
            assert isinstance(app.screen, QuitScreen), line
            await pilot.press("n")
            await pilot.pause()
        assert app.is_running and app.session.status == "paused"
