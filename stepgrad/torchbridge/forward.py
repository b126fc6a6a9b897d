"""Forward ops of a torch program as ForwardStep events, through a TorchFunctionMode.

PyTorch hands every call of a torch function (`F.linear`, `torch.relu`, `x @ w`,
`x.view(...)`) to the active TorchFunctionMode's `__torch_function__` *as the user wrote
it*: `F.cross_entropy` arrives as one call, not as the log_softmax and nll_loss inside it,
because the mode is switched off while its own handler runs. So op names are PyTorch's
readable ones, and each recorded op is one node, as in the stepgrad engine.

The mode is thread-local (it sees only the thread it was entered in), and with no
listener it only passes calls through.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from stepgrad import events
from stepgrad.torchbridge import backward
from stepgrad.torchbridge.attrs import stepgrad_attrs
from stepgrad.torchbridge.state import (
    Made,
    describe_input,
    functions,
    local,
    module_place,
    next_id,
    node_name,
    reset_names,
    snapshot,
    tag,
    user_frame,
)

#: Calls that are not ops of the model: attribute access, conversions, bookkeeping.
_NOT_OPS = frozenset({
    "__get__", "__set__", "__delete__", "detach", "detach_", "requires_grad_", "retain_grad",
    "register_hook", "item", "tolist", "numpy", "size", "dim", "numel", "data_ptr",
    "__repr__", "__format__", "__len__", "__bool__", "__iter__", "__array__", "__hash__",
    "__reduce_ex__", "__deepcopy__", "__setstate__", "storage", "untyped_storage",
    "is_floating_point", "element_size", "stride", "get_device", "zero_grad",
})
#: PyTorch's spellings of one op, and the operators' methods, under stepgrad's op names.
_RENAMED = {
    "__add__": "add", "__radd__": "add", "__iadd__": "add_", "__sub__": "sub",
    "__rsub__": "rsub", "__isub__": "sub_", "__mul__": "mul", "__rmul__": "mul",
    "__imul__": "mul_", "__truediv__": "div", "__rtruediv__": "rdiv", "__itruediv__": "div_",
    "__matmul__": "matmul", "__rmatmul__": "matmul", "__pow__": "pow", "__rpow__": "rpow",
    "__neg__": "neg", "__abs__": "abs", "__getitem__": "getitem", "true_divide": "div",
    "divide": "div", "multiply": "mul", "subtract": "sub", "negative": "neg",
    "absolute": "abs", "mm": "matmul", "cat": "concat",
}
_BACKWARD = (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad)
_names: dict[Any, tuple[str, str] | None] = {}  # func -> (op name, how the call is written)


class BridgeMode(TorchFunctionMode):
    """Emit a ForwardStep for every torch op the program calls (see the module docstring)."""

    def __torch_function__(self, func: Any, types: Any, args: tuple = (),
                           kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if not events.listeners or local.quiet or not local.active:
            return func(*args, **kwargs)
        if func in _BACKWARD:
            return _backward(func, args, kwargs)
        if func not in _names:
            _names[func] = _describe(func)
        named = _names[func]
        if named is None:
            return func(*args, **kwargs)
        return _record(func, named, args, kwargs)


def _describe(func: Any) -> tuple[str, str] | None:
    """(op name, callee text) for a torch function, or None for calls that are not ops."""
    name = getattr(func, "__name__", None)
    if not name or name in _NOT_OPS:
        return None
    op = _RENAMED.get(name) or (name.strip("_") if name.startswith("__") else name)  # __eq__
    if getattr(torch.nn.functional, name, None) is func:
        return op, f"F.{name}"
    if getattr(torch, name, None) is func:
        return op, f"torch.{name}"
    if getattr(torch.Tensor, name, None) is func or "Tensor" in getattr(func, "__qualname__", ""):
        return op, f".{name}"  # a method: written ins[0].name(...)
    return op, f"{getattr(func, '__module__', None) or 'torch'}.{name}"


def _record(func: Any, named: tuple[str, str], args: tuple, kwargs: dict) -> Any:
    """Run the op, and emit its ForwardStep. Whatever the bridge cannot describe (a sparse
    or meta tensor, say) runs unrecorded: the bridge never breaks the user's program."""
    tensors: list[torch.Tensor] = []
    try:
        text = _call_text(named[1], args, kwargs, tensors)
        file, line = user_frame()
        # inputs are described before the call, in case the op changes them in place
        described = [describe_input(t) for t in tensors] if tensors and line >= 0 else None
    except Exception:  # noqa: BLE001 (see the docstring)
        described = None
    if not described:  # a factory (torch.zeros), data loading, or nothing to describe
        return func(*args, **kwargs)
    out = func(*args, **kwargs)
    result = out if isinstance(out, torch.Tensor) else _first_tensor(out)
    op = named[0]
    if result is None or _is_bookkeeping(op, result, tensors):
        return out
    try:
        attrs = {"torch": text, **stepgrad_attrs(op, args, kwargs)}
        step = _forward_step(op, attrs, result, tensors, described, file, line)
        if out is not result:
            _tag_other_outputs(out, result)
    except Exception:  # noqa: BLE001 (see the docstring)
        return out
    events.emit(step)  # outside the try: a listener may raise to stop the program
    return out


