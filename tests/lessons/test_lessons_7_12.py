"""Lessons 7-12: every healthy run reaches its target, every bug shows its symptom, the
symptom goes away without the bug, injection is undone (the gradient check passes again),
diagnoses are judged right, and the capstone draws from every lesson's catalogue.

Run one lesson's tests with `pytest -m "lesson(9)"`, or `-k lesson09`.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.lessons.base import Hooks, current_hooks, injected, patched_ops, pristine
from stepgrad.lessons.l09_convolution import PROBES, gradcheck_ops
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import get_lesson
from stepgrad.lessons.tutor import Tutor

MINE = range(7, 13)
LESSONS_7_11 = range(7, 12)
CAPSTONE = 12

#: Class attributes that bugs swap outside the op registry, and their originals.
SWAPPED = {(sg.optim.SGD, "_update"): sg.optim.SGD.__dict__["_update"],
           (sg.optim.Adam, "_update"): sg.optim.Adam.__dict__["_update"],
           (sg.nn.Dropout, "forward"): sg.nn.Dropout.__dict__["forward"]}

#: Bugs whose forward and backward agree with each other: no gradient check can fail.
CONSISTENT_OP_BUGS = {"dropout-not-rescaled"}


def lesson_params(numbers=MINE) -> list:
    return [pytest.param(n, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}") for n in numbers]


def bug_params(numbers=MINE, kind: str | None = None) -> list:
    return [pytest.param(n, bug.id, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}-{bug.id}")
            for n in numbers for bug in get_lesson(n).bugs
            if kind is None or (bug.kind == "op") == (kind == "op")]


@pytest.fixture(scope="module")
def healthy_runs() -> dict:
    """One healthy run per lesson (seed 0), shared by the tests of this module."""
    return {}


def healthy(n: int, cache: dict):
    if n not in cache:
        cache[n] = get_lesson(n).run()
    return cache[n]


def nothing_left_injected() -> None:
    assert not injected(), f"still injected: ops {patched_ops()}, hooks {current_hooks()}"
    assert patched_ops() == []
    for (owner, name), original in SWAPPED.items():
        assert owner.__dict__[name] is original, f"{owner.__name__}.{name} is still swapped"


# -- healthy runs -----------------------------------------------------------------------------

@pytest.mark.parametrize("n", lesson_params())
def test_healthy_run_reaches_its_target_fast(n: int, healthy_runs: dict) -> None:
    lesson = get_lesson(n)
    result = healthy(n, healthy_runs)
    assert lesson.healthy(result), (lesson.target, result.metrics)
    assert result.bug is None and result.finite
    assert result.seconds < 15, f"lesson {n} took {result.seconds:.1f} s; keep lessons small"
    showing = [bug.id for bug in lesson.bugs if bug.shows(result)]
    assert not showing, f"symptoms show without a bug: {showing}"
    assert all(not failing for failing in result.extra.get("gradcheck", {}).values())


def test_cnn_lessons_reach_95_percent(healthy_runs: dict) -> None:
    for n in (9, 10, 11, 12):
        assert healthy(n, healthy_runs).metric("test_accuracy") >= 0.95


# -- every bug shows, and goes away -----------------------------------------------------------

@pytest.mark.parametrize(("n", "bug_id"), bug_params(LESSONS_7_11))
def test_bug_shows_its_symptom_and_fixing_it_heals(n: int, bug_id: str,
                                                  healthy_runs: dict) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    buggy = lesson.run(bug_id)
    assert buggy.bug == bug_id
    assert bug.shows(buggy), f"{bug_id}: the symptom ({bug.symptom}) does not show"
    fixed = healthy(n, healthy_runs)
    assert not bug.shows(fixed) and lesson.healthy(fixed)
    nothing_left_injected()


@pytest.mark.parametrize(("n", "bug_id"), bug_params([CAPSTONE]))
def test_capstone_bug_shows_its_symptom(n: int, bug_id: str, healthy_runs: dict) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    buggy = lesson.run(bug_id)
    assert bug.shows(buggy), f"{bug_id} does not show in the capstone: {buggy.metrics}, " \
                             f"{buggy.extra.get('gradcheck')}"
    assert not bug.shows(healthy(n, healthy_runs))
    nothing_left_injected()


# -- measured symptoms, as the lesson texts state them ----------------------------------------

def test_adam_without_bias_correction_takes_a_first_step_of_3_lr(healthy_runs: dict) -> None:
    lesson = get_lesson(7)
    buggy, fixed = lesson.run("adam-no-bias-correction"), healthy(7, healthy_runs)
    assert fixed.extra["adam_first_step_over_lr"] == pytest.approx(1.0, abs=0.01)
    assert buggy.extra["adam_first_step_over_lr"] == pytest.approx(np.sqrt(1000) / 10, rel=0.01)
    assert max(buggy.extra["adam_losses"][:50]) > 3 * buggy.extra["adam_losses"][0]
    assert max(fixed.extra["adam_losses"][1:50]) < 2 * fixed.extra["adam_losses"][0]


def test_momentum_reset_makes_sgd_stall_but_not_adam(healthy_runs: dict) -> None:
    buggy = get_lesson(7).run("momentum-buffer-reset")
    assert buggy.metric("sgd_test_accuracy") < 0.5 < 0.9 < buggy.metric("adam_test_accuracy")
    assert healthy(7, healthy_runs).metric("sgd_test_accuracy") >= 0.9


def test_init_bugs_freeze_the_loss_at_ln_10(healthy_runs: dict) -> None:
    lesson = get_lesson(8)
    tiny, zero = lesson.run("init-too-small"), lesson.run("init-all-zero")
    for run in (tiny, zero):
        assert run.final_loss == pytest.approx(np.log(10), abs=0.05)
    assert max(tiny.extra["first_grad_norms"].values()) < 1e-6
    assert set(zero.extra["first_grad_norms"].values()) == {0.0}
    assert zero.extra["hidden_unit_spread"] == 0.0
    assert min(healthy(8, healthy_runs).extra["first_grad_norms"].values()) > 0.1


def test_dropout_in_eval_makes_evaluation_random(healthy_runs: dict) -> None:
    buggy = get_lesson(11).run("dropout-active-in-eval")
    assert buggy.extra["eval_disagreement"] > 0.05
    assert healthy(11, healthy_runs).extra["eval_disagreement"] == 0.0


# -- injection is undone, and the gradient check passes again ---------------------------------

def _check_op(op: str) -> bool:
    return gradcheck_ops([op])[op] == ()


@pytest.mark.parametrize(("n", "bug_id"), bug_params(LESSONS_7_11, kind="op"))
def test_op_bug_fails_the_check_while_injected_and_passes_after(n: int, bug_id: str) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    assert _check_op(bug.op)
    with lesson.injected(bug_id):
        assert patched_ops() == [bug.op] and injected()
        if bug_id not in CONSISTENT_OP_BUGS:
            assert not _check_op(bug.op), f"{bug_id}: the patched {bug.op} passes its check"
            inputs, attrs, upstream = PROBES[bug.op][0]
            assert not sg.check_node(bug.op, inputs, attrs, upstream).ok
    nothing_left_injected()
    assert _check_op(bug.op)
    assert sg.ops.get(bug.op).backward is pristine(bug.op, "backward")
    assert sg.ops.get(bug.op).forward is pristine(bug.op, "forward")


@pytest.mark.parametrize(("n", "bug_id"), bug_params(LESSONS_7_11, kind="loop"))
def test_loop_and_init_bugs_are_undone(n: int, bug_id: str) -> None:
    lesson = get_lesson(n)
    with lesson.injected(bug_id):
        assert injected(), f"{bug_id}: base.injected() does not see it"
        swapped = [f"{o.__name__}.{a}" for (o, a), f in SWAPPED.items() if o.__dict__[a] is not f]
        assert swapped or current_hooks() != Hooks()
    nothing_left_injected()
    assert current_hooks() == Hooks()


@pytest.mark.parametrize(("n", "bug_id"), bug_params())
def test_program_undoes_the_bug_even_when_the_run_fails(n: int, bug_id: str) -> None:
    lesson = get_lesson(n)
    seen = []

    def crash(hooks: Hooks, seed: int):
        seen.append(injected())
        raise RuntimeError("the learner pressed quit")

    broken = type(lesson)(**{**{f: getattr(lesson, f) for f in lesson.__dataclass_fields__},
                             "train": crash})
    with pytest.raises(RuntimeError):
        broken.program(bug_id)()
    assert seen == [True]
    nothing_left_injected()


# -- diagnosis --------------------------------------------------------------------------------

# Accepted and refused phrasings of every bug: tests/lessons/test_diagnosis.py.


def test_a_diagnosis_of_the_other_bug_is_rejected() -> None:
    tutor = Tutor(get_lesson(9), "col2im-overwrites", Progress(autosave=False))
    assert not tutor.diagnose("conv2d weight gradient")[0]
    tutor = Tutor(get_lesson(7), "momentum-buffer-reset", Progress(autosave=False))
    assert not tutor.diagnose("adam bias correction")[0]


# -- the capstone -----------------------------------------------------------------------------

def test_capstone_draws_from_every_lesson() -> None:
    from stepgrad.lessons import l12_capstone as capstone

    lesson = get_lesson(CAPSTONE)
    assert set(capstone.ORIGIN.values()) == set(range(1, 12))
    assert set(capstone.ORIGIN) == {bug.id for bug in lesson.bugs}
    catalogue = {bug.id for n in range(1, 12) for bug in get_lesson(n).bugs}
    assert set(capstone.EXCLUDED) <= catalogue and set(capstone.INCLUDED) <= catalogue
    for bug in lesson.bugs:
        assert bug.hints[:2] == capstone.GENERAL_HINTS and len(bug.hints) > 2
        assert bug.symptom == capstone.SYMPTOM
        if bug.kind == "op":
            assert bug.op in capstone.CAPSTONE_OPS


def test_capstone_lets_the_learner_compare_after_two_hints() -> None:
    lesson = get_lesson(CAPSTONE)
    assert lesson.compare_after_hints == 2 and lesson.mystery
    assert not lesson.may_compare(0) and not lesson.may_compare(1) and lesson.may_compare(2)
    assert lesson.draw(3) is lesson.draw(3) and lesson.draw(3) in lesson.bugs
    assert len({lesson.draw(seed).id for seed in range(50)}) > 5


def test_capstone_diagnosis() -> None:
    lesson = get_lesson(CAPSTONE)
    tutor = Tutor(lesson, "col2im-overwrites", Progress(autosave=False))
    assert not tutor.diagnose("relu backward")[0]
    assert not tutor.diagnose("zero grad")[0]
    assert tutor.diagnose("col2im")[0]
    tutor = Tutor(lesson, "not-zeroed", Progress(autosave=False))
    assert not tutor.diagnose("adam bias correction")[0]
    assert tutor.diagnose("zero_grad")[0]


# -- under the debugger -----------------------------------------------------------------------

@pytest.mark.parametrize("n", lesson_params())
def test_lesson_runs_through_under_the_debugger_in_20_s(n: int) -> None:
    from stepgrad.debug import Commands, Session

    lesson = get_lesson(n)
    tutor = Tutor(lesson, None, Progress(autosave=False))
    session = Session(tutor.program(), name=f"lesson {n}")
    commands = Commands(session, tutor=tutor)
    start = time.perf_counter()
    session.start()
    try:
        while session.status in ("paused", "running") and time.perf_counter() - start < 20:
            if session.status == "paused":
                commands.run("continue")
            time.sleep(0.01)
        assert session.status == "finished", session.state.reason
        assert time.perf_counter() - start < 20
        assert lesson.healthy(tutor.last_result)
        kinds = {type(e).__name__ for e in session.history}
        assert {"Iteration", "Epoch", "ForwardStep", "BackwardStep", "OptimizerStep"} <= kinds
    finally:
        session.close()
    nothing_left_injected()
