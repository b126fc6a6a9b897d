"""Dive into Deep Learning's (d2l.ai, PyTorch) "from scratch" and "concise" programs, ported
as a student copies them (tests/dropin/ports/d2l_*.py), run with PyTorch and with stepgrad by
changing only their imports.

As in test_ports.py: with the same starting weights (PyTorch's, copied in) and the same
batches, both frameworks give the same losses; and each program's main(), random draws and
all, trains under both.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_ports import assert_same_losses, both, load, same_start  # noqa: E402

sys.path.pop(0)
torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tensors(ns: dict[str, Any], *arrays: Any, requires_grad: bool = False) -> list[Any]:
    """numpy arrays (or torch tensors) as the namespace's framework's tensors."""
    t = ns["torch"]
    return [t.tensor(np.asarray(a.detach() if hasattr(a, "detach") else a),
                     requires_grad=requires_grad) for a in arrays]


def copy_into(ns: dict[str, Any], params: list[Any], values: list[Any]) -> None:
    """Overwrite parameters in place with PyTorch's values (the program holds them)."""
    with ns["torch"].no_grad():
        for p, v in zip(params, values):
            p.copy_(ns["torch"].tensor(v.detach().numpy()))


def metrics(history: list[tuple[float, ...]]) -> list[float]:
    return [value for row in history for value in row]


# -- 3.2 / 3.3 linear regression ---------------------------------------------------------------
def test_linear_regression_same_losses() -> None:
    theirs, ours = both("d2l_linear_regression")
    torch.manual_seed(1)
    features, labels = theirs["synthetic_data"](torch.tensor([2, -3.4]), 4.2, 200)
    runs = []
    for ns in (theirs, ours):
        X, y = tensors(ns, features, labels)
        start = torch.normal(0, 0.01, (2, 1), generator=torch.Generator().manual_seed(2))
        w, b = tensors(ns, start, torch.zeros(1), requires_grad=True)
        random.seed(3)  # data_iter shuffles with Python's random, as the book does
        runs.append(ns["train_scratch"](w, b, X, y))
    assert_same_losses(runs[1], runs[0], rtol=1e-4)
    nets = theirs["concise_net"](), ours["concise_net"]()
    same_start(*nets)
    runs = [ns["train_concise"](net, *tensors(ns, features, labels), shuffle=False)
            for ns, net in zip((theirs, ours), nets)]
    assert_same_losses(runs[1], runs[0], rtol=1e-4)


def test_linear_regression_main_recovers_w_and_b() -> None:
    for result in (ns["main"]() for ns in both("d2l_linear_regression")):
        for part in ("scratch", "concise"):
            assert result[part][-1] < 1e-3 < result[part][0] or result[part][-1] < 2e-4, part
        np.testing.assert_allclose(result["w"], [2, -3.4], atol=0.01)
        assert result["b"] == pytest.approx(4.2, abs=0.01)


# -- 3.6 / 3.7 softmax regression --------------------------------------------------------------
def digits(ns: dict[str, Any], batch_size: int = 32) -> tuple[Any, Any]:
    return ns["load_data_digits"](batch_size, shuffle=False)


def test_softmax_regression_same_losses() -> None:
    theirs, ours = both("d2l_softmax_regression")
    ours["W"], ours["b"] = tensors(ours, theirs["W"], theirs["b"], requires_grad=True)
    runs = []
    for ns in (theirs, ours):
        train_iter, test_iter = digits(ns)
        history = []
        for _ in range(3):
            history += ns["train_epoch_ch3"](ns["net"], train_iter, ns["cross_entropy"],
                                             ns["updater"])
            history.append(ns["evaluate_accuracy"](ns["net"], test_iter))
        runs.append(history)
    assert_same_losses(runs[1], runs[0], rtol=1e-4)
    nets = theirs["concise_net"](), ours["concise_net"]()
    same_start(*nets)
    runs = []
    for ns, net in zip((theirs, ours), nets):
        loss = ns["nn"].CrossEntropyLoss(reduction="none")
        trainer = ns["torch"].optim.SGD(net.parameters(), lr=0.1)
        runs.append(list(ns["train_epoch_ch3"](net, digits(ns)[0], loss, trainer)))
    assert_same_losses(runs[1], runs[0], rtol=1e-4)


