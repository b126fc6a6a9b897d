"""The full-screen app's features for a learner's own program (issue 10, section 5).

The program's output in the log and on the terminal afterwards, a log that scrolls and
grows, the focus coming back after a `:` command, the footer at 80x24, the step-into line
in view, the lesson pane's markdown, the training tab's epoch count, screenshots.
"""

from __future__ import annotations

import pytest
import tui_programs as programs
from tui_helpers import SIZE, log_text, press, settle, text_of

from stepgrad.debug import Commands, Session
from stepgrad.tui.app import run_app
from stepgrad.tui.widgets.command_line import CommandLine
from stepgrad.tui.widgets.command_log import CommandLog
from stepgrad.tui.widgets.inspector import Inspector
from stepgrad.tui.widgets.training_pane import TrainingPane


@pytest.mark.filterwarnings("ignore:a warning from the program")
async def test_the_programs_output_shows_in_the_log_as_it_is_written(make_app):
    app = make_app(programs.chatty, start=False)     # the app starts it, under its eyes
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)                 # paused at the first op: the first print was before
        assert "before the graph" in log_text(app)
        assert "loss is" not in log_text(app)
        await press(pilot, "c")
        text = log_text(app)
        for printed in ("loss is 9.0", "a line on stderr", "a log record from the program",
                        "after backward"):
            assert printed in text
        assert text.index("before the graph") < text.index("loss is")


@pytest.mark.filterwarnings("ignore:a warning from the program")
def test_what_the_program_printed_is_on_the_terminal_after_the_app(capsys):
    session = Session(programs.chatty, name="chatty")

    async def drive(pilot) -> None:
        await settle(pilot)
        await press(pilot, "c")
        await pilot.press("q")

    try:
        status = run_app(session, Commands(session), headless=True, size=SIZE,
                         auto_pilot=drive)
    finally:
        session.close()
    printed = capsys.readouterr()
    assert status == 0
    assert "before the graph\nloss is 9.0\n" in printed.out
    assert "a log record from the program" in printed.out + printed.err


async def test_the_log_grows_and_scrolls_with_keys(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.submit_command("help")
        await settle(pilot)
        log = app.query_one(CommandLog)
        small = log.size.height
        bottom = log.scroll_offset.y
        assert bottom > 0                             # help is longer than the log
        await press(pilot, "o")
        assert app.focused is log and log.size.height > small
        await press(pilot, "pageup", "home")
        assert log.scroll_offset.y == 0
        await press(pilot, "o")
        assert log.size.height == small and app.focused is not log


async def test_focus_returns_after_a_command(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        inspector = app.query_one(Inspector)
        inspector.focus()
        await press(pilot, "colon")
        assert isinstance(app.focused, CommandLine)
        await pilot.press(*"step 2", "enter")
        await settle(pilot)
        assert app.focused is inspector and app.session.state.cursor == 2
        await press(pilot, "s")                      # a key again, not a letter typed
        assert app.session.state.cursor == 3
        await press(pilot, "colon", "escape")
        assert app.focused is inspector


async def test_the_footer_at_80x24_shows_help_and_quit(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one("KeyFooter")
        shown = {key.key for key in footer.query("FooterKey")
                 if key.display and key.region.right <= 80 and key.region.width > 0}
        assert {"question_mark", "q", "s", "n", "c"} <= shown


async def test_step_into_shows_the_line_and_its_locals_at_120x40(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "s", "s", "s", "i", "s")      # linear_1's forward, second line
        source = app.query_one("#source")
        top = source.scroll_offset.y
        visible = [s.text for s in source.lines[top: top + source.scrollable_content_region.height]]
        assert any(line.startswith("❱") for line in visible)
        assert any("locals before this line" in line for line in visible)
        state_line = app.session.state.line
        assert any(f"{state_line.lineno}" in line and line.startswith("❱") for line in visible)


class Lesson:
    number, title = 1, "The chain rule"
    text = "Backprop multiplies **local derivatives** along the path."
    goals = ("Step to the first backward step.",)
    target = "find the bug"


async def test_the_lesson_pane_renders_the_tutors_markdown(make_app):
    app = make_app(lesson=Lesson())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one("#lesson")
        pane.add_note("diagnose relu backward",
                      "Solved! **ReLU's backward** lets the gradient through where x < 0.\n"
                      "Type `fixed` to see training with the bug removed, a long line that "
                      "has to wrap in a pane forty columns wide.\n"
                      "  iteration   loss\n  0           2.30")
        await settle(pilot)
        notes = pane.query_one("#lesson-notes")
        prose = " ".join(text_of(p, 200) for p in notes.query("MarkdownParagraph"))
        assert "ReLU's backward" in prose and "**" not in prose and "`" not in prose
        assert "has to wrap" in prose
        assert any("iteration   loss" in fence.code for fence in notes.query("MarkdownFence"))


class Progress:
    """A State-like object for the training pane."""

    def __init__(self, iteration: int, epoch: int) -> None:
        self.iteration, self.epoch = iteration, epoch
        self.losses, self.metrics, self.ratios = ((iteration, 1.0),), (), {}


async def test_the_training_tab_never_counts_past_the_epoch(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        pane = app.query_one(TrainingPane)
        for iteration in range(21):                       # epoch 0: 21 iterations
            pane.show(Progress(iteration, 0))
        for iteration in range(23):                       # epoch 1 is longer: 23
            pane.show(Progress(iteration, 1))
            label = text_of(app.query_one("#training-epoch-label"))
            done, _, total = label.rpartition("iteration ")[2].partition("/")
            assert not total or int(done) <= int(total), label
        assert "iteration 23" in label


async def test_a_screenshot_goes_to_the_data_directory(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOME", str(tmp_path / "nohome"))      # no ~/Downloads
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.deliver_screenshot()
        for _ in range(200):
            await pilot.pause(0.02)
            saved = list((tmp_path / "home" / "screenshots").glob("*.svg"))
            if saved and "screenshot saved" in log_text(app):
                break
        assert len(saved) == 1 and saved[0].read_text().startswith("<svg")
        assert str(saved[0]) in "".join(log_text(app).split())       # (the log may wrap it)


async def test_logging_set_up_before_the_app_shows_in_the_log(make_app):
    import logging
    import sys

    handler = logging.StreamHandler(sys.__stderr__)      # what basicConfig makes at the top
    logger = logging.getLogger("early")
    logger.addHandler(handler)
    try:
        app = make_app(programs.logs_early)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "c")
            assert "logged through an early handler" in log_text(app)
        assert handler.stream is sys.__stderr__                 # given back after the app
    finally:
        logger.removeHandler(handler)


async def test_a_flood_of_output_keeps_the_log_small(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        log = app.query_one(CommandLog)
        log.add_output("".join(f"line {n}\n" for n in range(5000)))
        await pilot.pause()
        text = log_text(app)
        assert "4,000 earlier lines" in text and "line 4999" in text and "line 3999" not in text
        assert len(log.lines) < 1100

