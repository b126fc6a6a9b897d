"""`torch.utils`: the data part only (`torch.utils.data.TensorDataset`, `DataLoader`)."""

from __future__ import annotations

from typing import Any

from stepgrad.utils import data


def __getattr__(name: str) -> Any:
    """`torch.utils.some_api` that stepgrad lacks fails here, naming it."""
    if name.startswith("__"):
        raise AttributeError(name)
    from stepgrad import NotInCourseSubset

    raise NotInCourseSubset(f"torch.utils.{name} is a PyTorch API outside stepgrad's course "
                            f"subset (README: 'Coming from PyTorch')")


__all__ = ["data"]
