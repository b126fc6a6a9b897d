"""Function and Context: the forward funnel every op goes through.

An op is a subclass of `Function` with two static methods side by side:

    forward(ctx, *arrays, **attrs) -> array      the value, from numpy arrays
    backward(ctx, grad) -> tuple of arrays        the gradient sent to each input

`Function.apply(*inputs, **attrs)` is the one place where a node is made: it unwraps
the input tensors, calls `forward`, wraps the output, remembers how to go back (when a
gradient is wanted), and emits a `ForwardStep` event when someone listens.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from stepgrad import events
from stepgrad.tensor import Tensor, _new_id, _to_array, default_dtype


class ShapeError(ValueError):
    """Raised when an op's inputs have shapes it cannot combine."""


class Context:
    """A scratchpad an op's forward fills for its backward (`ctx.x = x`).

    `ctx.needs_input_grad[i]` tells whether input i wants a gradient, so a backward
    may skip work (PyTorch: `ctx.needs_input_grad`). Any other attribute is whatever the
    op's forward saved.
    """

    needs_input_grad: tuple[bool, ...]

    if TYPE_CHECKING:  # tell a type checker that any attribute may be saved and read; at run
        # time these would put a Python call in every attribute access of every op
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...


class Where(NamedTuple):
    """Where and how a node was made: kept on its output tensor (`Tensor._where`) when
    someone listens, for the node's BackwardStep and for later nodes that take this output.
    Usually the node's ForwardStep itself (it has all these fields) stands in; a Where is
    made only when the event holds a leaf's copy (see _emit_forward)."""

    module_path: str          # the dotted path of the module being called, "" outside any
    file: str                 # the user's source line that made the node
    line: int
    depth: int                # how many modules were being called
    output: np.ndarray        # the snapshot of the output, shared by the nodes that use it
    name: str                 # the node's readable name, such as relu_2
    input_ids: tuple[int, ...]
    input_names: tuple[str, ...]


class _GradMode(threading.local):
    enabled = True


grad_mode = _GradMode()

#: How many nodes of each op were made since the last iteration or backward; gives the
#: readable names `relu_1`, `relu_2`, ... that stay the same from one iteration to the next.
_name_counts: dict[str, int] = {}


def reset_names() -> None:
    """Start numbering node names afresh (called at the end of backward and per iteration)."""
    _name_counts.clear()


class Function:
    """Base class of every op. Subclasses set `name` and define forward and backward."""

    name: ClassVar[str] = "function"
    #: Inputs after these positions never receive a gradient (targets, masks, statistics).
    differentiable: ClassVar[int | None] = None

    if TYPE_CHECKING:
        # Each op takes its own inputs and attributes, `forward(ctx, a, b)` or
        # `forward(ctx, x, kernel_size=2)`: to a type checker any static method will do
        # (a signature here would make every op's narrower one an "incompatible override").
        forward: ClassVar[Callable[..., np.ndarray]]
        backward: ClassVar[Callable[..., Any]]
    else:
        @staticmethod
        def forward(ctx, *arrays, **attrs):
            """forward(ctx, *arrays, **attrs) -> array: the op's value, from numpy arrays."""
            raise NotImplementedError

        @staticmethod
        def backward(ctx, grad):
            """backward(ctx, grad) -> tuple: the gradient sent to each input (None: none)."""
            raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Any, **attrs: Any) -> Tensor:
        """Run the op on tensors (or numbers and arrays, taken as constants)."""
        for x in inputs:
            if not isinstance(x, Tensor):
                inputs = _as_tensors(inputs)  # numbers and arrays become constants
                break
        tensors: tuple[Tensor, ...] = inputs
        ctx = Context()
        # one and two inputs spelled out: a list comprehension is a function call in Python
        # 3.11, and every tuple made here is one more object for the garbage collector to
        # visit; this funnel runs for every node (3.2 -> 2.9 µs a node on the chain)
        needs: tuple[bool, ...]
        if len(tensors) == 2:
            a, b = tensors
            ctx.needs_input_grad = needs = (a.requires_grad, b.requires_grad)
            arrays: tuple[np.ndarray, ...] = (a._data, b._data)
        elif len(tensors) == 1:
            ctx.needs_input_grad = needs = (tensors[0].requires_grad,)
            arrays = (tensors[0]._data,)
        else:
            ctx.needs_input_grad = needs = tuple([t.requires_grad for t in tensors])
            arrays = tuple([t._data for t in tensors])
        if cls.differentiable is not None:
            keep = cls.differentiable
            ctx.needs_input_grad = needs = needs[:keep] + (False,) * (len(needs) - keep)
        try:
            data = cls.forward(ctx, *arrays, **attrs) if attrs else cls.forward(ctx, *arrays)
        except ShapeError as error:
            raise ShapeError(f"{cls.name}: {error}, at {user_location()}") from None
        except ValueError as error:
            if "broadcast" not in str(error) and "shape" not in str(error):
                raise
            shapes = " and ".join(str(t.data.shape) for t in tensors)
            raise ShapeError(f"{cls.name}: shapes {shapes} do not fit together ({error}), "
                             f"at {user_location()}") from None
        out = _new_tensor(Tensor)
        # the slot itself, not the `data` property: its setter is a Python call per node
        out._data = data if type(data) is np.ndarray else _to_array(data)
        name = cls.name
        out.grad, out._name, out._id, out._fn, out._where = None, None, _new_id(), cls, None
        out._index = _name_counts[name] = _name_counts.get(name, 0) + 1
        if True in needs and grad_mode.enabled:
            out.requires_grad, out._ctx, out._parents = True, ctx, tensors
        else:
            out.requires_grad, out._ctx, out._parents = False, None, ()
        if events.listeners:
            _emit_forward(cls, tensors, out, attrs)
        return out


