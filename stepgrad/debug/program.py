"""The user's program as Python sees it: a script run as `python path` would, the frame
where it paused, and its traceback without the debugger's own frames."""

from __future__ import annotations

import os
import runpy
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

from stepgrad.function import _in_engine

_DEBUGGER = os.path.dirname(__file__)
_RUNPY = (runpy.__file__, "<frozen runpy>")
_NOT_USERS = (*_RUNPY, threading.__file__)  # the program thread's own start-up frames


def script(path: str, argv: list[str] | None = None) -> Callable[[], Any]:
    """A program that runs the script at `path` as `python path argv...` would."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such script: {path}")
    full = os.path.abspath(path)

    def run_script() -> Any:
        saved_argv, saved_path = sys.argv[:], sys.path[:]
        sys.argv = [full, *(argv or [])]
        sys.path.insert(0, os.path.dirname(full))
        try:
            return runpy.run_path(full, run_name="__main__")
        finally:
            sys.argv[:], sys.path[:] = saved_argv, saved_path

    return run_script


def is_users(filename: str) -> bool:
    """Is code in `filename` the user's (not the engine's, the debugger's, runpy's, or
    PyTorch's own when a torch program runs under stepgrad.torchbridge)?"""
    return not (_in_engine(filename) or filename.startswith(_DEBUGGER) or filename in _NOT_USERS
                or filename.startswith(_torch_dir()))


def _torch_dir() -> str:
    torch = sys.modules.get("torch")  # never imported here: only when the program did
    path = getattr(torch, "__file__", None)
    return os.path.dirname(path) + os.sep if path else "\0"


def user_frame(frame: FrameType | None) -> FrameType | None:
    """The innermost frame of the user's code at or above `frame`."""
    while frame is not None and not is_users(frame.f_code.co_filename):
        frame = frame.f_back
    return frame


def user_traceback(exc: BaseException) -> str:
    """The traceback without the debugger's own frames."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(_DEBUGGER) and f.filename not in _RUNPY
    ]
    lines = traceback.format_list(frames)
    return (
        "Traceback (most recent call last):\n"
        + "".join(lines)
        + "".join(traceback.format_exception_only(type(exc), exc))
    )
