"""Step through real PyTorch: the torch bridge.

The stepgrad engine tells the debugger what it does through events (stepgrad.events). This
package makes a PyTorch program tell the same story, so the Session, its history, every
command and both front ends serve a torch program unchanged:

    forward ops      a TorchFunctionMode (forward.py): ForwardStep per op, with PyTorch's
                     readable names (linear, relu, conv2d, cross_entropy) and the autograd
                     node's own name beside it (attrs["grad_fn"] == "ReluBackward0")
    backward         hooks on autograd nodes (backward.py): BackwardBegin, one BackwardStep
                     per op (upstream, sent, accumulation, broadcast axes), BackwardEnd
    modules          global module hooks (hooks.py): ModuleEnter / ModuleExit, full paths
    optimizers       global optimizer step hooks: OptimizerStep with update/weight ratios;
                     zero_grad: ZeroGrad
    gradcheck        check.py re-runs a node's call in float64 (torch.autograd.gradcheck)

Use it as a context manager, or let `stepgrad debug train.py` (a script that imports torch),
`sg.debug(fn)` and `sg.set_trace()` switch it on:

    from stepgrad import torchbridge
    with torchbridge.bridge():
        train()                      # every event reaches stepgrad's listeners

stepgrad's core never imports torch; this package imports it only when a bridge is asked
for, and says how to install it when it is missing. Tensors in events are numpy snapshots.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from stepgrad.torchbridge.detect import function_uses_torch, script_uses_torch

INSTALL_HINT = "PyTorch is not installed: pip install 'stepgrad[torch]' (or pip install torch)"


class TorchMissing(ImportError):
    """The torch bridge was asked for, and PyTorch is not installed."""


def available() -> bool:
    """True when PyTorch can be imported."""
    return importlib.util.find_spec("torch") is not None


def require_torch() -> Any:
    """Import torch, or raise TorchMissing with the line that says how to install it."""
    try:
        import torch
    except ImportError:
        raise TorchMissing(INSTALL_HINT) from None
    return torch


@contextmanager
def bridge() -> Iterator[None]:
    """Turn the torch work of this thread into stepgrad events while the block runs."""
    require_torch()
    from stepgrad.torchbridge import hooks
    from stepgrad.torchbridge.forward import BridgeMode
    from stepgrad.torchbridge.state import local

    hooks.install()
    was_active, local.active = local.active, True
    try:
        with BridgeMode():
            yield
    finally:
        local.active = was_active
        hooks.uninstall()


def wrap(program: Callable[[], Any]) -> Callable[[], Any]:
    """`program` run inside `bridge()` (for a Session: it runs in the session's thread)."""

    def run_with_bridge() -> Any:
        with bridge():
            return program()

    run_with_bridge.__name__ = getattr(program, "__name__", "program")
    return run_with_bridge


def start() -> None:
    """Switch the bridge on in this thread for the rest of its life (for `sg.set_trace()`,
    which has no block to wrap). With no listener, the bridge only passes calls through."""
    require_torch()
    from stepgrad.torchbridge import hooks
    from stepgrad.torchbridge.forward import BridgeMode
    from stepgrad.torchbridge.state import local

    if local.active:
        return
    hooks.install()
    local.active = True
    BridgeMode().__enter__()


def gradcheck_event(forward: Any, upstream: Any = None) -> Any:
    """Check a recorded torch node's backward against finite differences (see check.py);
    the result has `ok` and `message`, like stepgrad.gradcheck.check_node's."""
    require_torch()
    from stepgrad.torchbridge.check import gradcheck_event as check

    return check(forward, upstream)


def is_torch_event(event: Any) -> bool:
    """True for a ForwardStep the bridge made (its attrs hold the torch call)."""
    return "torch" in (getattr(event, "attrs", None) or {})


__all__ = [
    "INSTALL_HINT", "TorchMissing", "available", "bridge", "function_uses_torch",
    "gradcheck_event", "is_torch_event", "require_torch", "script_uses_torch", "start", "wrap",
]
