"""A right diagnosis made before looking at any evidence is a guess, not a find.

The tutor says so (without the bug's title or explanation), progress records it as guessed,
`stepgrad lessons` marks it "?", and a right diagnosis after the learner looked at the
evidence (a node of the op at fault, or the events where a loop or init bug shows) upgrades
it to found. Progress files of older versions still load."""

from __future__ import annotations

import json

import pytest

from stepgrad.debug import Commands, Session
from stepgrad.lessons.cli import lessons_table
from stepgrad.lessons.progress import FILENAME, Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor, next_bug


def _open(n: int, bug: str, progress: Progress) -> tuple[Tutor, Session, Commands]:
    tutor = Tutor(get_lesson(n), bug, progress)
    session = Session(tutor.program(), name=f"lesson {n}")
    commands = Commands(session, tutor=tutor)
    session.start()
    commands.position()  # what a front end shows first: event #0, before anything ran
    return tutor, session, commands


def _row(progress: Progress, n: int) -> str:
    return next(line for line in lessons_table(progress).splitlines()
                if line.lstrip().startswith(f"{n} "))


@pytest.fixture
def progress(tmp_path) -> Progress:
    return Progress.load(tmp_path / FILENAME)


def test_a_guess_at_event_0_is_right_but_not_a_find(progress: Progress) -> None:
    lesson = get_lesson(4)
    bug = lesson.bug("dead-relu-init")
    tutor, session, commands = _open(4, bug.id, progress)
    try:
        assert session.state.cursor == 0
        reply = commands.run("diagnose dead relu")
        assert "right" in reply and "guess" in reply and "not counted as found" in reply
        assert "Solved" not in reply and "found it" not in reply.lower()
        assert bug.title not in reply and bug.explanation not in reply
        assert "-3" not in reply and "bias" not in reply   # nothing beyond what was said
        assert "`step`" in reply                           # where to look instead
        assert Progress.load(progress.path).guessed(lesson) == {bug.id}
        assert Progress.load(progress.path).found(lesson) == set()
        assert "(guessed right" in tutor.text() and "guessed" in tutor.status()
        row = _row(Progress.load(progress.path), 4)
        assert "○?" in row and "0/2 bugs found, 1 guessed" in row

        commands.run("break relu")
        commands.run("continue")                           # relu's outputs: the evidence
        reply = commands.run("diagnose dead relu")
        assert reply.startswith("Found, with the evidence") and "Solved!" in reply
        assert bug.explanation in reply
    finally:
        session.close()
    again = Progress.load(progress.path)
    assert again.found(lesson) == {bug.id} and again.guessed(lesson) == set()
    assert "○●" in _row(again, 4) and "1/2 bugs found" in _row(again, 4)
    assert "guessed" not in _row(again, 4)


def test_an_op_bug_guess_points_at_the_op_the_learner_named(progress: Progress) -> None:
    tutor, session, commands = _open(4, "relu-times-activation", progress)
    try:
        reply = commands.run("diagnose the relu backward is wrong")
        assert "guess" in reply and "`break relu`" in reply and "Solved" not in reply
        commands.run("break backward linear")
        commands.run("continue")                  # a linear node is not relu's evidence
        assert "guess" in commands.run("diagnose relu backward")
        commands.run("clear 1")
        commands.run("break backward relu")
        commands.run("continue")
        assert "Solved!" in commands.run("diagnose relu backward")
    finally:
        session.close()
    assert progress.found(get_lesson(4)) == {"relu-times-activation"}


def test_an_answer_without_the_op_name_is_not_told_the_op(progress: Progress) -> None:
    capstone = get_lesson(12)
    bug = next(b for b in capstone.bugs if b.op == "conv2d" and b.accepts("col2im"))
    tutor = Tutor(capstone, bug.id, progress)
    solved, reply = tutor.diagnose("col2im")
    assert solved and "guess" in reply and "conv2d" not in reply


def test_a_loop_bug_guess_points_at_the_update_and_the_loss(progress: Progress) -> None:
    lesson = get_lesson(6)
    bug = lesson.bug("no-zero-grad")
    tutor, session, commands = _open(6, bug.id, progress)
    try:
        assert session.state.cursor == 0                  # nothing ran yet
        reply = commands.run("diagnose forgot zero grad")
        assert "guess" in reply and "`break step`" in reply and bug.title not in reply
        commands.run("break step")
        commands.run("continue")
        commands.run("predict skip")
        assert "Solved!" in commands.run("diagnose forgot zero grad")
    finally:
        session.close()
    assert progress.found(lesson) == {bug.id}


