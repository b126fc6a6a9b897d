"""The random numbers of stepgrad (initialisation, dropout, data shuffles in lessons).

`sg.manual_seed(0)` makes a run repeatable, as `torch.manual_seed` does.
"""

from __future__ import annotations

import numpy as np

_generator = [np.random.default_rng()]


def manual_seed(seed: int) -> np.random.Generator:
    """Seed stepgrad's random generator; returns it."""
    _generator[0] = np.random.default_rng(seed)
    return _generator[0]


def generator() -> np.random.Generator:
    """The generator every random choice in stepgrad draws from."""
    return _generator[0]
