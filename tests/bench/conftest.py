"""Every benchmark runs numpy's OpenBLAS on one thread (the machine has two cores, and a
spinning BLAS pool makes timings of small matrices noisy). numpy may have been loaded before
any environment variable could say so, so the thread count is set through the library."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    restores = []
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    for path in paths:
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and set_ is not None:
                    count = get()
                    set_(1)
                    restores.append(lambda set_=set_, count=count: set_(count))
    yield
    for restore in restores:
        restore()
