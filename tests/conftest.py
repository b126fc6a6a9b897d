"""Shared test setup: kept small and generic on purpose (test files hold their own helpers).

Every test starts from the same engine state and leaves it so: the default dtype, the
random seed, the event listeners and the module stack are restored after each test, so a
test that fails half way (or subscribes and forgets) cannot change what the next one sees.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import settings

import stepgrad as sg
from stepgrad import events

# Helpers shared by several test folders (tmux_terminal.py) import by their module name.
sys.path.insert(0, os.path.dirname(__file__))

# In CI the property tests draw the same examples every run (a landing must not depend on
# luck); on a developer's machine they keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _clean_engine_state() -> Iterator[None]:
    dtype = sg.default_dtype()
    listeners, stack = list(events.listeners), list(events.module_stack)
    sg.manual_seed(0)
    yield
    sg.set_default_dtype(dtype)
    events.listeners[:] = listeners
    events.module_stack[:] = stack


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded numpy generator for test data."""
    return np.random.default_rng(0)
