"""The random numbers of stepgrad (initialisation, dropout, data shuffles in lessons).

`sg.manual_seed(0)` makes a run repeatable, as `torch.manual_seed` does, and
`torch.Generator().manual_seed(s)` gives a separate stream to pass as `generator=`.
(The streams are numpy's, so the numbers differ from PyTorch's for the same seed.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

_generator = [np.random.default_rng()]


class Generator:
    """A random stream of its own (PyTorch: `torch.Generator`), for `generator=` arguments."""

    def __init__(self, device: Any = "cpu") -> None:
        from stepgrad.device import check_device

        check_device(device)
        self._seed: int | None = None
        self.rng = np.random.default_rng()

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from `seed`; returns the generator, so it can be chained."""
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int | None:
        return self._seed


def manual_seed(seed: int) -> np.random.Generator:
    """Seed stepgrad's random generator; returns it."""
    _generator[0] = np.random.default_rng(seed)
    return _generator[0]


def seed() -> int:
    """Seed stepgrad's generator from the operating system; returns the seed used."""
    value = int(np.random.default_rng().integers(2**63))
    manual_seed(value)
    return value


def generator() -> np.random.Generator:
    """The generator every random choice in stepgrad draws from."""
    return _generator[0]


def numpy_generator(chosen: Any = None) -> np.random.Generator:
    """The numpy generator behind a `generator=` argument (stepgrad's own when None)."""
    if chosen is None:
        return _generator[0]
    if isinstance(chosen, Generator):
        return chosen.rng
    if isinstance(chosen, np.random.Generator):
        return chosen
    raise TypeError(f"generator= expects a torch.Generator (stepgrad.Generator), got "
                    f"{type(chosen).__name__}")
