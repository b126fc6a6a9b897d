"""The user's frames where the program paused (or died): `where`, `up`, `down` and the
variables `print` sees, as pdb gives them, post-mortem included.

Frames are captured when the program pauses, innermost first, keeping only the user's own
code (the engine's and the debugger's frames are skipped). Each keeps a copy of its locals,
so a frame stays inspectable after the program moved on or raised.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any

from stepgrad.debug.program import is_users

#: The name the engine gives a tensor nobody named (t17); such a tensor may take the name
#: of the variable that holds it.
_UNNAMED = re.compile(r"t\d+")


@dataclass(frozen=True)
class FrameInfo:
    """One frame of the user's program: where it is and its variables."""

    filename: str
    lineno: int
    function: str
    globals: dict[str, Any]
    locals: dict[str, Any]

    def where(self) -> str:
        return f"{os.path.basename(self.filename)}:{self.lineno} in {self.function}()"


def _info(frame: FrameType, lineno: int) -> FrameInfo:
    code = frame.f_code
    return FrameInfo(code.co_filename, lineno, code.co_name, frame.f_globals, dict(frame.f_locals))


class FrameStack:
    """The user's frames, innermost first, and which one `print` looks into."""

    def __init__(self, frames: list[FrameInfo]) -> None:
        self.frames = frames
        self.index = 0

    @classmethod
    def from_frame(cls, frame: FrameType | None) -> FrameStack:
        """The user's frames at and above `frame` (a paused program)."""
        frames = []
        while frame is not None:
            if is_users(frame.f_code.co_filename):
                frames.append(_info(frame, frame.f_lineno))
            frame = frame.f_back
        return cls(frames)

    @classmethod
    def from_traceback(cls, tb: TracebackType | None) -> FrameStack:
        """The user's frames where an exception was raised (post-mortem)."""
        frames = []
        while tb is not None:
            if is_users(tb.tb_frame.f_code.co_filename):
                frames.append(_info(tb.tb_frame, tb.tb_lineno))
            tb = tb.tb_next
        return cls(frames[::-1])

    @property
    def current(self) -> FrameInfo | None:
        return self.frames[self.index] if self.frames else None

    def pair(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(globals, locals) of the current frame, as namespace.py takes them."""
        frame = self.current
        return None if frame is None else (frame.globals, frame.locals)

    def move(self, count: int) -> str:
        """Up (count > 0, toward the callers) or down; says where it arrived."""
        if not self.frames:
            raise ValueError("no frames of your program here (it has not paused in your code)")
        target = self.index + count
        if not 0 <= target < len(self.frames):
            end = "oldest" if count > 0 else "newest"
            raise ValueError(f"already at the {end} frame: {self.frames[self.index].where()}")
        self.index = target
        return f"> {self.frames[target].where()}"

    def text(self) -> str:
        """The stack as `where` lists it, oldest first, the current frame marked."""
        rows = []
        for i in range(len(self.frames) - 1, -1, -1):
            mark = "->" if i == self.index else "  "
            rows.append(f"{mark} {self.frames[i].where()}")
        return "\n".join(rows)

    def name_tensors(self) -> None:
        """Give unnamed tensors the names of the variables that hold them (W1 = sg.randn(...)
        shows as W1 from now on, in events, breakpoints and the tape)."""
        for frame in self.frames:
            for variable, value in frame.locals.items():
                name = getattr(value, "name", None)
                if isinstance(name, str) and _UNNAMED.fullmatch(name) and _is_leaf(value):
                    try:
                        value.name = variable
                    except (AttributeError, TypeError):
                        continue


def _is_leaf(value: Any) -> bool:
    return hasattr(value, "requires_grad") and getattr(value, "grad_fn", None) is None
