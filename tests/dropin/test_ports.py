"""Public PyTorch example programs, ported, run twice: with PyTorch, and with stepgrad by
changing only their imports (`import torch` -> `import stepgrad as torch`, ...).

Each program lives in tests/dropin/ports/ as an ordinary script. The test swaps its import
lines, executes it, and checks two things: with the same starting weights (PyTorch's,
copied in) both frameworks give the same losses step by step; and each program's own
main() trains to statistically the same result under both (its random draws differ,
because stepgrad's generator is numpy's).
"""

from __future__ import annotations

import io
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import stepgrad

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]  # trains small models twice: ~1.5 min

PORTS = Path(__file__).parent / "ports"
NAMES = sorted(path.stem for path in PORTS.glob("*.py"))
IMPORT = re.compile(r"^(import|from) torch\b")
#: makemore.py's MLP shifts its context with torch.roll, which stepgrad does not have yet
def _saves_nested_dicts() -> bool:
    try:
        stepgrad.save({"epoch": 1, "state": {"w": stepgrad.zeros(1)}}, io.BytesIO())
    except TypeError:
        return False
    return True


#: the checkpoint recipe saves one dict holding state dicts; stepgrad's torch.save (no pickle)
#: takes a flat dict of tensors only, for now
NESTED_SAVE_MISSING = pytest.mark.xfail(not _saves_nested_dicts(), strict=True, raises=TypeError,
                                        reason="torch.save of a dict of state dicts is refused")
ROLL_MISSING = pytest.mark.xfail(not hasattr(stepgrad, "roll"), strict=True, raises=AttributeError,
                                 reason="torch.roll is missing in stepgrad")


