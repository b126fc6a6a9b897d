"""The torch bridge's cost (run on demand:
pytest tests/bench/test_torchbridge_bench.py --benchmark-only).

Target from the torch-bridge issue: a torch program with no breakpoint hit runs under the
debugger (`continue`) in at most 3x its plain time, on an MNIST-size CNN (28x28 inputs, two
conv layers, batch 64). The ratio is reported as `slowdown`. PyTorch runs on one thread so
that both timings see the same machine.
"""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch", reason="the torch bridge needs PyTorch: "
                            "pip install 'stepgrad[torch]'")

from stepgrad import torchbridge  # noqa: E402
from stepgrad.debug import Session  # noqa: E402

STEPS = 4


def _cnn_training(steps: int = STEPS) -> float:
    """The classic PyTorch MNIST example's network, on random 28x28 images."""
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    loss = None
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return loss.item()


def _continue_under_debugger() -> float:
    session = Session(torchbridge.wrap(_cnn_training), stop_at_start=False)
    session.start()
    assert session.state.status == "finished", session.state.reason
    assert len(session.history) > STEPS * 20  # every op, module, backward node was recorded
    session.close()
    return session.result


def _best_alternating(fns: dict, rounds: int = 3) -> dict:
    """The fastest of `rounds` wall-clock runs of each function, taking turns."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def test_a_torch_cnn_under_the_debugger_is_at_most_3x_slower(benchmark):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert _continue_under_debugger() == _cnn_training()  # the same result
        times = _best_alternating({"plain": _cnn_training, "debugged": _continue_under_debugger})
        plain, debugged = times["plain"], times["debugged"]
        slowdown = debugged / plain
        benchmark.extra_info.update(plain_s=plain, debugged_s=debugged, slowdown=slowdown)
        benchmark.pedantic(_continue_under_debugger, rounds=1, iterations=1)
    finally:
        torch.set_num_threads(threads)
    print(f"\ntorch CNN, {STEPS} iterations of batch 64: plain {plain * 1e3:.0f} ms, under the "
          f"debugger {debugged * 1e3:.0f} ms, slowdown {slowdown:.2f}x (target <= 3x)")
    assert slowdown <= 3.0
