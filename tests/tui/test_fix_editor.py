"""`fix` in the full-screen app opens $EDITOR: the command worker asks the UI thread to
suspend the app (App.suspend), run the editor on the learner's file and resume, and the log
shows the usual fix message. Where the app cannot suspend (a browser, the headless driver)
it says so in one line.

The headless test driver cannot suspend (Driver.can_suspend is False); the tests that go
through the suspension give it can_suspend and record its suspend and resume calls, so the
real App.suspend code runs. tests/tui/test_tmux_fix_editor.py does it in a real terminal."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.drivers.headless_driver import HeadlessDriver
from tui_helpers import SIZE, log_text, settle

from stepgrad.debug import Commands, Session
from stepgrad.lessons.fixing import fix_path
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor
from stepgrad.tui.app import StepgradApp

MARK = "# a line the fake editor added"


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$EDITOR is a script that appends MARK to the file it is given."""
    script = tmp_path / "fake-editor"
    script.write_text(f'#!/bin/sh\necho "{MARK}" >> "$1"\n')
    script.chmod(0o755)
    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EDITOR", str(script))
    monkeypatch.delenv("VISUAL", raising=False)
    return script


@pytest.fixture
def suspensions(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Let the headless driver suspend; each suspend and resume is recorded with its thread."""
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda self: True))
    resume = HeadlessDriver.resume_application_mode

    def suspending(self: HeadlessDriver) -> None:
        calls.append(("suspend", threading.get_ident()))

    def resuming(self: HeadlessDriver) -> None:
        calls.append(("resume", threading.get_ident()))
        resume(self)

    monkeypatch.setattr(HeadlessDriver, "suspend_application_mode", suspending)
    monkeypatch.setattr(HeadlessDriver, "resume_application_mode", resuming)
    return calls


def _has(log: str, text: str) -> bool:
    """`text` is in the log, however the log wrapped it."""
    return "".join(text.split()) in "".join(log.split())


def _lesson_app() -> tuple[StepgradApp, Session, Path]:
    lesson = get_lesson(4)
    tutor = Tutor(lesson, "relu-times-activation", Progress(autosave=False))
    session = Session(tutor.program(), name="lesson 4")
    session.start()
    app = StepgradApp(session, Commands(session, tutor=tutor), lesson=lesson)
    return app, session, fix_path(lesson, tutor.bug)


async def test_fix_suspends_the_app_runs_the_editor_and_resumes(editor, suspensions) -> None:
    app, session, path = _lesson_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            ui_thread = threading.get_ident()
            app.submit_command("reveal")  # `fix` comes after the bug is found
            await settle(pilot)
            app.submit_command("fix")
            await settle(pilot)
            log = log_text(app)
            assert _has(log, f"The code at fault is in {path} (edited with {editor})")
            assert _has(log, "Edit it, save it, then `fix check`")
            assert path.read_text().endswith(MARK + "\n")       # the editor ran on the file
            assert suspensions == [("suspend", ui_thread), ("resume", ui_thread)]
            app.submit_command("step")                           # the app goes on
            await settle(pilot)
            assert "#1" in log_text(app)
    finally:
        session.close()


async def test_an_editor_that_cannot_start_is_one_line_and_the_app_resumes(
        editor, suspensions, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITOR", str(editor.parent / "no-such-editor"))
    app, session, path = _lesson_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.submit_command("reveal")  # `fix` comes after the bug is found
            await settle(pilot)
            app.submit_command("fix")
            await settle(pilot)
            assert _has(log_text(app),
                        f"(could not start {editor.parent / 'no-such-editor'}: No such file")
            assert [call for call, _ in suspensions] == ["suspend", "resume"]
            assert "Traceback" not in log_text(app)
    finally:
        session.close()


@pytest.mark.parametrize(("web", "where"), [(False, "here"), (True, "in a browser")])
async def test_where_the_app_cannot_suspend_it_says_so(
        editor, monkeypatch: pytest.MonkeyPatch, web: bool, where: str) -> None:
    monkeypatch.setattr(HeadlessDriver, "is_web", property(lambda self: web))
    app, session, path = _lesson_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.submit_command("reveal")  # `fix` comes after the bug is found
            await settle(pilot)
            app.submit_command("fix")
            await settle(pilot)
            log = log_text(app)
            assert _has(log, f"The code at fault is in {path} (the app cannot lend its "
                             f"terminal to an editor {where}: open the file in your own editor)")
            assert MARK not in path.read_text()
    finally:
        session.close()
