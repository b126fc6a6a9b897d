"""Devices: stepgrad computes on the CPU only, with PyTorch's names so device code runs.

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")   # "cpu" here
    x = x.to(device)                                                         # a no-op

`torch.cuda.is_available()`, `torch.backends.mps.is_available()` and
`torch.accelerator.is_available()` say False; moving a tensor to a GPU is a clear error.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np


class device:  # noqa: N801 (PyTorch's name)
    """A device name: "cpu" (or "cuda"/"mps", which exist as names but cannot hold data)."""

    def __init__(self, type: str | device = "cpu", index: int | None = None) -> None:  # noqa: A002
        text = str(type)  # device("cuda:0") or another device
        kind, _, number = text.partition(":")
        if kind not in ("cpu", "cuda", "mps", "meta", "xpu"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps device type at start of device "
                               f"string: {text}")
        self.type: str = kind
        self.index = int(number) if number else index

    def __repr__(self) -> str:
        return f"device(type='{self.type}'" + (f", index={self.index})" if self.index is not
                                                 None else ")")

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other if isinstance(other, device) else device(str(other)))

    def __hash__(self) -> int:
        return hash(str(self))


CPU = device("cpu")


def no_gpu(what: str) -> RuntimeError:
    """The error for asking a GPU of stepgrad."""
    return RuntimeError(f"{what}: stepgrad runs on the CPU only (numpy), so there is no GPU; "
                        f"use device='cpu' or torch.device('cpu') (torch.cuda.is_available() "
                        f"is False here)")


def check_device(where: Any) -> None:
    """Accept `device=None`, "cpu" or device("cpu"); refuse a GPU with a clear error."""
    if where is None:
        return
    if device(where).type != "cpu":
        raise no_gpu(f"device={str(where)!r}")


def parse_to(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The dtype asked by `.to(...)` (None for none), after checking any device in it."""
    from stepgrad.tensor import Tensor

    dtype = kwargs.pop("dtype", None)
    check_device(kwargs.pop("device", None))
    kwargs.pop("non_blocking", None), kwargs.pop("copy", None)
    if kwargs:
        raise TypeError(f"to() got unexpected arguments {sorted(kwargs)}")
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.data.dtype
        elif isinstance(arg, (str, device)):
            check_device(arg)
        elif arg is not None:
            dtype = np.dtype(arg)
    return dtype


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


def _zero(*args: Any, **kwargs: Any) -> int:
    return 0


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


cuda = types.SimpleNamespace(is_available=_false, device_count=_zero, manual_seed=_nothing,
                             manual_seed_all=_nothing, synchronize=_nothing,
                             empty_cache=_nothing)
mps = types.SimpleNamespace(is_available=_false, is_built=_false)
backends = types.SimpleNamespace(
    mps=mps, cuda=types.SimpleNamespace(is_built=_false),
    cudnn=types.SimpleNamespace(is_available=_false, enabled=False, deterministic=False,
                                benchmark=False))
accelerator = types.SimpleNamespace(is_available=_false, device_count=_zero,
                                    current_accelerator=_nothing)