def stepgrad_source(source: str) -> str:
    """The program with its torch imports pointed at stepgrad, and nothing else changed."""
    lines = []
    for line in source.splitlines():
        if line == "import torch":
            line = "import stepgrad as torch"
        elif IMPORT.match(line):
            line = IMPORT.sub(r"\1 stepgrad", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


def load(name: str, framework: str) -> dict[str, Any]:
    """Execute a port (not as __main__) and return its namespace."""
    path = PORTS / f"{name}.py"
    source = path.read_text()
    if framework == "stepgrad":
        source = stepgrad_source(source)
    module = types.ModuleType(f"port_{name}_{framework}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module  # dataclasses look their module up there
    exec(compile(source, f"{path} [{framework}]", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """PyTorch's thread pool fights the other processes on a small machine: one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def both(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return load(name, "torch"), load(name, "stepgrad")


def same_start(theirs: Any, ours: Any) -> None:
    """Copy the PyTorch model's weights into the stepgrad model (same architecture)."""
    ours.load_state_dict(theirs.state_dict())


def assert_same_losses(ours: list[float], theirs: list[float], rtol: float) -> None:
    assert len(ours) == len(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol)


@pytest.mark.parametrize("name", NAMES)
def test_only_the_imports_change(name: str) -> None:
    source = (PORTS / f"{name}.py").read_text()
    swapped = stepgrad_source(source)
    changed = [(a, b) for a, b in zip(source.splitlines(), swapped.splitlines()) if a != b]
    assert changed, "a port imports torch"
    assert all(IMPORT.match(a) and "stepgrad" in b for a, b in changed), changed


# -- the same starting weights give the same losses --------------------------------------------
def test_polynomial_fit_same_losses() -> None:
    theirs, ours = both("polynomial_fit")
    start = [0.3, -0.2, 0.5, 0.1]
    runs = [ns["fit_autograd"](*[ns["torch"].tensor(v, requires_grad=True) for v in start],
                               steps=300) for ns in (theirs, ours)]
    assert_same_losses(runs[1], runs[0], rtol=1e-4)
    for fit in ("fit_nn", "fit_optim"):
        model_t, model_s = theirs["build_model"](), ours["build_model"]()
        same_start(model_t, model_s)
        assert_same_losses(ours[fit](model_s, steps=300), theirs[fit](model_t, steps=300),
                           rtol=1e-4)


def test_two_layer_net_same_losses() -> None:
    theirs, ours = both("two_layer_net")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 1000)), rng.standard_normal((64, 10))
    w1, w2 = rng.standard_normal((1000, 100)), rng.standard_normal((100, 10))
    runs = []
    for ns in (theirs, ours):
        t = ns["torch"]
        data = t.tensor(x, dtype=t.float), t.tensor(y, dtype=t.float)
        weights = [t.tensor(w, dtype=t.float, requires_grad=True) for w in (w1, w2)]
        runs.append(ns["train_manual"](*data, *weights, steps=100))
    assert_same_losses(runs[1], runs[0], rtol=1e-3)
    model_t, model_s = theirs["TwoLayerNet"](1000, 100, 10), ours["TwoLayerNet"](1000, 100, 10)
    same_start(model_t, model_s)
    runs = [ns["train_module"](model, ns["torch"].tensor(x, dtype=ns["torch"].float),
                               ns["torch"].tensor(y, dtype=ns["torch"].float), steps=100)
            for ns, model in ((theirs, model_t), (ours, model_s))]
    assert_same_losses(runs[1], runs[0], rtol=1e-3)


def test_mnist_cnn_same_losses() -> None:
    theirs, ours = both("mnist_cnn")
    images, labels = theirs["load_digits"]()
    args = theirs["parse_args"]()
    runs = []
    models = theirs["Net"](), ours["Net"]()
    same_start(*models)
    for ns, model in zip((theirs, ours), models):
        model.dropout1.p = model.dropout2.p = 0.0  # dropout draws differ between frameworks
        loader = ns["Loader"](images[:256], labels[:256], 32, shuffle=True, seed=3)
        optimizer = ns["optim"].Adadelta(model.parameters(), lr=1.0)
        losses: list[float] = []
        ns["train"](args, model, "cpu", loader, optimizer, 1, losses)
        runs.append(losses)
    assert_same_losses(runs[1], runs[0], rtol=2e-3)


def test_cifar_cnn_same_losses() -> None:
    theirs, ours = both("cifar_cnn")
    images, labels = theirs["make_data"](96, seed=1)
    models = theirs["Net"](), ours["Net"]()
    same_start(*models)
    runs = [ns["train"](model, images, labels, epochs=1)
            for ns, model in zip((theirs, ours), models)]
    assert_same_losses(runs[1], runs[0], rtol=2e-3)


def test_makemore_mlp_same_dev_loss_from_the_same_parameters() -> None:
    theirs, ours = both("makemore_mlp")
    params_t = theirs["init_parameters"]()
    params_s = [ours["torch"].tensor(p.detach().numpy(), requires_grad=True) for p in params_t]
    for split in ("Xdev", "Xtr"):
        target = "Y" + split[1:]
        loss_t = theirs["split_loss"](params_t, theirs[split], theirs[target])
        loss_s = ours["split_loss"](params_s, ours[split], ours[target])
        assert loss_s == pytest.approx(loss_t, rel=1e-5)


def _makemore_model(ns: dict[str, Any], dataset: Any) -> Any:
    config = ns["ModelConfig"](vocab_size=dataset.get_vocab_size(),
                               block_size=dataset.get_output_length())
    return ns["MLP"](config)


@ROLL_MISSING
def test_makemore_module_same_losses() -> None:
    theirs, ours = both("makemore_module")
    data = [ns["create_datasets"]() for ns in (theirs, ours)]
    models = [_makemore_model(ns, d[0]) for ns, d in zip((theirs, ours), data)]
    same_start(*models)
    runs = [ns["train"](model, d[0], steps=60)
            for ns, model, d in zip((theirs, ours), models, data)]
    assert_same_losses(runs[1], runs[0], rtol=2e-3)
    test_losses = [ns["evaluate"](model, d[1]) for ns, model, d in zip((theirs, ours), models,
                                                                        data)]
    assert test_losses[1] == pytest.approx(test_losses[0], rel=2e-3)


# -- each program's main(), run as written, trains the same way --------------------------------
def test_polynomial_fit_main() -> None:
    results = [ns["main"]() for ns in both("polynomial_fit")]
    for part in ("autograd", "nn", "optim"):
        finals = [r[part][-1] for r in results]
        assert all(final < 0.1 * r[part][0] for final, r in zip(finals, results)), part


def test_two_layer_net_main() -> None:
    for result in (ns["main"]() for ns in both("two_layer_net")):
        assert result["manual"][-1] < 1e-3 * result["manual"][0]
        assert result["module"][-1] < 1e-3 * result["module"][0]


def test_mnist_cnn_main_learns_with_step_lr() -> None:
    theirs, ours = (ns["main"]() for ns in both("mnist_cnn"))
    assert ours["lr"] == pytest.approx(theirs["lr"]) and ours["lr"] == pytest.approx([0.7, 0.49])
    (loss_t, acc_t), (loss_s, acc_s) = theirs["test"][-1], ours["test"][-1]
    assert acc_s > 0.6 and abs(acc_s - acc_t) < 0.15
    assert loss_s == pytest.approx(loss_t, abs=0.4)


def test_cifar_cnn_main_saves_loads_and_beats_chance(tmp_path: Path) -> None:
    for framework in ("torch", "stepgrad"):
        path = tmp_path / f"{framework}.pth"
        result = load("cifar_cnn", framework)["main"](str(path))
        assert path.exists(), f"{framework}: torch.save wrote no file"
        assert np.mean(result["train"][-10:]) < np.mean(result["train"][:10]), framework
        assert result["accuracy"] > 0.3, framework  # chance is 0.1


def test_makemore_mlp_main_same_dev_loss_statistically() -> None:
    theirs, ours = (ns["main"]() for ns in both("makemore_mlp"))
    assert ours["dev"] == pytest.approx(theirs["dev"], abs=0.15)
    assert len(ours["samples"]) == 10 and all(s.endswith(".") for s in ours["samples"])


@ROLL_MISSING
def test_makemore_module_main_same_test_loss_statistically() -> None:
    theirs, ours = (ns["main"]() for ns in both("makemore_module"))
    assert ours["test"] == pytest.approx(theirs["test"], abs=0.2)
    assert np.mean(ours["train"][-20:]) < 0.7 * ours["train"][0]
    assert len(ours["samples"]) == 5 and all(isinstance(s, str) for s in ours["samples"])


@pytest.mark.parametrize("framework", ["torch",
                                       pytest.param("stepgrad", marks=NESTED_SAVE_MISSING)])
def test_checkpoint_resumes_exactly(framework: str, tmp_path: Path) -> None:
    result = load("checkpoint", framework)["main"](str(tmp_path / "model.pt"))
    assert result["epoch"] == 10 and result["first"][-1] < result["first"][0]
    np.testing.assert_allclose(result["resumed"], result["uninterrupted"], rtol=1e-6)