def test_a_find_is_never_turned_back_into_a_guess(progress: Progress) -> None:
    lesson = get_lesson(1)
    tutor = Tutor(lesson, "mul-swapped", progress)
    tutor.looked = True
    assert tutor.diagnose("mul backward")[1].startswith("Solved!")
    solved, reply = Tutor(lesson, "mul-swapped", progress).diagnose("mul backward")
    assert solved and reply.startswith("Solved!")    # found in an earlier run
    assert progress.found(lesson) == {"mul-swapped"} and progress.guessed(lesson) == set()


def test_the_next_bug_is_an_undiagnosed_one_then_a_guessed_one(progress: Progress) -> None:
    lesson = get_lesson(6)
    progress.record_attempt(lesson, "no-zero-grad", correct=True, looked=False)
    assert next_bug(lesson, progress).id == "update-adds-grad"
    progress.record_attempt(lesson, "update-adds-grad", correct=True)
    progress.record_attempt(lesson, "lr-explodes", correct=True)
    assert next_bug(lesson, progress).id == "no-zero-grad"          # still to find
    progress.record_attempt(lesson, "no-zero-grad", correct=True, looked=True)
    assert next_bug(lesson, progress).id == "no-zero-grad"          # all found: the first


def test_the_legend_says_what_each_mark_means(progress: Progress) -> None:
    table = lessons_table(progress)
    for mark, words in (("●", "found"), ("?", "guessed"), ("✎", "fixed"), ("○", "not found")):
        assert any(line.strip().startswith(f"{mark} {words}") for line in table.splitlines())
    assert all(len(line) <= 80 for line in table.splitlines()[-5:])


def test_progress_files_of_older_versions_still_load(tmp_path) -> None:
    path = tmp_path / FILENAME
    before_guesses = {"version": 1, "lessons": {"04_relu_mlp": {
        "solved": ["relu-times-activation"], "hints": {"relu-times-activation": 2},
        "attempts": {"relu-times-activation": 3}}}}
    path.write_text(json.dumps(before_guesses))
    progress = Progress.load(path)
    lesson = get_lesson(4)
    assert not progress.messages
    assert progress.found(lesson) == {"relu-times-activation"}   # solved then meant found
    assert progress.hints_used(lesson, "relu-times-activation") == 2

    with_a_guess = {"version": 1, "lessons": {"06_training_loop": {
        "solved": ["no-zero-grad"], "guessed": ["no-zero-grad"], "hints": {},
        "attempts": {"no-zero-grad": 1}, "future_field": [1, 2]}}}
    path.write_text(json.dumps(with_a_guess))
    progress = Progress.load(path)
    loop = get_lesson(6)
    assert progress.guessed(loop) == {"no-zero-grad"} and progress.found(loop) == set()
    progress.record_attempt(loop, "no-zero-grad", correct=True, looked=True)
    saved = json.loads(path.read_text())["lessons"]["06_training_loop"]
    assert saved["solved"] == ["no-zero-grad"] and saved["guessed"] == []
    assert saved["future_field"] == [1, 2]                       # kept for a newer version
    assert [p.name for p in tmp_path.iterdir()] == [FILENAME]    # no temporary file left


def test_a_node_selected_in_the_app_counts_as_looked_at(progress: Progress) -> None:
    from stepgrad.tui.runner import CommandRunner, Job

    tutor, session, commands = _open(4, "relu-times-activation", progress)
    try:
        commands.run("break backward linear")
        commands.run("continue")                 # past relu's forward, stopped elsewhere
        assert not tutor.looked
        runner = CommandRunner(session, commands, post=lambda message: None)
        history = session.history
        relu = next(i for i in range(history.first, session.state.head + 1)
                    if getattr(history[i], "op", None) == "relu")
        runner._run(Job("inspect", index=relu))   # what clicking it on the tape runs
        assert tutor.looked
        assert "Solved!" in commands.run("diagnose relu backward")
    finally:
        session.close()
