"""Prediction questions in every lesson: asked at the moment they teach, the answer hidden
until the learner predicts or skips, checked with a tolerance, explained, counted.

Through the piped REPL (`stepgrad lesson N --repl`) every lesson's questions are answered
wrong, skipped, or right where the answer is a shape; in process, every question is answered
right with the number a first run called correct."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from stepgrad.debug import Commands, Session
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor

# lesson: the breakpoints that reach its questions, in order
BREAKS = {1: ["backward mul"], 2: ["backward mul", "backward div"], 3: ["backward linear"],
          4: ["forward relu", "backward relu"], 5: ["backward mean", "backward log_softmax"],
          6: ["SGD", "backward linear"], 7: ["SGD", "Adam"],
          8: ["backward tanh", "backward linear"], 9: ["forward conv2d", "backward conv2d"],
          10: ["backward max_pool2d", "backward reshape"],
          11: ["forward dropout", "forward batch_norm"],
          12: ["backward mean", "backward max_pool2d"]}
# lesson: a question whose answer is a shape or a constant of the method, and that answer
SHAPES = {3: "2 4", 6: "10 32", 7: "1", 9: "16 8 3 3", 10: "64 16 2 2"}
LESSONS = [pytest.param(n, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}") for n in BREAKS]


def _script(n: int) -> str:
    lines = []
    for i, spec in enumerate(BREAKS[n]):
        lines += [f"break {spec}", "continue", "p grads" if i == 0 else "info"]
        lines.append(SHAPES[n] if i == len(BREAKS[n]) - 1 and n in SHAPES else
                     "predict skip" if i == 1 else "predict 123456")
        lines.append(f"clear {i + 1}")
    return "\n".join(lines + ["quit"]) + "\n"


@pytest.mark.parametrize("n", LESSONS)
def test_quiz_through_the_piped_repl(n: int, tmp_path) -> None:
    env = {**os.environ, "STEPGRAD_HOME": str(tmp_path), "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "stepgrad", "lesson", str(n), "--no-bug",
                           "--repl"], input=_script(n), capture_output=True, text=True,
                          timeout=300, env=env)
    out = done.stdout
    assert done.returncode == 0, done.stderr
    assert out.count("Predict:") >= min(2, len(BREAKS[n])), out[-3000:]
    assert "hidden until you answer" in out                 # no peeking before predicting
    if "predict 123456" in _script(n):
        assert "Not quite" in out and "1.235e+05" in out      # a wrong answer is explained
    if n in SHAPES:
        assert "\nRight: " in out, out[-3000:]
    if "predict skip" in _script(n):
        assert "Skipped" in out
    assert "Traceback" not in out + done.stderr


def _answers(n: int, said: str | None, progress: Progress) -> list[str]:
    """Reach each question of lesson n in process; answer `said`, or else the number the
    answer text of a wrong guess called right (the runs are deterministic)."""
    tutor = Tutor(get_lesson(n), None, progress)
    session = Session(tutor.program(), name=f"lesson {n}")
    commands = Commands(session, tutor=tutor)
    session.start()
    replies = []
    try:
        for i, spec in enumerate(BREAKS[n]):
            commands.run(f"break {spec}")
            shown = commands.run("continue")
            assert "Predict:" in shown, shown[-800:]
            reply = commands.run(f"predict {said or '123456'}")
            while "\nPredict:" in reply:  # a second question at the same step
                replies.append(reply.split("\nPredict:")[0])
                reply = commands.run(f"predict {said or '123456'}")
            replies.append(reply)
            commands.run(f"clear {i + 1}")
    finally:
        session.close()
    return replies


@pytest.mark.parametrize("n", LESSONS)
def test_every_question_answered_right_and_wrong(n: int) -> None:
    wrong = _answers(n, None, Progress(autosave=False))
    assert all(r.startswith("Not quite") for r in wrong), wrong
    if n == 1:
        return  # lesson 1's game asks at every backward step: see tests/lessons/test_tutor.py
    truths = [re.match(r"Not quite \(you said [^)]*\): (.*?)\. ", r) for r in wrong]
    progress = Progress(autosave=False)
    for index, match in enumerate(truths):
        assert match, wrong[index]
    right = []
    tutor = Tutor(get_lesson(n), None, progress)
    session = Session(tutor.program(), name=f"lesson {n}")
    commands = Commands(session, tutor=tutor)
    session.start()
    try:
        answers = iter(m.group(1) for m in truths if m)
        for i, spec in enumerate(BREAKS[n]):
            commands.run(f"break {spec}")
            commands.run("continue")
            reply = commands.run(f"predict {next(answers)}")
            while "\nPredict:" in reply:
                right.append(reply.split("\nPredict:")[0])
                reply = commands.run(f"predict {next(answers)}")
            right.append(reply)
            commands.run(f"clear {i + 1}")
    finally:
        session.close()
    assert all(r.startswith("Right") for r in right), right
    assert progress.quiz(get_lesson(n)) == (len(right), len(right)) and len(right) >= 2


def test_no_quiz_turns_the_questions_off() -> None:
    tutor = Tutor(get_lesson(3), None, Progress(autosave=False), quiz=False)
    session = Session(tutor.program(), name="lesson 3")
    commands = Commands(session, tutor=tutor)
    session.start()
    try:
        commands.run("break backward linear")
        assert "Predict" not in commands.run("continue")
        assert "array(" in commands.run("p grads")            # nothing is hidden
        assert "off in this run" in commands.run("predict 2 4")
    finally:
        session.close()


def test_predict_needs_numbers() -> None:
    tutor = Tutor(get_lesson(3), None, Progress(autosave=False))
    session = Session(tutor.program(), name="lesson 3")
    commands = Commands(session, tutor=tutor)
    session.start()
    try:
        commands.run("break backward linear")
        commands.run("continue")
        assert commands.run("predict two by four").startswith("*** predict takes numbers")
        assert commands.run("predict 4 2").startswith("Not quite")   # the order matters
    finally:
        session.close()
