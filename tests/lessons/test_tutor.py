"""The Tutor: text, the hint ladder, diagnosis, reveal, the `fixed` report, predictions."""

from __future__ import annotations

import time

import pytest

from stepgrad import events
from stepgrad.lessons.base import injected, normalise
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor, next_bug, sparkline

BUGS = [pytest.param(n, bug.id, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}-{bug.id}")
        for n in range(1, 7) for bug in get_lesson(n).bugs]


@pytest.fixture
def progress(tmp_path) -> Progress:
    return Progress.load(tmp_path / "progress.json")


def test_text_has_the_lesson_and_hides_the_bug(progress: Progress) -> None:
    lesson = get_lesson(3)
    tutor = Tutor(lesson, "bias-first-row", progress)
    text = tutor.text()
    assert text.startswith("# Lesson 3: One linear layer on a batch")
    assert lesson.target in text and lesson.goals[0] in text
    assert lesson.bug("bias-first-row").symptom in text
    assert lesson.bug("bias-first-row").title not in text
    assert "healthy" in Tutor(lesson, None, progress).text()


def test_hints_climb_the_ladder_and_are_recorded(progress: Progress) -> None:
    lesson = get_lesson(4)
    bug = lesson.bug("dead-relu-init")
    tutor = Tutor(lesson, bug, progress)
    for i, hint in enumerate(bug.hints, 1):
        assert tutor.hint() == f"Hint {i}/{len(bug.hints)}: {hint}"
    assert tutor.hint().startswith("No more hints")
    assert Progress.load(progress.path).hints_used(lesson, bug.id) == len(bug.hints)
    assert Tutor(lesson, bug, Progress.load(progress.path)).hint().startswith("No more hints")


@pytest.mark.parametrize(("n", "bug_id"), BUGS)
def test_every_answer_solves_and_other_bugs_do_not(n: int, bug_id: str,
                                                  progress: Progress) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    for answer in bug.answers:
        tutor = Tutor(lesson, bug, progress)
        tutor.looked = True  # after looking at the evidence (a guess is tested in test_guesses)
        solved, message = tutor.diagnose(answer.upper())
        assert solved and message.startswith("Solved!"), answer
    for other in lesson.bugs:
        for answer in other.answers:
            if other is not bug and not bug.accepts(answer):
                solved, message = Tutor(lesson, bug, progress).diagnose(answer)
                assert not solved and "not the one in this run" in message
    assert progress.is_solved(lesson, bug_id)


@pytest.mark.parametrize("answer", ["banana", "relu forward", "conv2d backward", "data",
                                    "mul backward and add backward", "zero_grad lr"])
def test_wrong_answers_are_rejected_helpfully(answer: str, progress: Progress) -> None:
    lesson = get_lesson(1)
    tutor = Tutor(lesson, "mul-swapped", progress)
    solved, message = tutor.diagnose(answer)
    assert not solved and message
    assert not progress.is_solved(lesson, "mul-swapped")
    assert progress.attempts(lesson, "mul-swapped") == 1


def test_answers_in_a_sentence_and_with_synonyms_are_accepted(progress: Progress) -> None:
    tutor = Tutor(get_lesson(4), "relu-times-activation", progress)
    assert tutor.diagnose("I think the ReLU backward multiplies by the activation")[0]
    assert Tutor(get_lesson(1), "mul-swapped", progress).diagnose("Multiply-Backwards")[0]
    assert Tutor(get_lesson(6), "no-zero-grad", progress).diagnose("zero grad is missing")[0]
    assert Tutor(get_lesson(6), "lr-explodes", progress).diagnose("learning rate too high")[0]
    assert normalise("  Log_Softmax  FORWARD ") == "log softmax forward"


def test_close_misspellings_get_a_suggestion(progress: Progress) -> None:
    tutor = Tutor(get_lesson(6), "no-zero-grad", progress)
    solved, message = tutor.diagnose("zerro_grad")
    assert not solved and "Did you mean 'zero grad'?" in message
    tutor.diagnose("sigmoid")
    assert "hint" in tutor.diagnose("tanh")[1]


def test_empty_and_healthy_diagnoses(progress: Progress) -> None:
    assert not Tutor(get_lesson(1), "mul-swapped", progress).diagnose("  ")[0]
    solved, message = Tutor(get_lesson(1), None, progress).diagnose("mul backward")
    assert not solved and "healthy" in message


def test_reveal_and_choices(progress: Progress) -> None:
    lesson = get_lesson(5)
    tutor = Tutor(lesson, "mean-not-divided", progress)
    text = tutor.reveal()
    assert lesson.bug("mean-not-divided").explanation in text
    assert not progress.is_solved(lesson, "mean-not-divided")
    assert {"mean", "relu", "backward", "forward", "zero_grad", "init"} <= set(tutor.choices())
    assert tutor.status().startswith("Lesson 5, bug 2/2: revealed")


