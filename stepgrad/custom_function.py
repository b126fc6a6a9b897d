"""PyTorch-style custom ops: `torch.autograd.Function` with `ctx.save_for_backward`.

    class Cube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x ** 2

    y = Cube.apply(x)

`apply` runs through stepgrad's forward funnel as an op registered under the class's name
(here "Cube"; the module path is added if that name is taken), so the debugger steps the
node, its inputs, output and gradients like any built-in op, and `list` shows your forward
and backward. The tensor math inside forward and backward is not recorded (as in PyTorch): the node
is one step. stepgrad's own op form (`stepgrad.Function`, forward on numpy arrays) is the
one built-in ops use; this form is for PyTorch code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad import function as engine
from stepgrad.grad_mode import no_grad
from stepgrad.ops.registry import register, registry
from stepgrad.tensor import Tensor


@contextlib.contextmanager
def _unrecorded() -> Iterator[None]:
    """No graph and no events: the math inside a custom op is the op's own business."""
    saved = list(events.listeners)
    events.listeners.clear()
    try:
        with no_grad():
            yield
    finally:
        events.listeners[:] = saved


def _wrap(array: np.ndarray) -> Tensor:
    return Tensor._constant(array, array.dtype)


class FunctionCtx:
    """The `ctx` of a custom Function: save tensors for backward, read them back."""

    needs_input_grad: tuple[bool, ...]

    def save_for_backward(self, *tensors: Any) -> None:
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        return getattr(self, "_saved", ())

    def mark_non_differentiable(self, *tensors: Any) -> None:
        """Accepted for compatibility; outputs of integer dtype never get a gradient."""

    def set_materialize_grads(self, value: bool) -> None:
        """Accepted for compatibility; gradients reaching backward are always arrays."""


class Function:
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)`, then
    call `YourFunction.apply(*args)`. PyTorch: `torch.autograd.Function`."""

    _engine_ops: dict[type, type[engine.Function]] = {}

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("a custom Function needs a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Any, *grad_outputs: Any) -> Any:
        raise NotImplementedError("a custom Function needs a static backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run forward as one node of the graph; its backward is this class's backward."""
        op = Function._engine_ops.get(cls)
        if op is None:
            op = Function._engine_ops[cls] = _engine_op(cls)
        tensor_at = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        others = {i: a for i, a in enumerate(args) if i not in tensor_at}
        return op.apply(*[args[i] for i in tensor_at], layout=(len(args), others))


def _engine_op(user: type[Function]) -> type[engine.Function]:
    """An engine op (stepgrad.Function) that calls the user's forward and backward."""

    def forward(ctx: Any, *arrays: np.ndarray, layout: Any = None) -> np.ndarray:
        count, others = layout
        tensors = iter([_wrap(a) for a in arrays])
        args = [others[i] if i in others else next(tensors) for i in range(count)]
        user_ctx = FunctionCtx()
        needs = iter(ctx.needs_input_grad)  # one flag per argument, as PyTorch gives
        user_ctx.needs_input_grad = tuple(False if i in others else next(needs)
                                          for i in range(count))
        with _unrecorded():
            out = user.forward(user_ctx, *args)
        if isinstance(out, (tuple, list)):
            raise NotImplementedError(f"{user.__name__}.forward returned {len(out)} outputs: "
                                      f"custom Functions with several outputs are outside "
                                      f"stepgrad's course subset; return one tensor")
        ctx.user_ctx, ctx.count, ctx.tensor_at = user_ctx, count, \
            [i for i in range(count) if i not in others]
        return np.asarray(out.data if isinstance(out, Tensor) else out)

    def backward(ctx: Any, grad: np.ndarray) -> tuple:
        with _unrecorded():
            sent = user.backward(ctx.user_ctx, _wrap(grad))
        sent = sent if isinstance(sent, tuple) else (sent,)
        if len(sent) != ctx.count:
            raise RuntimeError(f"function {user.__name__}Backward returned an incorrect number "
                               f"of gradients (expected {ctx.count}, got {len(sent)})")
        picked = [sent[i] for i in ctx.tensor_at]
        return tuple(None if g is None else np.asarray(g.data if isinstance(g, Tensor) else g)
                     for g in picked)

    # the debugger shows (and steps into) the user's own forward and backward
    forward.__wrapped__ = user.forward  # type: ignore[attr-defined]
    backward.__wrapped__ = user.backward  # type: ignore[attr-defined]
    name = user.__name__ if user.__name__ not in registry else \
        f"{user.__module__}.{user.__qualname__}"
    op = type(user.__name__, (engine.Function,), {
        "name": name, "forward": staticmethod(forward), "backward": staticmethod(backward),
        "__doc__": user.__doc__, "__module__": user.__module__})
    return register(op)
