"""Small seeded programs for the debugger core's tests (no UI anywhere)."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.debug import Commands, Session


class MLP(sg.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = sg.nn.Linear(4, 8)
        self.act = sg.nn.ReLU()
        self.fc2 = sg.nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def tiny_training(iterations: int = 3, lr: float = 0.1):
    """A 4-8-3 MLP trained for a few SGD steps on fixed data."""
    sg.manual_seed(0)
    model = MLP()
    optimizer = sg.optim.SGD(model.parameters(), lr=lr)
    x = sg.tensor(np.random.default_rng(0).standard_normal((16, 4)).astype(np.float32), name="x")
    y = np.arange(16) % 3
    loss = None
    for i in range(iterations):
        optimizer.zero_grad()
        loss = sg.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        sg.mark_iteration(i, epoch=0, loss=loss.item())
    sg.mark_epoch(0, accuracy=0.5)
    return loss.item()


def fan_out():
    """A value used twice: y = x * x + x (three contributions reach x)."""
    x = sg.tensor([1.0, 2.0, 3.0], requires_grad=True, name="x")
    y = (x * x + x).sum()
    y.backward()
    return x.grad


def crashing():
    a = sg.tensor(np.ones((4, 3)), name="a")
    b = sg.tensor(np.ones((4, 5)), name="b")
    h = a.relu()
    return h @ b  # inner sizes 3 and 4 differ


@pytest.fixture
def make_session():
    sessions: list[Session] = []

    def make(fn=tiny_training, *args, **options):
        session = Session(lambda: fn(*args), name=fn.__name__, **options)
        sessions.append(session)
        session.start()
        return session, Commands(session)

    yield make
    for session in sessions:
        session.close()


@pytest.fixture
def programs():
    return {"tiny_training": tiny_training, "fan_out": fan_out, "crashing": crashing}
