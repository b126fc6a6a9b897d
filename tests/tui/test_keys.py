"""Every key and the command line, through Textual's Pilot, against a real Session.

Each key is a shortcut for a command name; the assertions look at the session's cursor
(the program's position) and at what the widgets show.
"""

from __future__ import annotations

import tui_programs as programs
from tui_helpers import SIZE, inspector_text, log_text, press, settle, text_of

from stepgrad import events as ev
from stepgrad.tui.screens.help_screen import HelpScreen
from stepgrad.tui.screens.quit_screen import QuitScreen
from stepgrad.tui.screens.too_small_screen import TooSmallScreen
from stepgrad.tui.widgets.command_line import CommandLine
from stepgrad.tui.widgets.tape import Tape


async def test_step_moves_one_event_and_the_tape_follows(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.session.state.cursor == 0
        await press(pilot, "s", "s", "s")
        state = app.session.state
        assert state.cursor == 3 and isinstance(state.event, ev.ForwardStep)
        tape = app.query_one(Tape)
        assert tape.selected_row.label == state.event.name
        assert state.event.name in inspector_text(app)


async def test_back_with_r_and_left_arrow(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "s", "s", "s", "s")
        await press(pilot, "r")
        assert app.session.state.cursor == 3
        await press(pilot, "left")
        assert app.session.state.cursor == 2


async def test_next_steps_over_a_module(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "s")            # enter <model>
        await press(pilot, "n")
        event = app.session.state.event
        assert isinstance(event, ev.ModuleExit) and event.path == ""
        assert app.session.state.cursor > 8   # every node of the model stepped over


async def test_finish_leaves_the_forward_pass(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "s", "s", "s")                  # in module 0, at linear_1
        await press(pilot, "f")
        event = app.session.state.event
        assert isinstance(event, ev.ModuleExit) and event.path == "0"


async def test_continue_runs_to_the_end_and_the_training_pane_fills(make_app):
    app = make_app(programs.tiny_mlp, 3)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        state = app.session.state
        assert state.status == "finished" and len(state.losses) == 3
        label = text_of(app.query_one("#training-loss-label"))
        assert "3 iterations" in label
        assert set(state.ratios) == {"0.weight", "0.bias", "2.weight", "2.bias"}
        ratios = text_of(app.query_one("#training-ratios"))
        assert "update / weight" in ratios and "2.weight" in ratios


async def test_b_toggles_a_breakpoint_on_the_selected_node(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "s", "s", "s")                  # at linear_1's forward
        await press(pilot, "b")
        assert [bp.spec for bp in app.session.state.breakpoints] == ["linear_1"]
        await press(pilot, "b")
        assert app.session.state.breakpoints == ()
        app.submit_command("goto 16")                       # backward of iteration 0
        await settle(pilot)
        await press(pilot, "home", "down", "down", "down", "down", "b")   # select relu_1
        assert [bp.spec for bp in app.session.state.breakpoints] == ["relu_1"]
        await press(pilot, "c")
        state = app.session.state
        assert state.event.name == "relu_1" and state.cursor > 16
        assert "relu_1" in text_of(app.query_one("#breakpoints-body"))


async def test_gradcheck_where_and_step_into(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "s", "s", "s", "g")
        assert "gradcheck linear_1" in log_text(app)
        await press(pilot, "w")
        assert "forward phase" in log_text(app)
        await press(pilot, "i")
        line = app.session.state.line
        assert line is not None and line.op == "linear"
        await press(pilot, "s")
        assert app.session.state.line.position == 1
        assert "step into" in app.query_one("#source").text


async def test_selecting_a_row_inspects_without_moving(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        cursor = app.session.state.cursor
        await press(pilot, "home")
        tape = app.query_one(Tape)
        assert tape.selected == 0
        await press(pilot, "down", "down")
        assert app.session.state.cursor == cursor
        assert "the program is elsewhere" in " ".join(inspector_text(app).split())
        await press(pilot, "escape")
        assert tape.selected is None


async def test_clicking_a_row_selects_it(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        cursor = app.session.state.cursor
        await pilot.click(Tape, offset=(6, 3))
        await settle(pilot)
        tape = app.query_one(Tape)
        assert tape.selected is not None and app.session.state.cursor == cursor


async def test_enter_folds_a_module(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", "home", "down")             # the first module header
        tape = app.query_one(Tape)
        before = len(tape.visible_rows)
        await press(pilot, "enter")
        assert len(tape.visible_rows) == before - 1
        await press(pilot, "enter")
        assert len(tape.visible_rows) == before


async def test_slash_filters_the_tape(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c", "slash")
        await pilot.press(*"relu")
        await settle(pilot)
        tape = app.query_one(Tape)
        assert [row.label for row in tape.visible_rows] == ["relu_1"]
        await press(pilot, "escape")
        assert len(tape.visible_rows) > 1 and app.focused is tape


async def test_tab_cycles_the_panes(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = []
        for _ in range(8):
            seen.append(app.focused.id)
            await press(pilot, "tab")
        assert {"tape", "inspector", "source", "log", "command"} <= set(seen)


async def test_help_screen_lists_every_command(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(text_of(s, 200) for s in app.screen.query("Static"))
        for info in app.commands.infos():
            assert info.name in text
        await press(pilot, "escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_q_asks_while_the_program_runs(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "q")
        assert isinstance(app.screen, QuitScreen)
        await press(pilot, "n")
        assert not isinstance(app.screen, QuitScreen) and app.is_running
        await press(pilot, "q")
        await pilot.press("y")
        for _ in range(100):
            if not app.is_running:
                break
            await pilot.pause(0.02)
        assert app.session.status == "closed"
    assert app.return_code == 0


async def test_q_quits_at_once_when_the_program_has_ended(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        await pilot.press("q")
        for _ in range(100):
            if not app.is_running:
                break
            await pilot.pause(0.02)
    assert app.return_code == 0


async def test_pause_key_stops_a_long_continue(make_app):
    app = make_app(programs.tiny_mlp, 100_000)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")
        for _ in range(200):
            await pilot.pause(0.01)
            if app.session.state.iteration is not None and app.session.state.iteration > 2:
                break
        assert app.session.status == "running"
        await pilot.press("p")
        await settle(pilot)
        state = app.session.state
        assert state.status == "paused" and state.reason == "interrupted"
        assert text_of(app.query_one("#training-loss-label")) != "loss: no iterations yet"


async def test_keys_pressed_while_busy_run_once_each_in_order(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(12):
            await pilot.press("s")          # no waiting: they queue up
        await press(pilot, "r", "r")
        assert app.session.state.cursor == 10


async def test_letters_typed_in_the_command_line_are_not_keys(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "colon")
        assert isinstance(app.focused, CommandLine)
        await pilot.press(*"step 3")
        await settle(pilot)
        assert app.session.state.cursor == 0     # s, t, e, p were typed, not run
        await press(pilot, "enter")
        assert app.session.state.cursor == 3
        await press(pilot, "colon", "enter")     # an empty line repeats the last move
        assert app.session.state.cursor == 6
        assert "(sg) step 3" in log_text(app)


async def test_command_line_completion_and_history(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "colon")
        await pilot.press(*"conti")
        await pilot.pause(0.1)
        command = app.query_one(CommandLine)
        await press(pilot, "tab")
        assert command.value == "continue"
        command.value = ""
        await pilot.press(*"print out.shape")
        await press(pilot, "enter")
        assert app.focused is app.query_one(Tape)      # Enter ran it and gave the focus back
        await press(pilot, "colon", "up")
        assert command.value == "print out.shape"


async def test_errors_from_commands_are_shown_not_raised(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.submit_command("print no_such_name")
        app.submit_command("frobnicate")
        await settle(pilot)
        assert "***" in log_text(app) and app.is_running


async def test_palette_runs_a_command(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await pilot.press(*"step")
        await pilot.pause(0.5)
        await press(pilot, "enter")
        await settle(pilot)
        assert app.session.state.cursor == 1


async def test_too_small_terminal_says_so_then_recovers(make_app):
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, TooSmallScreen)
        assert "80x24" in text_of(app.screen.query_one("#too-small-text"))
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert not isinstance(app.screen, TooSmallScreen)
        await press(pilot, "s")
        assert app.session.state.cursor == 1


async def test_theme_toggle_and_80x24(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+t")
        assert not app.current_theme.dark
        await press(pilot, "s", "s", "s", "t")
        assert app.query_one("#side").display
        assert app.session.state.cursor == 3


async def test_crash_shows_the_traceback(make_app):
    app = make_app(programs.crashes)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "c")
        assert app.session.state.status == "crashed"
        assert "ValueError: boom" in log_text(app)


async def test_session_started_by_the_app(make_app):
    app = make_app(start=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.session.state.status == "paused"
        await press(pilot, "s")
        assert app.session.state.cursor == 1


class Lesson:
    number, title = 1, "The chain rule"
    text = "Backprop multiplies **local derivatives** along the path."
    goals = ("Step to the first backward step.",)
    target = "find the bug"


async def test_lesson_pane_shows_the_lesson(make_app):
    app = make_app(lesson=Lesson())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one("#lesson")
        assert pane.lesson.title == "The chain rule"
        pane.add_note("hint", "look at relu")
        await settle(pilot)
        assert pane.notes and "look at relu" in pane.notes[0]
