"""stepgrad: a transparent numpy autodiff engine, and a debugger that steps through backprop.

    import stepgrad as sg
    x = sg.tensor([[1.0, -2.0]], requires_grad=True, name="x")
    model = sg.nn.Sequential(sg.nn.Linear(2, 8), sg.nn.ReLU(), sg.nn.Linear(8, 3))
    loss = sg.nn.functional.cross_entropy(model(x), [2])
    loss.backward()
    model[0].weight.grad        # a Tensor shaped like the weight

The API follows PyTorch's names, so what you learn here transfers: `import stepgrad as
torch` runs course-sized PyTorch programs (README: "Coming from PyTorch").
"""

from __future__ import annotations

import os
import sys
from typing import Any

if "numpy" not in sys.modules:
    # At stepgrad's sizes one BLAS thread is fastest, and OpenBLAS's thread pool spinning on a
    # busy 2-core machine made lessons several times slower. A setting of the user's wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402 (after the BLAS thread setting)

import stepgrad.tensor  # first: function.py and the ops need Tensor defined when they load
from stepgrad import autograd, events, nn, ops, optim, utils
from stepgrad.anomaly import AnomalyError, detect_anomaly
from stepgrad.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    multinomial,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    zeros,
    zeros_like,
)
from stepgrad.device import accelerator, backends, cuda, device
from stepgrad.function import Context, Function, ShapeError
from stepgrad.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from stepgrad.gradcheck import GradcheckError, check_node, gradcheck
from stepgrad.loop import mark_epoch, mark_iteration
from stepgrad.random import Generator, manual_seed, seed
from stepgrad.serialization import load, save
from stepgrad.tensor import (
    Size,
    Tensor,
    default_dtype,
    get_default_dtype,
    set_default_dtype,
    tensor,
)
from stepgrad.torch_counting import *  # noqa: F403 (unique, bincount, FloatTensor, ...)
from stepgrad.torch_functions import *  # noqa: F403 (torch.exp, torch.max, ...: one per method)
from stepgrad.torch_functions import cat, concat, stack, where
from stepgrad.trace import Trace, TraceError, load_trace, trace

__version__ = "0.1.0"
del stepgrad  # the name `import stepgrad.tensor` bound: the package itself

# dtypes by PyTorch's names: numpy's types, so `x.dtype == torch.float32` holds
float32, float64, float16 = np.float32, np.float64, np.float16
int64, int32, int16, int8, uint8 = np.int64, np.int32, np.int16, np.int8, np.uint8
long, double, half, bool = np.int64, np.float64, np.float16, np.bool_  # noqa: A001
float, int = np.float32, np.int32  # noqa: A001 (PyTorch's names; builtins unused below)
dtype = np.dtype
finfo, iinfo = np.finfo, np.iinfo


def pad(x: Tensor, pad_width: Any, value: Any = 0.0) -> Tensor:
    """Pad with a constant, `pad_width` as in np.pad. PyTorch: F.pad (reversed order)."""
    return ops.Pad.apply(x, pad_width=pad_width, value=value)


def debug(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `fn(*args, **kwargs)` under the debugger, stopping at its first event."""
    from stepgrad.launch import debug as _debug

    return _debug(fn, *args, **kwargs)


def set_trace() -> None:
    """Pause at the next event of this program in the debugger (like `breakpoint()`)."""
    from stepgrad.launch import set_trace as _set_trace

    _set_trace()


def draw_graph(root: Tensor, path: Any = None) -> str:
    """The graph that made `root` as Graphviz DOT source; with `path`, also write it there
    (`.svg` renders with Graphviz's `dot`). Like micrograd's `draw_dot` and torchviz's
    `make_dot`; the debugger's `graph` command draws the same graph in the terminal."""
    from stepgrad.graph import draw_graph as _draw_graph

    return _draw_graph(root, path)


class NotInCourseSubset(AttributeError):
    """A PyTorch name stepgrad does not have: it is outside stepgrad's course subset."""


def __getattr__(name: str) -> Any:
    """`torch.some_api` that stepgrad lacks fails here, naming it, not lines later."""
    if name.startswith("__"):
        raise AttributeError(name)
    raise NotInCourseSubset(
        f"torch.{name} is a PyTorch API outside stepgrad's course subset: stepgrad implements "
        f"the tensors, autograd, nn, optim and functions a deep-learning course uses (README: "
        f"'Coming from PyTorch'). Write it from the ops stepgrad has, or run this part with "
        f"PyTorch itself")


__all__ = [
    "AnomalyError", "Context", "Function", "Generator", "GradcheckError", "NotInCourseSubset",
    "ShapeError", "Size", "Tensor", "Trace", "TraceError", "accelerator", "arange", "as_tensor",
    "autograd", "backends", "cat", "check_node", "concat", "cuda", "debug", "default_dtype",
    "detect_anomaly", "device", "draw_graph", "empty", "empty_like", "enable_grad", "events", "eye",
    "float32", "float64", "from_numpy", "full", "full_like", "get_default_dtype", "gradcheck",
    "inference_mode", "int64", "is_grad_enabled", "is_inference_mode_enabled", "linspace",
    "load", "load_trace", "manual_seed", "mark_epoch", "mark_iteration", "multinomial", "nn",
    "no_grad", "normal", "ones", "ones_like", "ops", "optim", "pad", "rand", "rand_like", "randint",
    "randn", "randn_like", "randperm", "save", "seed", "set_default_dtype", "set_grad_enabled",
    "set_trace", "stack", "tensor", "trace", "utils", "where", "zeros", "zeros_like",
]
