"""stepgrad: a transparent numpy autodiff engine, and a debugger that steps through backprop.

    import stepgrad as sg
    x = sg.tensor([[1.0, -2.0]], requires_grad=True, name="x")
    model = sg.nn.Sequential(sg.nn.Linear(2, 8), sg.nn.ReLU(), sg.nn.Linear(8, 3))
    loss = sg.nn.functional.cross_entropy(model(x), [2])
    loss.backward()
    model[0].weight.grad        # a numpy array, shaped like the weight

The API follows PyTorch's names, so what you learn here transfers.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

if "numpy" not in sys.modules:
    # At stepgrad's sizes one BLAS thread is fastest, and OpenBLAS's thread pool spinning on a
    # busy 2-core machine made lessons several times slower. A setting of the user's wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402 (after the BLAS thread setting)

from stepgrad import events, nn, ops, optim
from stepgrad.anomaly import AnomalyError, detect_anomaly
from stepgrad.function import Context, Function, ShapeError
from stepgrad.grad_mode import enable_grad, is_grad_enabled, no_grad
from stepgrad.gradcheck import GradcheckError, check_node, gradcheck
from stepgrad.loop import mark_epoch, mark_iteration
from stepgrad.nn.module import load, save
from stepgrad.random import manual_seed
from stepgrad.tensor import Tensor, default_dtype, set_default_dtype, tensor
from stepgrad.trace import Trace, TraceError, load_trace, trace

__version__ = "0.1.0"

float32 = np.float32
float64 = np.float64


def concat(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis. PyTorch: torch.cat."""
    return ops.Concat.apply(*tensors, axis=axis if dim is None else dim)


cat = concat


def stack(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Stack tensors along a new axis. PyTorch: torch.stack."""
    return ops.Stack.apply(*tensors, axis=axis if dim is None else dim)


def pad(x: Tensor, pad_width: Any, value: float = 0.0) -> Tensor:
    """Pad with a constant, `pad_width` as in np.pad. PyTorch: F.pad (reversed order)."""
    return ops.Pad.apply(x, pad_width=pad_width, value=value)


def zeros(*shape: int, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return Tensor(np.zeros(shape, dtype=dtype or default_dtype()), requires_grad=requires_grad)


def ones(*shape: int, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    return Tensor(np.ones(shape, dtype=dtype or default_dtype()), requires_grad=requires_grad)


def randn(*shape: int, requires_grad: bool = False, dtype: Any = None) -> Tensor:
    """Standard normal values from stepgrad's seeded generator (`sg.manual_seed`)."""
    from stepgrad.random import generator

    data = generator().standard_normal(shape).astype(dtype or default_dtype())
    return Tensor(data, requires_grad=requires_grad)


def debug(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `fn(*args, **kwargs)` under the debugger, stopping at its first event."""
    from stepgrad.launch import debug as _debug

    return _debug(fn, *args, **kwargs)


def set_trace() -> None:
    """Pause at the next event of this program in the debugger (like `breakpoint()`)."""
    from stepgrad.launch import set_trace as _set_trace

    _set_trace()


__all__ = [
    "AnomalyError", "Context", "Function", "GradcheckError", "ShapeError", "Tensor", "Trace",
    "TraceError", "cat", "check_node", "concat", "debug", "default_dtype", "detect_anomaly",
    "enable_grad", "events", "float32", "float64", "gradcheck", "is_grad_enabled", "load",
    "load_trace", "manual_seed", "mark_epoch", "mark_iteration", "nn", "no_grad", "ones", "ops",
    "optim", "pad", "randn", "save", "set_default_dtype", "set_trace", "stack", "tensor", "trace",
    "zeros",
]
