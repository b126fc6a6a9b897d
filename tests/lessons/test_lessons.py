"""Lessons 1-6: every healthy run reaches its target, every bug shows its symptom, the
symptom goes away without the bug, and nothing stays injected after a lesson.

Run one lesson's tests with `pytest -m "lesson(3)"`... or simply `-k lesson03`.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.lessons.base import Hooks, current_hooks, injected, patched_ops
from stepgrad.lessons.registry import builtin_lessons, get_lesson

MINE = range(1, 7)


def lesson_params() -> list:
    return [pytest.param(n, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}") for n in MINE]


def bug_params() -> list:
    return [pytest.param(n, bug.id, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}-{bug.id}")
            for n in MINE for bug in get_lesson(n).bugs]


@pytest.fixture(scope="module")
def healthy_runs() -> dict:
    """One healthy run per lesson, shared by the tests of this module (seed 0)."""
    return {}


def healthy(n: int, cache: dict):
    if n not in cache:
        cache[n] = get_lesson(n).run()
    return cache[n]


@pytest.mark.parametrize("n", lesson_params())
def test_healthy_run_reaches_its_target_fast(n: int, healthy_runs: dict) -> None:
    lesson = get_lesson(n)
    result = healthy(n, healthy_runs)
    assert lesson.healthy(result), (lesson.target, result.metrics)
    assert result.bug is None and result.finite
    assert result.seconds < 5, f"lesson {n} took {result.seconds:.1f} s; keep lessons small"
    assert not any(bug.shows(result) for bug in lesson.bugs), "a symptom shows without a bug"


@pytest.mark.parametrize(("n", "bug_id"), bug_params())
def test_bug_shows_its_symptom_and_fixing_it_heals(n: int, bug_id: str,
                                                  healthy_runs: dict) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    buggy = lesson.run(bug_id)
    assert buggy.bug == bug_id
    assert bug.shows(buggy), f"{bug_id}: the symptom ({bug.symptom}) does not show"
    assert not lesson.healthy(buggy), f"{bug_id}: the lesson reaches its target anyway"
    fixed = healthy(n, healthy_runs)
    assert not bug.shows(fixed) and lesson.healthy(fixed)
    assert not injected(), f"{bug_id} is still injected: {patched_ops()}"


@pytest.mark.parametrize("n", [pytest.param(lesson.number, marks=pytest.mark.lesson(lesson.number),
                                             id=f"lesson{lesson.number:02d}")
                                for lesson in builtin_lessons()])
def test_lesson_is_well_formed(n: int) -> None:
    """Every built-in lesson, 1 to 12 (one test, so the rules cannot drift apart)."""
    lesson = get_lesson(n)
    assert lesson.number == n and lesson.slug and lesson.title
    assert not lesson.text.lstrip().startswith("# "), "front ends add the title heading"
    assert "PyTorch" in lesson.text
    assert len(lesson.bugs) >= 2 and lesson.goals and lesson.target
    for bug in lesson.bugs:
        assert len(bug.hints) >= 3 and bug.answers and bug.explanation and bug.symptom
        if bug.kind == "op":
            assert bug.op in sg.ops.names()


def test_builtin_numbers_are_unique_and_ordered() -> None:
    numbers = [lesson.number for lesson in builtin_lessons()]
    assert numbers == sorted(set(numbers))
    assert set(MINE) <= set(numbers)


# -- injection is undone ----------------------------------------------------------------------

def _rng() -> np.random.Generator:
    return np.random.default_rng(1)


def _probes(op: str) -> list[tuple[list[np.ndarray], dict]]:
    """Inputs on which a broken op's backward (or forward) shows."""
    r = _rng()
    a, b = r.normal(size=(3, 4)), r.normal(size=(3, 4))
    return {
        "mul": [([a, b], {}), ([a, a.copy()], {})],
        "add": [([a, b], {})],
        "linear": [([r.normal(size=(5, 4)), r.normal(size=(2, 4)), r.normal(size=2)], {})],
        "relu": [([a + np.sign(a) * 0.1], {})],
        "mean": [([a], {"axis": None})],
        "log_softmax": [([r.uniform(-100, 100, size=(3, 5)).astype(np.float32)], {"axis": -1})],
    }[op]


def _op_ok(op: str) -> bool:
    """The op's forward is finite on the probes and its backward passes finite differences."""
    for inputs, attrs in _probes(op):
        ctx = sg.Context()
        ctx.needs_input_grad = (True,) * len(inputs)
        with np.errstate(all="ignore"):
            out = sg.ops.get(op).forward(ctx, *inputs, **attrs)
        if not np.isfinite(out).all():
            return False
        if op == "log_softmax":  # its probe is for the forward (float32 logits near 100,
            continue             # where e**x overflows); the backward is not broken
        if not sg.check_node(op, inputs, attrs).ok:
            return False
    return True


OP_BUGS = [pytest.param(n, bug.id, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}-{bug.id}")
           for n in MINE for bug in get_lesson(n).bugs if bug.kind == "op"]


@pytest.mark.parametrize(("n", "bug_id"), OP_BUGS)
def test_op_bug_fails_the_check_while_injected_and_passes_after(n: int, bug_id: str) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    assert _op_ok(bug.op)
    with lesson.injected(bug_id):
        assert patched_ops() == [bug.op]
        assert not _op_ok(bug.op), f"{bug_id}: the patched {bug.op} passes its check"
    assert patched_ops() == [] and _op_ok(bug.op)
    lesson.run(bug_id)
    assert patched_ops() == [] and _op_ok(bug.op)


LOOP_BUGS = [pytest.param(n, bug.id, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}-{bug.id}")
             for n in MINE for bug in get_lesson(n).bugs if bug.kind != "op"]


@pytest.mark.parametrize(("n", "bug_id"), LOOP_BUGS)
def test_loop_bug_changes_the_hooks_only_inside(n: int, bug_id: str) -> None:
    lesson = get_lesson(n)
    with lesson.injected(bug_id):
        assert current_hooks() != Hooks()
    assert current_hooks() == Hooks() and not injected()


@pytest.mark.parametrize(("n", "bug_id"), bug_params())
def test_program_undoes_the_bug_even_when_the_run_fails(n: int, bug_id: str) -> None:
    lesson = get_lesson(n)
    seen = []

    def crash(hooks: Hooks, seed: int):
        seen.append((patched_ops(), hooks))
        raise RuntimeError("the learner pressed quit")

    broken = replace(lesson, train=crash)
    with pytest.raises(RuntimeError):
        broken.program(bug_id)()
    ops, hooks = seen[0]
    bug = lesson.bug(bug_id)
    assert ops == ([bug.op] if bug.kind == "op" else [])
    assert (hooks == Hooks()) == (bug.kind == "op")
    assert not injected()


# -- under the debugger -----------------------------------------------------------------------

@pytest.mark.parametrize("n", lesson_params())
def test_lesson_runs_through_under_the_debugger_quickly(n: int) -> None:
    from stepgrad.debug import Commands, Session
    from stepgrad.lessons.tutor import Tutor

    lesson = get_lesson(n)
    tutor = Tutor(lesson, None)
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
        assert {"Iteration", "Epoch", "ForwardStep", "BackwardStep"} <= kinds
    finally:
        session.close()
    assert not injected()
