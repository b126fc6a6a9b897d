"""Re-run a recorded torch node: its gradient check and its local derivatives.

A torch node's ForwardStep keeps the call as text over its inputs in `attrs["torch"]`,
such as `F.conv2d(ins[0], ins[1], ins[2], (1, 1), (0, 0), (1, 1), 1)`. `rerun` reads that
text back with `ast` (never eval): only a call of a function of torch, torch.nn.functional,
a method of an input, or `apply` of a custom autograd Function this program ran, on the
inputs and plain literals, so a saved trace cannot make it run anything else.

    gradcheck_event(forward)     torch.autograd.gradcheck of the node's function, in float64
    local_derivatives(forward)   d out / d input of an elementwise node (for `backprop`)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from stepgrad import events
from stepgrad.torchbridge.state import functions

#: torch functions a recorded call may never name: they read or write files or global state.
_REFUSED = frozenset({"load", "save", "from_file", "tofile", "set_printoptions", "manual_seed",
                      "set_default_dtype", "set_num_threads", "compile", "jit", "hub"})
#: The same set as stepgrad.debug.chain's: output element i depends on input elements i only.
ELEMENTWISE = frozenset({"add", "sub", "rsub", "mul", "div", "rdiv", "neg", "pow", "exp",
                         "log", "sqrt", "abs", "relu", "leaky_relu", "sigmoid", "tanh"})


class CallError(ValueError):
    """A recorded call that cannot be run again (and why)."""


@dataclass(frozen=True)
class TorchCheck:
    """The verdict of a torch node's gradient check: `ok`, and a message that says how."""

    op: str
    ok: bool
    message: str
    worst: tuple[Any, ...] = ()
    kinks: int = 0
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        return "ok" if self.ok else "MISMATCH"


def rerun(text: str, inputs: list[Any]) -> Any:
    """Call the recorded `text` again with `inputs` as `ins` (see the module docstring)."""
    try:
        call = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise CallError(f"cannot read the recorded call {text!r}") from None
    if not isinstance(call, ast.Call):
        raise CallError(f"the recorded {text!r} is not a call")
    func = _callee(call.func, inputs)
    args = [_value(a, inputs) for a in call.args]
    kwargs = {k.arg: _value(k.value, inputs) for k in call.keywords if k.arg}
    return func(*args, **kwargs)


def _callee(node: ast.expr, inputs: list[Any]) -> Any:
    if isinstance(node, ast.Attribute) and node.attr not in _REFUSED:
        if isinstance(node.value, ast.Subscript):  # ins[0].view(...): a method of an input
            return getattr(_value(node.value, inputs), node.attr)
        owner = {"F": torch.nn.functional, "torch": torch}.get(_dotted(node.value))
        if owner is not None and callable(getattr(owner, node.attr, None)):
            return getattr(owner, node.attr)
        custom: Any = functions.get(_dotted(node.value))  # a Function class the program ran
        if custom is not None and node.attr == "apply":
            return custom.apply
    raise CallError(f"the recorded call names {ast.unparse(node)}, which is not a torch "
                    f"function this check may run")


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _value(node: ast.expr, inputs: list[Any]) -> Any:
    if isinstance(node, ast.Subscript) and _dotted(node.value) == "ins":
        index = node.slice
        if isinstance(index, ast.Constant) and isinstance(index.value, int):
            return inputs[index.value]
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [_value(item, inputs) for item in node.elts]
        return tuple(items) if isinstance(node, ast.Tuple) else items
    if isinstance(node, ast.Call) and _dotted(node.func) == "slice" and not node.keywords:
        return slice(*[_value(a, inputs) for a in node.args])  # x[1:, :2]
    if isinstance(node, ast.Attribute) and _dotted(node.value) == "torch":
        value = getattr(torch, node.attr, None)
        if isinstance(value, (torch.dtype, torch.memory_format, torch.layout)):
            return value
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise CallError(f"cannot read {ast.unparse(node)} in the recorded call") from None


def _as_float64(inputs: Any, wanted: Any = None) -> list[torch.Tensor]:
    """The node's inputs as fresh tensors: floats in float64, those that took a gradient
    in the program (all floats when `wanted` is not known) asking for one here."""
    tensors = []
    for array, grad in zip(inputs, wanted or [True] * len(inputs)):
        floating = np.asarray(array).dtype.kind == "f"
        data = np.array(array, dtype=np.float64 if floating else None)
        tensors.append(torch.tensor(data, requires_grad=bool(grad and floating)))
    return tensors


def gradcheck_event(forward: events.ForwardStep, upstream: Any = None) -> TorchCheck:
    """torch.autograd.gradcheck of a recorded torch node's function, on its recorded inputs
    in float64 (every element when the inputs are small, so the message can say which
    derivative is off; else random directions, torch's `fast_mode`)."""
    return check_call(forward.op, forward.inputs, forward.attrs, forward.input_requires_grad)


def check_call(op: str, arrays: Any, attrs: dict[str, Any], wanted_grads: Any = None
               ) -> TorchCheck:
    """`gradcheck_event` from the parts stepgrad's check_node is given."""
    text = attrs.get("torch")
    if text is None:
        return TorchCheck(op, False, f"{op}: not a torch node (no recorded call)")
    grad_fn = attrs.get("grad_fn", "backward")
    inputs = _as_float64(arrays, wanted_grads)
    wanted = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not wanted:
        return TorchCheck(op, True, f"{op}: no input of this node takes a gradient")

    def function(*checked: torch.Tensor) -> Any:
        current = list(inputs)
        for i, tensor in zip(wanted, checked):
            current[i] = tensor
        return rerun(text, current)

    checked = tuple(inputs[i] for i in wanted)
    small = sum(t.numel() for t in checked) <= 2000
    try:
        torch.autograd.gradcheck(function, checked, eps=1e-6, atol=1e-5, rtol=1e-3,
                                 fast_mode=not small, raise_exception=True)
    except CallError as error:
        return TorchCheck(op, False, f"{op}: {error}")
    except RuntimeError as error:  # torch's GradcheckError is a RuntimeError
        first = str(error).strip().splitlines()[:6]
        return TorchCheck(op, False, f"{op}: {grad_fn} differs from finite differences:\n"
                          + "\n".join(first))
    how = "every element" if small else "random directions (fast_mode)"
    return TorchCheck(op, True, f"{op}: {grad_fn} agrees with finite differences in float64 "
                      f"({how}, torch.autograd.gradcheck)")


def local_derivatives(forward: events.ForwardStep | None) -> list[np.ndarray | None]:
    """d out / d input of an elementwise torch node, shaped like its output (None for an input
    that takes no gradient); [] for ops that mix elements (as stepgrad.debug.chain)."""
    if forward is None or forward.op not in ELEMENTWISE or "torch" not in forward.attrs:
        return []
    shape = np.shape(forward.output)
    inputs = []  # each float input spread to the output's shape: one derivative per element
    for array in forward.inputs:
        array = np.asarray(array)
        if array.dtype.kind != "f":
            inputs.append(torch.tensor(array))
            continue
        spread = np.broadcast_to(array.astype(np.float64), shape).copy()
        inputs.append(torch.tensor(spread, requires_grad=True))
    try:
        out = rerun(forward.attrs["torch"], inputs)
    except (CallError, RuntimeError):
        return []
    wanted = [t for t in inputs if t.requires_grad]
    sent = torch.autograd.grad(out, wanted, torch.ones_like(out), allow_unused=True)
    by_input = {id(t): g for t, g in zip(wanted, sent)}
    return [None if by_input.get(id(t)) is None else by_input[id(t)].numpy() for t in inputs]