def _forward_step(op: str, attrs: dict[str, Any], result: torch.Tensor,
                  tensors: list[torch.Tensor],
                  described: list[tuple[int, str, Any]], file: str,
                  line: int) -> events.ForwardStep:
    """The op's event; its output remembers it, and its autograd nodes are watched."""
    path, depth = module_place()
    array = snapshot(result)
    node_id, name = next_id(), node_name(op)
    made = Made(node_id, name, result._version, array, path, depth, file, line)
    tag(result, "_stepgrad_node", made)
    ids = tuple([d[0] for d in described])
    names = tuple([d[1] for d in described])
    grad_fn = result.grad_fn
    if grad_fn is not None:
        attrs["grad_fn"] = type(grad_fn).__name__
        if result.requires_grad:
            backward.watch(made, op, result, tensors, ids, names)
    return events.ForwardStep(
        seq=events.next_seq(), depth=depth, node_id=node_id, op=op, name=name,
        inputs=tuple([d[2] for d in described]), input_ids=ids, input_names=names,
        input_requires_grad=tuple([t.requires_grad for t in tensors]), output=array,
        attrs=attrs, module_path=path, file=file, line=line,
        requires_grad=result.requires_grad)


def record_function(cls: type, apply: Any, args: tuple, kwargs: dict) -> Any:
    """`MyReLU.apply(x)`, a custom torch.autograd.Function: one node named after the class,
    its own forward's ops not recorded (they are its inside, as a built-in op's are)."""
    name = cls.__qualname__
    functions[name] = cls

    def quietly(*args: Any, **kwargs: Any) -> Any:
        local.quiet += 1
        try:
            return apply(*args, **kwargs)
        finally:
            local.quiet -= 1

    return _record(quietly, (cls.__name__, f"{name}.apply"), args, kwargs)


def _tag_other_outputs(out: Any, first: torch.Tensor) -> None:
    """`a, b = x.chunk(2)`: the node's event shows its first output, and a later op that
    takes `b` names it after the node too (with `b`'s own snapshot)."""
    made: Made | None = getattr(first, "_stepgrad_node", None)
    if made is None:
        return
    for tensor in out:
        if isinstance(tensor, torch.Tensor) and tensor is not first:
            tag(tensor, "_stepgrad_node",
                made._replace(version=tensor._version, array=snapshot(tensor)))


def _is_bookkeeping(op: str, result: torch.Tensor, tensors: list[torch.Tensor]) -> bool:
    """`x.to(device)` or `x.contiguous()` handing back `x` itself, and in-place writes into
    leaves (initialising parameters and buffers, updates under no_grad): not model nodes."""
    if not any(result is t for t in tensors):
        return False
    return not op.endswith("_") or result.grad_fn is None


def _first_tensor(out: Any) -> torch.Tensor | None:
    if isinstance(out, (tuple, list)):
        for item in out:
            if isinstance(item, torch.Tensor):
                return item
    return None


def _call_text(callee: str, args: tuple, kwargs: dict, tensors: list[torch.Tensor]) -> str:
    """The call as Python text over the node's inputs, `F.conv2d(ins[0], ins[1], padding=1)`,
    collecting the tensors in order (`ins` is what the debugger calls the inputs)."""
    words = [_arg_text(a, tensors) for a in args]
    words += [f"{k}={_arg_text(v, tensors)}" for k, v in kwargs.items()]
    if callee.startswith(".") and words:  # a method: the first argument is self
        return f"{words[0]}{callee}({', '.join(words[1:])})"
    return f"{callee}({', '.join(words)})"


def _arg_text(value: Any, tensors: list[torch.Tensor]) -> str:
    if isinstance(value, torch.Tensor):
        tensors.append(value)
        return f"ins[{len(tensors) - 1}]"
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        inner = ", ".join(_arg_text(v, tensors) for v in value)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    if isinstance(value, torch.Size):
        return repr(tuple(value))
    if value is Ellipsis:
        return "..."
    if isinstance(value, (torch.dtype, torch.device, torch.memory_format, torch.layout)):
        return f"torch.{str(value).removeprefix('torch.')}" if not isinstance(
            value, torch.device) else f"torch.device({str(value)!r})"
    return repr(value)


def _backward(func: Any, args: tuple, kwargs: dict) -> Any:
    """`loss.backward()`, `torch.autograd.backward(...)`, `torch.autograd.grad(...)`:
    BackwardBegin, the nodes' steps (from the hooks of backward.py), BackwardEnd."""
    root = args[0] if args else kwargs.get("tensors", kwargs.get("outputs", kwargs.get("self")))
    if isinstance(root, (list, tuple)):
        root = root[0] if root else None
    made = getattr(root, "_stepgrad_node", None)
    root_id, root_name = (made.node_id, made.name) if made is not None else (0, "the root")
    backward.begin()
    events.emit(events.BackwardBegin(seq=events.next_seq(), root_id=root_id,
                                     root_name=root_name, nodes=local.watched))
    try:
        result = func(*args, **kwargs)
    finally:
        backward.end()
        reset_names()
    if events.listeners:
        events.emit(events.BackwardEnd(seq=events.next_seq(), root_id=root_id,
                                       root_name=root_name))
    return result