def test_softmax_regression_main_passes_the_books_checks() -> None:
    for result in (ns["main"]() for ns in both("d2l_softmax_regression")):
        for part in ("scratch", "concise"):  # train_ch3 asserts loss < 0.5, accuracies > 0.7
            assert result[part][-1][0] < 0.5 * result[part][0][0], part
        trues, preds = result["predicted"]
        assert sum(t == p for t, p in zip(trues, preds)) >= 4


# -- 4.2 / 4.3 / 4.6 MLP and dropout -----------------------------------------------------------
def test_mlp_from_scratch_and_concise_same_losses() -> None:
    theirs, ours = both("d2l_mlp")
    copy_into(ours, ours["params"], theirs["params"])
    runs = [metrics(ns["train_scratch"](*digits(ns), num_epochs=2)) for ns in (theirs, ours)]
    assert_same_losses(runs[1], runs[0], rtol=1e-4)
    nets = theirs["concise_mlp"](), ours["concise_mlp"]()
    same_start(*nets)
    runs = [metrics(ns["train_concise"](net, *digits(ns), num_epochs=2))
            for ns, net in zip((theirs, ours), nets)]
    assert_same_losses(runs[1], runs[0], rtol=1e-4)


def test_dropout_nets_same_losses_with_dropout_off() -> None:
    theirs, ours = both("d2l_mlp")
    for ns in (theirs, ours):
        ns["dropout1"] = ns["dropout2"] = 0.0  # the draws differ between the frameworks
    nets = [ns["Net"](64, 10, 48, 32) for ns in (theirs, ours)]
    same_start(*nets)
    runs = [metrics(ns["train_dropout"](net, *digits(ns), num_epochs=2))
            for ns, net in zip((theirs, ours), nets)]
    assert_same_losses(runs[1], runs[0], rtol=1e-4)
    nets = [ns["dropout_concise"]() for ns in (theirs, ours)]
    same_start(*nets)
    for net in nets:
        net[3].p = net[6].p = 0.0
    runs = [metrics(ns["train_dropout"](net, *digits(ns), num_epochs=2))
            for ns, net in zip((theirs, ours), nets)]
    assert_same_losses(runs[1], runs[0], rtol=1e-4)


def test_dropout_layer_from_scratch_drops_and_rescales() -> None:
    ours = load("d2l_mlp", "stepgrad")
    t = ours["torch"]
    X = t.ones(200, 100)
    for p in (0.2, 0.5, 0.9):
        out = ours["dropout_layer"](X, p).numpy()
        kept = out != 0
        assert out.dtype == np.float32 and abs(kept.mean() - (1 - p)) < 0.02
        np.testing.assert_allclose(out[kept], 1 / (1 - p), rtol=1e-6)
    assert ours["dropout_layer"](X, 0.0) is X and not ours["dropout_layer"](X, 1.0).numpy().any()
    net = ours["Net"](64, 10, 48, 32)
    X = t.rand(8, 1, 8, 8)
    net.eval()
    np.testing.assert_array_equal(net(X).detach().numpy(), net(X).detach().numpy())
    net.train()
    assert not np.array_equal(net(X).detach().numpy(), net(X).detach().numpy())


def test_mlp_main_trains_all_four_nets() -> None:
    for result in (ns["main"]() for ns in both("d2l_mlp")):
        for part in ("scratch", "concise", "dropout", "dropout_concise"):
            first, last = result[part][0], result[part][-1]
            assert last[0] < 0.6 * first[0] and last[2] > 0.5, part
        assert result["scratch"][-1][2] > 0.8 and result["concise"][-1][2] > 0.8


