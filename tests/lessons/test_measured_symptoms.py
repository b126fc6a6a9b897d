"""Symptoms of single lessons, measured as the lesson texts state them."""

from __future__ import annotations

import numpy as np
import pytest

from stepgrad.lessons.registry import get_lesson


@pytest.fixture(scope="module")
def healthy_runs() -> dict:
    """One healthy run per lesson (seed 0), shared by the tests of this module."""
    return {}


def healthy(n: int, cache: dict):
    if n not in cache:
        cache[n] = get_lesson(n).run()
    return cache[n]


def test_cnn_lessons_reach_95_percent(healthy_runs: dict) -> None:
    for n in (9, 10, 11, 12):
        assert healthy(n, healthy_runs).metric("test_accuracy") >= 0.95


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