def test_completion_offers_vocabulary_never_a_bugs_own_words(progress: Progress) -> None:
    lesson = get_lesson(6)
    choices = [Tutor(lesson, bug, progress).choices() for bug in lesson.bugs]
    assert choices[0] == choices[1] == choices[2]  # the same words whatever the bug
    assert not [c for c in choices[0] if c.startswith("up") and c != "update"]
    assert "adds" not in choices[0] and "update adds" not in choices[0]


def test_next_bug_is_the_first_unsolved(progress: Progress) -> None:
    lesson = get_lesson(6)
    assert next_bug(lesson, progress).id == "no-zero-grad"
    progress.mark_solved(lesson, "no-zero-grad")
    assert next_bug(lesson, progress).id == "update-adds-grad"
    for bug in lesson.bugs:
        progress.mark_solved(lesson, bug.id)
    assert next_bug(lesson, progress).id == "no-zero-grad"


def test_fixed_compares_the_buggy_and_the_healthy_curves(progress: Progress) -> None:
    tutor = Tutor(get_lesson(3), "weight-transposed", progress)
    report = tutor.fixed()
    assert "with the bug" in report and "fixed" in report
    assert "with the bug not reached; fixed reached" in report
    assert any(ch in report for ch in "▁▂▃▄▅▆▇█")
    assert "test_loss" in report


def test_fixed_reruns_in_a_fresh_process_while_the_bug_is_in_place(progress: Progress) -> None:
    lesson = get_lesson(1)
    tutor = Tutor(lesson, "add-one-input", progress)
    with lesson.injected("add-one-input"):  # as when the debugger pauses inside the lesson
        assert injected()
        report = tutor.fixed()
    assert "with the bug not reached; fixed reached" in report, report


def test_sparkline_marks_nan_and_keeps_its_width() -> None:
    line = sparkline([3.0, 2.0, 1.0, float("nan")], width=4)
    assert line == "█▅▁×"
    assert len(sparkline(list(range(1000)), width=48)) == 48
    assert sparkline([]) == ""


# -- lesson 1's prediction game ---------------------------------------------------------------

def _backward_steps(tutor: Tutor, count: int = 4) -> list[events.BackwardStep]:
    """Run lesson 1 under the debugger's Session and collect the first backward steps."""
    from stepgrad.debug import Session

    session = Session(tutor.program(), name="lesson 1")
    session.start()
    found: list[events.BackwardStep] = []
    try:
        start = time.perf_counter()
        while len(found) < count and time.perf_counter() - start < 10:
            event = session.state.event
            if isinstance(event, events.BackwardStep) and event not in found:
                found.append(event)
            from stepgrad.debug import rules

            session.move(rules.Step(1))
    finally:
        session.close()
    return found


def test_predictions_are_checked_against_the_chain_rule(progress: Progress) -> None:
    tutor = Tutor(get_lesson(1), None, progress)
    steps = _backward_steps(tutor)
    assert [s.op for s in steps] == ["pow", "sub", "add", "mul"]
    mul = steps[-1]
    question = tutor.question(mul)
    assert "What gradient does w receive?" in question and "upstream gradient" in question
    right = float(mul.grads[0])
    assert tutor.hidden(mul) == "grads"  # the answer stays hidden until predicted...
    assert tutor.answer(mul, right).startswith("Right")
    assert tutor.hidden(mul) is None and "no question" in tutor.answer(mul, right)  # ...once
    add = steps[2]
    assert "does b receive" in tutor.question(add)  # a leaf is asked about first
    assert tutor.answer(add, 1e6).startswith("Not quite")
    assert tutor.answer(steps[1], "skip").startswith("Skipped")
    assert tutor.predictions == {"right": 1, "asked": 2}
    assert progress.quiz(tutor.lesson) == (1, 2)
    assert tutor.question(None) is None


def test_a_right_prediction_against_a_broken_backward_says_so(progress: Progress) -> None:
    tutor = Tutor(get_lesson(1), "mul-swapped", progress)
    mul = _backward_steps(tutor)[-1]
    upstream = float(mul.upstream)
    x = float(tutor.quiz.forward[mul.node_id].inputs[1])
    message = tutor.answer(mul, upstream * x)
    assert "the engine is wrong" in message.lower() or "engine is wrong" in message
    assert "mul's backward" in message


def test_no_questions_outside_predicting_lessons(progress: Progress) -> None:
    tutor = Tutor(get_lesson(3), None, progress)
    step = events.BackwardStep(seq=1, node_id=1, op="mul", name="mul_1", upstream=1.0 * 0 + 1,
                               grads=(None,), input_ids=(2,), input_names=("a",),
                               accumulated=(False,), summed_axes=((),), module_path="",
                               depth=0, file="", line=0)
    assert tutor.question(step) is None
    assert "no question" in tutor.answer(step, 1.0)
