"""Every lesson, 1 to 12, as one parametrized set: each healthy run reaches its target,
each bug shows its symptom and goes away without the bug, injection is undone (ops, hooks and
swapped class attributes; the op's gradient check passes again), and each lesson runs
through under the debugger. Measured symptoms of single lessons: test_measured_symptoms.py;
the capstone's rules: test_capstone_rules.py."""

from __future__ import annotations

import time

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.lessons.base import Hooks, current_hooks, injected, patched_ops, pristine
from stepgrad.lessons.l09_convolution import PROBES, gradcheck_ops
from stepgrad.lessons.progress import Progress
from stepgrad.lessons.registry import builtin_lessons, get_lesson
from stepgrad.lessons.tutor import Tutor

ALL = range(1, 13)
CATALOGUE = range(1, 12)  # the lessons with bugs of their own (12 draws from them)
CAPSTONE = 12

#: Class attributes that bugs swap outside the op registry, and their originals.
SWAPPED = {(sg.optim.SGD, "_update"): sg.optim.SGD.__dict__["_update"],
           (sg.optim.Adam, "_update"): sg.optim.Adam.__dict__["_update"],
           (sg.nn.Dropout, "forward"): sg.nn.Dropout.__dict__["forward"]}

#: Bugs whose forward and backward agree with each other: no gradient check can fail.
CONSISTENT_OP_BUGS = {"dropout-not-rescaled"}


def lesson_params(numbers=ALL) -> list:
    return [pytest.param(n, marks=pytest.mark.lesson(n), id=f"lesson{n:02d}") for n in numbers]


def bug_params(numbers=CATALOGUE, kind: str | None = None) -> list:
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


# -- the lessons are well formed --------------------------------------------------------------

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
    assert set(ALL) <= set(numbers)


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


# -- every bug shows, and goes away -----------------------------------------------------------

@pytest.mark.parametrize(("n", "bug_id"), bug_params(ALL))
def test_bug_shows_its_symptom_and_fixing_it_heals(n: int, bug_id: str,
                                                  healthy_runs: dict) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    buggy = lesson.run(bug_id)
    assert buggy.bug == bug_id
    assert bug.shows(buggy), f"{bug_id} does not show in lesson {n}: {buggy.metrics}"
    if n < 7:  # the first lessons' bugs all keep training from its target
        assert not lesson.healthy(buggy), f"{bug_id}: the lesson reaches its target anyway"
    fixed = healthy(n, healthy_runs)
    assert not bug.shows(fixed) and lesson.healthy(fixed)
    nothing_left_injected()


# -- injection is undone, and the gradient check passes again ---------------------------------

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


#: Ops of lessons 1-6, checked on the probes above (log_softmax's: float32 logits near 100).
FIRST_OPS = {"mul", "add", "linear", "relu", "mean", "log_softmax"}


def _check_op(op: str) -> bool:
    """The conv lessons' ops have probes of their own (l09_convolution.PROBES)."""
    assert op in FIRST_OPS or op in PROBES, f"no probe for {op}"
    return _op_ok(op) if op in FIRST_OPS else gradcheck_ops([op])[op] == ()


@pytest.mark.parametrize(("n", "bug_id"), bug_params(kind="op"))
def test_op_bug_fails_the_check_while_injected_and_passes_after(n: int, bug_id: str) -> None:
    lesson = get_lesson(n)
    bug = lesson.bug(bug_id)
    assert _check_op(bug.op)
    with lesson.injected(bug_id):
        assert patched_ops() == [bug.op] and injected()
        if bug_id not in CONSISTENT_OP_BUGS:
            assert not _check_op(bug.op), f"{bug_id}: the patched {bug.op} passes its check"
    nothing_left_injected()
    assert _check_op(bug.op)
    assert sg.ops.get(bug.op).backward is pristine(bug.op, "backward")
    assert sg.ops.get(bug.op).forward is pristine(bug.op, "forward")
    lesson.run(bug_id)
    nothing_left_injected()


@pytest.mark.parametrize(("n", "bug_id"), bug_params(kind="loop"))
def test_loop_and_init_bugs_are_undone(n: int, bug_id: str) -> None:
    lesson = get_lesson(n)
    with lesson.injected(bug_id):
        assert injected(), f"{bug_id}: base.injected() does not see it"
        swapped = [f"{o.__name__}.{a}" for (o, a), f in SWAPPED.items() if o.__dict__[a] is not f]
        assert swapped or current_hooks() != Hooks()
    nothing_left_injected()
    assert current_hooks() == Hooks()


@pytest.mark.parametrize(("n", "bug_id"), bug_params(ALL))
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
