"""Pausing a program that emits no events (`while True: pass`), as pdb does on Ctrl-C.

Most programs are paused at their next event. A program busy in plain Python emits none,
so `interrupt` (and `quit`) also switch on line tracing in the program's thread, only
then: the engine never pays for it. Python 3.11 can only `sys.settrace` the calling
thread, so the switch is two steps:

1. From the debugger's thread, `_PyEval_SetTrace` (CPython's C API, through ctypes) gives
   the program's thread a tiny C-level trace hook.
2. That hook runs in the program's thread at its next traced moment, where it calls
   `sys.settrace` for real and marks the running frames; at the next line of the user's
   code the session pauses (or stops, for quit) and tracing is switched off again.

Where the C API is missing (another Python), `interrupt` still pauses at the next event.
"""

from __future__ import annotations

import ctypes
import inspect
import os
import sys
import sysconfig
import threading
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

from stepgrad.debug.program import is_users

#: int tracefunc(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
_TRACEFUNC = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.py_object, ctypes.c_int, ctypes.c_void_p
)
_API = ctypes.pythonapi
AVAILABLE = hasattr(_API, "_PyEval_SetTrace") and hasattr(_API, "PyThreadState_Get")
if AVAILABLE:
    _API.PyThreadState_Get.restype = ctypes.c_void_p
    _API._PyEval_SetTrace.argtypes = [ctypes.c_void_p, _TRACEFUNC, ctypes.py_object]
    _API._PyEval_SetTrace.restype = ctypes.c_int


#: Where the standard library and installed packages live: their lines are never where an
#: interrupt pauses (the user's own code is outside them, or the user runs it from there).
_LIBRARIES = tuple(sorted({sysconfig.get_paths()[k] + os.sep
                           for k in ("stdlib", "platstdlib", "purelib", "platlib")}))


class LineInterrupter:
    """Calls `on_line(frame)` in the program's thread at the user's next line, once armed."""

    def __init__(self, on_line: Callable[[FrameType], None]) -> None:
        # a session's bound method is held weakly: a strong one is a cycle (session ->
        # interrupter -> session) that keeps a closed session's whole history alive until
        # the cyclic collector's rare full collection (about 110 MB a session on an
        # MNIST-size CNN: three closed sessions made the next one's run 3x slower)
        self._on_line: Callable[[], Callable[[FrameType], None] | None] = (
            weakref.WeakMethod(on_line) if inspect.ismethod(on_line) else lambda: on_line)
        self._lock = threading.Lock()
        self._tstate: int | None = None  # the program thread's PyThreadState, while it runs
        self._hook = _TRACEFUNC(self._first_trace) if AVAILABLE else None

    def enter(self) -> None:
        """Called by the program's thread when it starts: remember its thread state."""
        if AVAILABLE:
            with self._lock:
                self._tstate = _API.PyThreadState_Get()

    def leave(self) -> None:
        """Called by the program's thread before it ends: never touch its state again."""
        with self._lock:
            self._tstate = None

    def arm(self) -> bool:
        """From another thread: trace the program's thread until the user's next line.
        False when that cannot be done (no such C API, or the thread has ended)."""
        with self._lock:  # the program thread cannot end (and free its state) meanwhile
            if self._tstate is None or self._hook is None:
                return False
            return _API._PyEval_SetTrace(self._tstate, self._hook, None) == 0

    def _first_trace(self, obj: Any, frame: FrameType, what: int, arg: Any) -> int:
        """The C-level hook, now in the program's thread: switch to Python tracing there."""
        sys.settrace(self._trace)
        while frame is not None:
            frame.f_trace = self._trace
            frame = frame.f_back  # type: ignore[assignment]
        return 0

    def _trace(self, frame: FrameType, event: str, arg: Any) -> Any:
        filename = frame.f_code.co_filename
        if event != "line" or not is_users(filename) or filename.startswith(_LIBRARIES):
            # not the user's line: installed libraries run callbacks in this thread too
            # (a gc callback of hypothesis's), and an exception raised there is swallowed
            return self._trace
        sys.settrace(None)
        on_line = self._on_line()
        if on_line is not None:
            on_line(frame)  # may raise (quit stops the program at this line)
        return None
