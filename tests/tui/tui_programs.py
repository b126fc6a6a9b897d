"""Small seeded programs for the TUI tests: the same events on every run.

Imported by the tests with a plain `import programs` (pytest's importlib mode puts no
package around them, so conftest.py adds this folder to sys.path).
"""

from __future__ import annotations

import numpy as np

import stepgrad as sg

F = sg.nn.functional


def tiny_mlp(iterations: int = 2, epochs: int = 1) -> float:
    """A 4-8-3 MLP on 5 seeded points: one SGD step per iteration (about 20 events each)."""
    sg.manual_seed(0)
    model = sg.nn.Sequential(sg.nn.Linear(4, 8), sg.nn.ReLU(), sg.nn.Linear(8, 3))
    optimizer = sg.optim.SGD(model.parameters(), lr=0.1)
    x = sg.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32), name="x")
    y = [0, 1, 2, 1, 0]
    loss = None
    for epoch in range(epochs):
        for step in range(iterations):
            optimizer.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            accuracy = float((logits.data.argmax(axis=1) == np.array(y)).mean())
            sg.mark_iteration(epoch * iterations + step, epoch=epoch, loss=loss,
                              accuracy=accuracy)
        sg.mark_epoch(epoch)
    return float(loss.data)


def fan_out() -> None:
    """A value used twice (h feeds both branches): its gradient is the sum of two."""
    x = sg.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True, name="x")
    h = x.tanh()
    out = (h * h + h.sigmoid()).sum()
    out.backward()


def wide_grad() -> None:
    """One 256x256 gradient: the inspector must draw it downsampled without blocking."""
    rng = np.random.default_rng(1)
    w = sg.tensor(rng.standard_normal((256, 256)), requires_grad=True, name="w")
    ((w * w).tanh()).sum().backward()


def chain(nodes: int = 2000) -> None:
    """A chain of `nodes` elementwise ops, then backward: a 2,000-node graph."""
    x = sg.tensor(np.linspace(0.1, 1.0, 8), requires_grad=True, name="x")
    y = x
    for i in range(nodes - 1):
        y = y * 1.0001 if i % 2 else y + 0.001
    y.sum().backward()


def conv_net() -> None:
    """A small convolution: 4-D activations and gradients drawn as channel grids."""
    sg.manual_seed(0)
    conv = sg.nn.Conv2d(1, 4, 3)
    x = sg.tensor(np.random.default_rng(2).standard_normal((2, 1, 8, 8)), name="images")
    conv(x).relu().mean().backward()


def crashes() -> None:
    """Raises after a few events: the post-mortem view."""
    x = sg.tensor([1.0, 2.0], requires_grad=True, name="x")
    (x * 2).sum()
    raise ValueError("boom")


def chatty() -> None:
    """Prints, warns and logs between its ops, as a user's training script does."""
    import logging
    import sys
    import warnings

    x = sg.tensor([1.0, 2.0], requires_grad=True, name="x")
    print("before the graph")
    y = (x * 3).sum()
    print("loss is", float(y.data))
    warnings.warn("a warning from the program", stacklevel=1)   # (pytest records these)
    print("a line on stderr", file=sys.stderr)
    log = logging.getLogger("chatty")
    log.addHandler(logging.StreamHandler())     # made here: it writes to the current stderr
    log.warning("a log record from the program")
    y.backward()
    print("after backward", end="")


def logs_early() -> None:
    """Logs through a handler made before the debugger started (at the top of a script)."""
    import logging

    x = sg.tensor([1.0, 2.0], requires_grad=True, name="x")
    (x * 2).sum().backward()
    logging.getLogger("early").warning("logged through an early handler")