# -- 4.5 weight decay --------------------------------------------------------------------------
def test_weight_decay_same_losses_from_scratch_and_concise() -> None:
    theirs, ours = both("d2l_weight_decay")
    torch.manual_seed(4)
    train_data = theirs["synthetic_data"](torch.ones((200, 1)) * 0.01, 0.05, 20)
    test_data = theirs["synthetic_data"](torch.ones((200, 1)) * 0.01, 0.05, 100)
    start = theirs["init_params"]()
    for lambd in (0, 3):
        runs = []
        for ns in (theirs, ours):
            loaders = [ns["load_array"](tensors(ns, *d), 5, is_train=False)
                       for d in (train_data, test_data)]
            ns["init_params"] = lambda ns=ns: tensors(ns, *start, requires_grad=True)
            history, norm = ns["train"](lambd, *loaders)
            runs.append(metrics(history) + [norm])
        # float32 train losses end near 1e-6 (learnt by heart): compared to 1e-5 absolute there
        np.testing.assert_allclose(runs[1], runs[0], rtol=1e-3, atol=1e-5)
    for wd in (0, 3):
        nets = theirs["concise_net"](), ours["concise_net"]()
        same_start(*nets)
        runs = []
        for ns, net in zip((theirs, ours), nets):
            loaders = [ns["load_array"](tensors(ns, *d), 5, is_train=False)
                       for d in (train_data, test_data)]
            history, norm = ns["train_concise"](wd, *loaders, net=net)
            runs.append(metrics(history) + [norm])
        # float32 train losses end near 1e-6 (learnt by heart): compared to 1e-5 absolute there
        np.testing.assert_allclose(runs[1], runs[0], rtol=1e-3, atol=1e-5)


def test_weight_decay_main_shrinks_w_and_closes_the_gap() -> None:
    for result in (ns["main"]() for ns in both("d2l_weight_decay")):
        for part in ("scratch", "concise"):
            (plain, plain_norm), (decayed, decayed_norm) = result[part][0], result[part][3]
            assert decayed_norm < 0.1 * plain_norm, part
            assert decayed[-1][1] < 0.1 * plain[-1][1], part  # the test loss
            assert plain[-1][0] < 1e-3, part  # without decay the 20 examples are learnt by heart


# -- 6.6 LeNet, 8.5 batch normalization from scratch -------------------------------------------
def test_lenet_and_batch_norm_lenet_same_losses() -> None:
    theirs, ours = both("d2l_lenet")
    for build, lr, epochs in (("lenet", 0.9, 1), ("batch_norm_lenet", 1.0, 2)):
        nets = theirs[build](), ours[build]()
        same_start(*nets)
        runs = [metrics(ns["train_ch6"](net, *digits(ns), epochs, lr, ns["try_gpu"](),
                                        init=False))
                for ns, net in zip((theirs, ours), nets)]
        assert_same_losses(runs[1], runs[0], rtol=2e-3)
        if build == "batch_norm_lenet":  # the moving statistics, kept as plain tensors
            for i in (1, 5, 10):
                for name in ("moving_mean", "moving_var"):
                    ours_stat = np.asarray(getattr(nets[1][i], name))
                    np.testing.assert_allclose(ours_stat, getattr(nets[0][i], name).numpy(),
                                               rtol=2e-3, atol=1e-5)
                    assert ours_stat.dtype == np.float32


def test_lenet_with_xavier_init_same_first_losses() -> None:
    theirs, ours = both("d2l_lenet")
    nets = theirs["lenet"](), ours["lenet"]()
    for ns, net in zip((theirs, ours), nets):
        ns["torch"].manual_seed(0)
        net.apply(ns["init_weights"])
    for (name, w_t), w_s in zip(nets[0].state_dict().items(), nets[1].state_dict().values()):
        if name.endswith("weight"):  # xavier_uniform_'s bound, sqrt(6 / (fan_in + fan_out))
            w_t, w_s = w_t.numpy(), np.asarray(w_s)
            assert w_s.dtype == np.float32 and w_s.shape == w_t.shape
            assert np.abs(w_s).max() <= np.sqrt(6 / (w_t[0].size + w_t.shape[0] * w_t[0, 0].size
                                                     if w_t.ndim == 4 else w_t.shape[0]
                                                     + w_t.shape[1])) + 1e-6


def test_lenet_main_shapes_and_batch_norm_learns() -> None:
    theirs, ours = (ns["main"]() for ns in both("d2l_lenet"))
    assert ours["shapes"] == theirs["shapes"]
    for result in (theirs, ours):
        assert result["lenet"][-1][0] < result["lenet"][0][0]
        assert result["batch_norm"][-1][1] > 0.85 and result["batch_norm"][-1][2] > 0.6
    assert any(m != 0 for m in ours["moving_mean"])
