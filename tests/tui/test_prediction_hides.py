"""A lesson's open prediction hides its answer in the full-screen app too (issue 12): the
inspector shows neither the sent gradient nor its local derivative, and the Graph view shows
the graph as it stood before the step, until the learner predicts or skips."""

from __future__ import annotations

from tui_helpers import SIZE, inspector_text, press, settle

from stepgrad.debug import Commands, Session
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor
from stepgrad.tui.app import StepgradApp


def _lesson_one_app() -> tuple[StepgradApp, Session]:
    lesson = get_lesson(1)
    tutor = Tutor(lesson, None, Progress(autosave=False))
    session = Session(lesson.program(None), name="lesson 1")
    session.start()
    return StepgradApp(session, Commands(session, tutor=tutor), lesson=lesson), session


async def test_the_sent_gradient_stays_hidden_until_predict_or_skip():
    app, session = _lesson_one_app()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.submit_command("break backward")
            app.submit_command("continue")
            await settle(pilot)
            tutor = app.commands.tutor
            assert tutor.hidden(app.state.event) == "grads"
            text = " ".join(inspector_text(app).split())  # the pane wraps long lines
            assert "hidden until you answer" in text and "= sent to input" not in text
            await press(pilot, "v")
            graph = app.query_one("#graph")
            for _ in range(100):
                await settle(pilot)
                if graph.is_drawn and graph.drawing is not None:
                    break
            name = app.state.event.name
            assert f"╔═ {name} " in graph.text and "┏━" not in graph.text  # nothing walked yet
            await press(pilot, "v")
            app.submit_command("predict skip")
            await settle(pilot)
            assert tutor.hidden(app.state.event) is None
            assert "= sent to input" in inspector_text(app)
    finally:
        session.close()
