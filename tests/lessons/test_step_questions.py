"""Two prediction questions at one step (lesson 3 asks the weight gradient's shape and
bias[0]'s gradient at the same backward step of linear): each says which it is and how many
the step has, `predict` answers them in order, and the step's gradients stay hidden until
every one of them is answered or skipped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stepgrad.debug import Commands, Session
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor

HIDDEN = "*** hidden until you answer"


@pytest.fixture
def at_linear_backward() -> Iterator[tuple[Tutor, Session, Commands, str]]:
    tutor = Tutor(get_lesson(3), None, Progress(autosave=False))
    session = Session(tutor.program(), name="lesson 3")
    commands = Commands(session, tutor=tutor)
    session.start()
    commands.run("break backward linear")
    shown = commands.run("continue")
    try:
        yield tutor, session, commands, shown
    finally:
        session.close()


def test_each_question_says_which_of_the_step_it_is(at_linear_backward) -> None:
    tutor, session, commands, shown = at_linear_backward
    assert "Predict: (question 1 of 2 at this step)" in shown
    assert "What shape is the gradient the weight receives?" in shown
    assert "bias[0]" not in shown                       # one question at a time
    assert commands.run("p grads").startswith(HIDDEN)

    reply = commands.run("predict 2 4")
    first, _, following = reply.partition("\n")
    assert first.startswith("Right: 2 4.")
    assert following.startswith("Predict: (question 2 of 2 at this step)")
    assert "bias[0]" in following and "shows everything" not in reply
    assert commands.run("p grads").startswith(HIDDEN)     # still hidden: one is open
    assert tutor.hidden(session.state.event) == "grads"
    assert "question 2 of 2" in commands.position()       # shown again at this step

    reply = commands.run("predict 123456")
    assert reply.startswith("Not quite (you said 1.235e+05)")
    assert "All 2 questions at this step are answered: it shows everything now." in reply
    assert "Predict:" not in reply
    assert not commands.run("p grads").startswith(HIDDEN)
    assert tutor.hidden(session.state.event) is None
    assert "There is no question at this step" in commands.run("predict 1")
    assert tutor.predictions == {"right": 1, "asked": 2}


def test_skipping_the_first_keeps_the_step_hidden(at_linear_backward) -> None:
    tutor, session, commands, shown = at_linear_backward
    reply = commands.run("predict skip")
    assert reply.startswith("Skipped question 1 of 2: the step's answers stay hidden")
    assert "Predict: (question 2 of 2 at this step)" in reply
    assert commands.run("info").startswith(HIDDEN)
    reply = commands.run("predict skip")
    assert reply == "Skipped question 2 of 2: the step shows everything now."
    assert not commands.run("info").startswith(HIDDEN)
    assert tutor.predictions == {"right": 0, "asked": 0}    # skips are not counted


def test_a_step_with_one_question_is_not_numbered() -> None:
    tutor = Tutor(get_lesson(5), None, Progress(autosave=False))
    session = Session(tutor.program(), name="lesson 5")
    commands = Commands(session, tutor=tutor)
    session.start()
    try:
        commands.run("break backward mean")
        shown = commands.run("continue")
        assert "Predict: " in shown and "of 1" not in shown and "question 1 of" not in shown
        assert commands.run("predict skip") == "Skipped: the step shows everything now."
    finally:
        session.close()
