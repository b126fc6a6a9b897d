"""What the bridge's hooks share: the debugged thread, node ids and names, snapshots.

Every hook of the bridge runs in the thread of the program being debugged (PyTorch runs a
CPU backward in the thread that called it). The per-thread state lives in `local`;
`local.active` is True only in the thread the bridge was started in, so the global module
and optimizer hooks stay silent in every other thread.

A tensor made by a recorded op carries `_stepgrad_node` (a `Made`): its node id, its
readable name and the snapshot of its value. A later op that takes it as an input shares
that snapshot (one copy per value, DESIGN.md decision 1) as long as the tensor's version
counter says nobody changed it in place since. Parameters carry `_stepgrad_name`, their
path in the model (`fc1.weight`).
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from types import FrameType
from typing import Any, NamedTuple

import numpy as np
import torch

import stepgrad

#: Node ids of torch nodes; far above stepgrad's own ids, so the two never meet in a history
#: (and torchbridge.is_torch_event tells a torch step by its id alone).
next_id = itertools.count(1_000_000_001).__next__
_leaf_numbers = itertools.count(1).__next__


class Made(NamedTuple):
    """What a recorded op left on its output tensor."""

    node_id: int
    name: str
    version: int
    array: np.ndarray
    module_path: str
    depth: int
    file: str
    line: int


class _Local(threading.local):
    active = False  # the bridge is on in this thread
    quiet = 0  # > 0 while an optimizer or zero_grad works: their own ops are not the model's
    watched = 0  # ops waiting for their backward, since the last backward (BackwardBegin.nodes)

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}  # op -> nodes made: relu_1, relu_2, ...
        self.received: set[int] = set()  # node ids that got a gradient in this backward pass
        self.in_flight: list[Any] = []  # backward records half done (see backward.py)
        self.entered: list[bool] = []  # per module call: did it emit ModuleEnter?
        self.root: Any = None  # weak reference to the outermost module last called
        self.paths: dict[int, str] = {}  # id(module) -> its path in that module
        self.steps: list[Any] = []  # per optimizer step: the values before it, or None
        self.step_counts: dict[int, int] = {}  # id(optimizer) -> steps taken


local = _Local()

#: The custom autograd Functions (torch.autograd.Function subclasses) the program ran, by
#: qualified name: a recorded `MyReLU.apply(ins[0])` can be re-run by gradcheck, and nothing
#: else of the program's can.
functions: dict[str, type] = {}


def reset_names() -> None:
    """Number nodes afresh (`relu_1` again): after each backward and each iteration, as the
    stepgrad engine does, so a node keeps its name from one iteration to the next."""
    local.counts.clear()


def node_name(op: str) -> str:
    counts = local.counts
    counts[op] = count = counts.get(op, 0) + 1
    return f"{op}_{count}"


def snapshot(tensor: torch.Tensor) -> np.ndarray:
    """A numpy copy of `tensor` that no later in-place change can reach."""
    tensor = tensor.detach()
    if tensor.dtype == torch.bfloat16 or tensor.dtype == torch.float16:
        tensor = tensor.float()  # numpy has no bfloat16
    return tensor.cpu().numpy().copy()


def describe_input(tensor: torch.Tensor) -> tuple[int, str, np.ndarray]:
    """(node id, name, snapshot) of a tensor an op takes as an input."""
    made: Made | None = getattr(tensor, "_stepgrad_node", None)
    if made is not None and made.version == tensor._version:
        return made.node_id, made.name, made.array  # shared with the op that made it
    name = getattr(tensor, "_stepgrad_name", None)
    leaf_id = getattr(tensor, "_stepgrad_leaf", None)
    if leaf_id is None:  # a leaf seen for the first time: data, a parameter, a constant
        leaf_id = next_id()
        tag(tensor, "_stepgrad_leaf", leaf_id)
    if name is None:
        name = f"t{leaf_id - 1_000_000_000}"
    return leaf_id, name, snapshot(tensor)  # leaves are copied at each use


def tag(tensor: torch.Tensor, name: str, value: Any) -> None:
    """Leave `value` on `tensor` as attribute `name` (a tensor that refuses keeps none)."""
    try:
        setattr(tensor, name, value)
    except (AttributeError, RuntimeError):
        pass


def module_place() -> tuple[str, int]:
    """(path of the module being called, how many modules deep)."""
    stack = stepgrad.events.module_stack
    return (stack[-1], len(stack)) if stack else ("", 0)


_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
_STEPGRAD_DIR = os.path.dirname(os.path.abspath(stepgrad.__file__)) + os.sep
_USER_INSIDE = tuple(_STEPGRAD_DIR + sub + os.sep for sub in ("lessons", "tui"))
_library_files: dict[str, bool] = {}


def _is_library(filename: str) -> bool:
    """torch's files, stepgrad's engine and bridge, and Python's own machinery."""
    if filename.startswith(_STEPGRAD_DIR):
        return not filename.startswith(_USER_INSIDE)
    return filename.startswith((_TORCH_DIR, "<frozen")) or filename.endswith(
        os.sep + "contextlib.py")


def _torch_files(*parts: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(os.path.join(_TORCH_DIR, *part) for part in parts)


#: How a torch call reaches a function mode: not the op's caller.
_PLUMBING = _torch_files(("overrides.py",), ("_tensor.py",), ("functional.py",),
                         ("nn", "functional.py"), ("_jit_internal.py",))
#: Where torch calls ops on the user's behalf: module forwards, custom Functions. An op
#: called straight from any other torch file is torch's own work (a DataLoader collating a
#: batch, clip_grad_norm_, an optimizer, initialisation), not the model's.
_ON_USERS_BEHALF = _torch_files(("nn", "modules", ""), ("autograd", "function.py"))


def user_frame() -> tuple[str, int]:
    """File and line of the innermost frame of the user's own code; line -1 when the op was
    called by torch's own machinery rather than for the user (see _ON_USERS_BEHALF)."""
    frame: FrameType | None = sys._getframe(1)
    files = _library_files
    caller = True  # until the op's caller (past stepgrad's frames and torch's plumbing)
    while frame is not None:
        filename = frame.f_code.co_filename
        library = files.get(filename)
        if library is None:
            library = files[filename] = _is_library(filename)
        if not library:
            return filename, frame.f_lineno
        if caller and not filename.startswith((_STEPGRAD_DIR, *_PLUMBING)):
            caller = False
            if filename.startswith(_TORCH_DIR) and not filename.startswith(_ON_USERS_BEHALF):
                return filename, -1
        frame = frame.f_back
    return "", 0