_new_tensor = object.__new__


def _as_tensors(inputs: tuple[Any, ...]) -> tuple[Tensor, ...]:
    """The inputs as tensors: numbers and arrays become constants of the tensors' float dtype."""
    like = None
    for x in inputs:
        if isinstance(x, Tensor) and x._data.dtype.kind == "f":
            like = x._data.dtype
            break
    like = like or default_dtype()
    return tuple([x if isinstance(x, Tensor) else Tensor._constant(x, like) for x in inputs])


def _emit_forward(cls: type[Function], tensors: tuple[Tensor, ...], out: Tensor,
                  attrs: dict[str, Any]) -> None:
    """Emit the node's ForwardStep, its arrays values that later in-place changes cannot reach.

    The output is shared, not copied: an op's output is a new array the engine never writes
    again (in-place tensor updates, the optimizer's too, rebind `.data` to a new array), kept
    in `out._where` for the later nodes that take it as an input. Only an output that may be
    a leaf's own memory (a view or the very array of a leaf, which its owner may write
    through numpy) is copied. Leaves are copied at each use (`from_numpy` shares the user's
    array), except constants made from Python numbers, which nobody else holds.
    Measured on lesson 9 with a listener that keeps nothing: 1.19x the plain run with copies,
    1.00-1.04x sharing (tests/bench/test_speed_bench.py).
    """
    file, line = user_frame(3)  # 0 user_frame, 1 _emit_forward, 2 apply: all engine
    stack = events.module_stack
    path, depth = (stack[-1], len(stack)) if stack else ("", 0)
    output = out._data
    inputs: list[np.ndarray] = []
    names: list[str] = []
    leaf = False
    for t in tensors:  # an input made by an earlier node shares that node's output
        made: Where | events.ForwardStep | None = t._where
        if made is not None:
            inputs.append(made.output)
            names.append(made.name)
        elif t._index < 0:  # a constant made from a Python number: nobody else has it
            inputs.append(t._data)
            names.append(t.name)
        else:  # a leaf: copied, its owner may write into it
            leaf = True
            inputs.append(t._data.copy())
            names.append(t.name)
    if leaf and (output.base is not None or any([output is t._data for t in tensors])):
        output = output.copy()  # may be the leaf's memory (reshape, slice, identity)
    # ForwardStep.make takes every field in order: seq, depth, node_id, op, name, inputs,
    # input_ids, input_names, input_requires_grad, output, attrs (a fresh dict), module_path,
    # file, line, requires_grad
    input_ids: tuple[int, ...]
    requires_grad: tuple[bool, ...]
    if len(tensors) == 2:  # spelled out, as in apply: no list comprehension per node
        a, b = tensors
        input_ids, requires_grad = (a._id, b._id), (a.requires_grad, b.requires_grad)
    else:
        input_ids = tuple([t._id for t in tensors])
        requires_grad = tuple([t.requires_grad for t in tensors])
    name, input_names = f"{cls.name}_{out._index}", tuple(names)
    event = _make_forward(events.next_seq(), depth, out._id, cls.name, name, tuple(inputs),
                          input_ids, input_names, requires_grad, output, attrs, path, file,
                          line, out.requires_grad)
    # kept for the node's BackwardStep and for later nodes that use this output: the event
    # itself (it has every field of a Where), unless it holds a leaf's copy, which a tensor
    # kept by the program would keep alive outside the history's budget
    out._where = Where(path, file, line, depth, output, name, input_ids, input_names) \
        if leaf else event
    events.emit(event)


_make_forward = events.ForwardStep.make


_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_NOT_ENGINE = tuple(os.path.join(_PACKAGE, sub) + os.sep for sub in ("lessons", "tui"))


def _in_engine(filename: str) -> bool:
    return filename.startswith(_PACKAGE) and not filename.startswith(_NOT_ENGINE)


_engine_files: dict[str, bool] = {}  # filename -> _in_engine(filename), asked once per file


def user_frame(skip: int = 1) -> tuple[str, int]:
    """The file and line of the innermost caller outside the engine (the user's code),
    looking from `skip` frames up (callers that know they are engine frames skip them)."""
    frame: FrameType | None = sys._getframe(skip)
    while frame is not None:
        filename = frame.f_code.co_filename
        inside = _engine_files.get(filename)
        if inside is None:
            inside = _engine_files[filename] = _in_engine(filename)
        if not inside:
            return filename, frame.f_lineno
        frame = frame.f_back
    return "", 0


def user_location() -> str:
    file, line = user_frame()
    return f"{os.path.basename(file)}:{line}" if file else "<unknown>"
