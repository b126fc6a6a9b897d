"""The lessons' data, models and training loop (the pieces lessons 7-12 reuse too)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

import stepgrad as sg
from stepgrad import events
from stepgrad.lessons import datasets
from stepgrad.lessons.base import Hooks, use_hooks, with_hooks
from stepgrad.lessons.models import MLP, DigitsCNN, count_parameters
from stepgrad.lessons.training import evaluate, grad_norm, train


def test_digits_ship_as_a_small_npz() -> None:
    path = datasets._digits_file()
    assert path.name == "digits.npz" and path.stat().st_size < 100_000
    with np.load(path, allow_pickle=False) as archive:
        assert archive["images"].shape == (1797, 8, 8) and archive["images"].dtype == np.uint8
        assert archive["images"].max() == 16
        assert np.bincount(archive["labels"]).tolist() == \
            [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_load_digits_splits_and_scales() -> None:
    digits = datasets.load_digits()
    assert digits.x.shape == (1438, 64) and digits.x_test.shape == (359, 64)
    assert digits.x.dtype == np.float32 and 0 <= digits.x.min() and digits.x.max() == 1
    assert digits.y.dtype == np.int64 and digits.classes == 10
    images = datasets.load_digits(images=True)
    assert images.x.shape == (1438, 1, 8, 8)
    assert np.array_equal(images.x.reshape(-1, 64), digits.x)  # same split, same seed
    other = datasets.load_digits(seed=1)
    assert not np.array_equal(other.y, digits.y)


def test_conversion_from_csv_matches_the_shipped_file(tmp_path: Path) -> None:
    source = Path("/work/shared/data/digits.csv.gz")
    if not source.exists():
        pytest.skip("the source CSV is not available here")
    datasets.convert_digits_csv(source, tmp_path / "digits.npz")
    with np.load(tmp_path / "digits.npz") as made, np.load(datasets._digits_file()) as shipped:
        assert np.array_equal(made["images"], shipped["images"])
        assert np.array_equal(made["labels"], shipped["labels"])


@pytest.mark.parametrize("make", [datasets.spirals, datasets.moons, datasets.xor,
                                  datasets.circles])
def test_generated_sets_are_seeded(make) -> None:
    a, b, c = make(seed=0), make(seed=0), make(seed=1)
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)
    assert a.x.shape[1] == 2 and a.x.dtype == np.float32 and a.y.dtype == np.int64
    assert set(np.unique(a.y)) == set(range(a.classes))
    assert len(a.x) + len(a.x_test) == 300


def test_line_regression() -> None:
    data = datasets.line(n=100, features=3, outputs=2, seed=0)
    assert data.x.shape == (80, 3) and data.y.shape == (80, 2) and data.classes == 0


def test_models_have_the_promised_shapes() -> None:
    cnn = DigitsCNN()
    out = cnn(sg.tensor(np.zeros((5, 1, 8, 8), dtype=np.float32)))
    assert out.shape == (5, 10)
    assert [name for name, _ in cnn.named_parameters()][:2] == ["conv1.weight", "conv1.bias"]
    assert cnn.conv1.weight.shape == (8, 1, 3, 3) and cnn.conv2.weight.shape == (16, 8, 3, 3)
    assert cnn.fc.weight.shape == (10, 64)
    mlp = MLP([2, 8, 8, 3])
    assert count_parameters(mlp) == 2 * 8 + 8 + 8 * 8 + 8 + 8 * 3 + 3
    mlp(sg.tensor(np.ones((4, 2), dtype=np.float32)))
    assert 0 <= mlp.dead_fraction <= 1


def test_train_emits_markers_and_honours_the_hooks() -> None:
    data = datasets.moons(n=100, seed=0)
    seen: list[events.Event] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        model = MLP([2, 8, 2])
        optimizer = sg.optim.SGD(model.parameters(), lr=0.1)
        result = train(model, optimizer, data, epochs=2, batch_size=40, hooks=Hooks())
    finally:
        unsubscribe()
    iterations = [e for e in seen if isinstance(e, events.Iteration)]
    epochs = [e for e in seen if isinstance(e, events.Epoch)]
    assert len(iterations) == len(result.losses) == 4 and len(epochs) == 2
    assert iterations[0].loss == result.losses[0] and "grad_norm" in iterations[0].metrics
    assert "test_accuracy" in epochs[-1].metrics and "test_accuracy" in result.metrics
    assert sum(isinstance(e, events.ZeroGrad) for e in seen) == 4
    assert optimizer.lr == 0.1


def test_loop_hooks_reach_the_training_loop() -> None:
    data = datasets.moons(n=100, seed=0)
    calls: list[str] = []
    with use_hooks(zero_grad=False, update_sign=-1.0, lr_scale=2.0,
                   init=lambda m: calls.append("init"),
                   data=lambda d: (calls.append("data"), d)[1],
                   after_backward=lambda m: calls.append("after")):
        model = MLP([2, 8, 2])
        optimizer = sg.optim.SGD(model.parameters(), lr=0.1)
        lrs = []
        train(model, optimizer, data, epochs=1, batch_size=40,
              iteration_metrics=lambda m: (lrs.append(optimizer.lr), {})[1])
    assert calls[:2] == ["data", "init"] and calls.count("after") == 2
    assert lrs == [-0.2, -0.2] and optimizer.lr == 0.1
    assert grad_norm(model) > 0


def test_hooks_nest_and_merge_flags() -> None:
    with with_hooks(flags={"a": 1})():
        with with_hooks(flags={"b": 2}, lr_scale=3.0)() as inner:
            assert inner.flag("a") == 1 and inner.flag("b") == 2 and inner.lr(1.0) == 3.0
    with pytest.raises(TypeError, match="unknown hook"):
        with_hooks(learning_rate=2)


def test_evaluate_restores_training_mode() -> None:
    model = MLP([2, 4, 2])
    model.train()
    metrics = evaluate(model, datasets.xor(n=60))
    assert model.training and 0 <= metrics["test_accuracy"] <= 1


def test_stepgrad_lessons_lists_progress(capsys, monkeypatch, tmp_path) -> None:
    from stepgrad.lessons.cli import list_lessons, run_lesson

    monkeypatch.setenv("STEPGRAD_HOME", str(tmp_path))
    assert list_lessons(argparse.Namespace(reset=False)) == 0
    out = capsys.readouterr().out
    assert "The chain rule, node by node" in out and "○○  0/2 bugs found" in out
    header = out.splitlines()[0].split()
    assert header == ["#", "lesson", "model", "data", "bugs", "progress"]
    code = run_lesson(argparse.Namespace(number="99", bug=None, no_bug=False, mystery=False,
                                         repl=True, seed=0, history="256MB"))
    assert code == 2 and "there is no lesson 99" in capsys.readouterr().err
    code = run_lesson(argparse.Namespace(number="1", bug="nope", no_bug=False, mystery=False,
                                         repl=True, seed=0, history="256MB"))
    assert code == 2 and "has no bug 'nope'" in capsys.readouterr().err


def test_combined_injectors_undo_everything_even_when_one_fails() -> None:
    from stepgrad.lessons.base import combine, current_hooks, injected, patch_op

    both = combine(patch_op("relu", backward=lambda ctx, grad: (grad,)),
                   with_hooks(zero_grad=False))
    with both():
        assert injected() and current_hooks().zero_grad is False
    assert not injected()

    def failing():
        raise RuntimeError("cannot inject")

    with pytest.raises(RuntimeError):
        with combine(patch_op("relu", backward=lambda ctx, grad: (grad,)), failing)():
            pass
    assert not injected()
