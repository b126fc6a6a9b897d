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

from stepgrad.torchbridge.detect import function_uses_torch, names_use_torch, script_uses_torch

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
    from stepgrad.torchbridge.state import local, reset_names

    hooks.install()
    reset_names()  # the program's first relu is relu_1, as under the stepgrad engine
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


def use_for_script(session: Any, path: str, engine: str | None = None) -> bool:
    """Give `session` (made by Session.for_script) the bridge when `engine` is "torch", or
    when it is None and the script imports torch; True when it did. Raises TorchMissing
    when the bridge is forced and PyTorch is not installed."""
    wanted = script_uses_torch(path) if engine is None else engine == "torch"
    if wanted and engine is None and not available():
        return False  # `import torch` will fail in the script itself, with its own message
    if wanted:
        require_torch()
        session.program = wrap(session.program)
    return wanted


def use_for_function(session: Any, fn: Callable[..., Any], *args: Any) -> bool:
    """Give `session` (made by Session.for_function) the bridge when `fn` belongs to a torch
    program (see detect.function_uses_torch); True when it did."""
    if not function_uses_torch(fn, *args):
        return False
    session.program = wrap(session.program)
    return True


def start_if_torch(caller_globals: dict[str, Any]) -> bool:
    """For `sg.set_trace()`: switch the bridge on in this thread when the calling module uses
    torch (its globals hold torch or something from it); True when it did."""
    if not names_use_torch(caller_globals):
        return False
    start()
    return True


def gradcheck_event(forward: Any, upstream: Any = None) -> Any:
    """Check a recorded torch node's backward against finite differences (see check.py);
    the result has `ok` and `message`, like stepgrad.gradcheck.check_node's."""
    require_torch()
    from stepgrad.torchbridge.check import gradcheck_event as check

    return check(forward, upstream)


def check_call(op: str, inputs: Any, attrs: dict[str, Any]) -> Any:
    """The same check from the parts stepgrad.gradcheck.check_node is given (its dispatch
    for torch nodes: `"torch" in attrs`)."""
    require_torch()
    from stepgrad.torchbridge.check import check_call as check

    return check(op, inputs, attrs)


def local_derivatives(forward: Any) -> list[Any]:
    """d out / d input of an elementwise torch node (stepgrad.debug.chain's dispatch)."""
    require_torch()
    from stepgrad.torchbridge.check import local_derivatives as derivatives

    return derivatives(forward)


def listing(forward: Any, phase: str) -> str:
    """What `list` shows at a torch node: PyTorch's ops are compiled code, with no Python
    lines to show, so the call as the program made it and the autograd node that goes back."""
    attrs = forward.attrs
    node = attrs.get("grad_fn", "none: no input of this node needed a gradient")
    return (f"{forward.name}: PyTorch's {forward.op}, compiled code (no Python source to list;"
            f" the same op in a stepgrad program shows its numpy code)\n"
            f"  forward   {attrs.get('torch', forward.op)}\n"
            f"  backward  autograd node {node}" + ("   <- this step" if phase == "backward"
                                                    else ""))


#: Node ids the bridge gives torch nodes start above this (stepgrad's own stay far below).
TORCH_NODE_IDS = 1_000_000_000


def is_torch_event(event: Any) -> bool:
    """True for a forward or backward step of a torch node (the bridge's node ids are above
    TORCH_NODE_IDS), so a front end can tell without looking up the node's forward step."""
    return getattr(event, "node_id", 0) > TORCH_NODE_IDS


__all__ = [
    "INSTALL_HINT", "TORCH_NODE_IDS", "TorchMissing", "available", "bridge", "check_call",
    "function_uses_torch", "gradcheck_event", "is_torch_event", "listing", "local_derivatives",
    "names_use_torch", "require_torch", "script_uses_torch", "start", "start_if_torch",
    "use_for_function", "use_for_script", "wrap",
]
