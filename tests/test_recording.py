"""While events are recorded (a trace, a debugger session) the cyclic collector runs less
often, and the program's own threshold comes back afterwards (stepgrad/recording.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.debug import Session
from stepgrad.recording import RECORDING_THRESHOLD, fewer_collections


@pytest.fixture(autouse=True)
def _default_threshold() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_a_trace_raises_the_threshold_while_it_records() -> None:
    with sg.trace():
        inside = gc.get_threshold()
    assert inside == (RECORDING_THRESHOLD, 10, 10)
    assert gc.get_threshold() == (700, 10, 10)


def test_a_session_raises_it_while_the_program_runs() -> None:
    seen = []

    def program() -> None:
        seen.append(gc.get_threshold()[0])
        (sg.tensor(np.ones(3), requires_grad=True) * 2).sum().backward()

    session = Session(program, stop_at_start=False)
    session.start()
    session.close()
    assert seen == [RECORDING_THRESHOLD] and gc.get_threshold() == (700, 10, 10)


def test_a_threshold_the_program_set_meanwhile_stands() -> None:
    with fewer_collections():
        gc.set_threshold(5000, 10, 10)
    assert gc.get_threshold() == (5000, 10, 10)


def test_a_disabled_threshold_and_nesting_are_left_alone() -> None:
    gc.set_threshold(0, 10, 10)
    with fewer_collections():
        assert gc.get_threshold()[0] == 0
    gc.set_threshold(700, 10, 10)
    with fewer_collections(), fewer_collections():
        assert gc.get_threshold()[0] == RECORDING_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)
