"""A long gradient check tells the front end how far it got (issue 10 section 1)."""

from __future__ import annotations

import numpy as np

import stepgrad as sg
from stepgrad.debug import Commands, Session


def two_layers():
    sg.manual_seed(0)
    model = sg.nn.Sequential(sg.nn.Linear(32, 16), sg.nn.ReLU(), sg.nn.Linear(16, 4))
    x = sg.tensor(np.random.default_rng(0).standard_normal((8, 32)).astype(np.float32))
    loss = sg.nn.functional.cross_entropy(model(x), np.arange(8) % 4)
    loss.backward()


def _paused_at_the_end() -> tuple[Session, Commands]:
    session = Session(two_layers, name="two_layers")
    session.start()
    commands = Commands(session)
    commands.run("continue")
    return session, commands


def test_gradcheck_all_reports_progress_to_the_front_end():
    session, commands = _paused_at_the_end()
    try:
        lines: list[str] = []
        commands.progress = lines.append
        commands.PROGRESS_AFTER = commands.PROGRESS_EVERY = 0.0  # report every step
        report = commands.run("gradcheck all")
        assert "MISMATCH" not in report
        assert lines and all(line.startswith("gradcheck all: ") for line in lines)
        assert any("linear" in line for line in lines)
    finally:
        session.close()


def test_a_quick_check_says_nothing_and_no_listener_costs_nothing():
    session, commands = _paused_at_the_end()
    try:
        assert commands.progress_reporter() is None  # no front end listens
        lines: list[str] = []
        commands.progress = lines.append  # the default: silent for the first half second
        commands.run("gradcheck all")
        assert len(lines) <= 3
    finally:
        session.close()
