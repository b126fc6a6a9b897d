"""The backward pass: walk the graph from the loss back to the leaves.

Three ideas, each written once here so no op has to repeat them:

1. **Order.** A node may send its gradient back only after every node that used it
   has sent theirs, so nodes are visited in reverse topological order (micrograd's
   `for v in reversed(topo)`).
2. **Accumulation.** A value used twice receives two gradients; the chain rule says to
   add them (the multivariable chain rule sums over every path).
3. **Unbroadcasting.** When numpy broadcast an input of shape (3,) against (64, 3), each
   of its elements was used 64 times, so its gradient is the sum over that axis.
   `unbroadcast` sums the gradient back to the input's shape.

The loop emits `BackwardBegin`, one `BackwardStep` per node, and `BackwardEnd` when
someone listens. PyTorch: `torch.autograd.backward`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.function import reset_names
from stepgrad.tensor import Tensor


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Sum `grad` over the axes broadcasting added or stretched, to get back to `shape`.

    Returns the reduced gradient and the summed axes (numbered in `grad`'s shape).
    """
    if grad.shape == shape:
        return grad, ()
    extra = grad.ndim - len(shape)
    stretched = tuple(extra + i for i, n in enumerate(shape)
                      if n == 1 and grad.shape[extra + i] != 1)
    axes = tuple(range(extra)) + stretched
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if [n for n in grad.shape if n != 1] != [n for n in shape if n != 1]:
        raise ValueError(f"a gradient of shape {grad.shape} cannot belong to an input of "
                         f"shape {shape}")  # never reshape a wrong gradient into place
    return grad.reshape(shape), axes


def topological_order(root: Tensor) -> list[Tensor]:
    """The nodes root depends on (that need a gradient), each after every node it feeds."""
    order: list[Tensor] = []
    seen: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if node._id in seen:
            continue
        seen.add(node._id)
        stack.append((node, True))
        for parent in node._parents:
            if parent._ctx is not None and parent._id not in seen:
                stack.append((parent, False))
    order.reverse()
    return order


def backward(root: Tensor, grad: Any = None, inputs: Any = None) -> None:
    """Fill `.grad` of every leaf that `root` depends on and that requires a gradient
    (only of `inputs`, when given: PyTorch's `backward(inputs=...)`)."""
    seed = _seed(root, grad)
    if inputs is not None:
        wanted = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for tensor, g in zip(wanted, _run(root, seed, Capture(wanted))):
            if g is not None:
                _accumulate_leaf(tensor, g, force=True)
        return
    _run(root, seed, _accumulate_leaf)


def _seed(root: Tensor, grad: Any) -> np.ndarray:
    """The gradient backward starts from: 1 for a one-element root, else the one given."""
    if not root.requires_grad:
        raise RuntimeError(f"backward: {root.name} does not require a gradient (no input of its "
                           f"graph has requires_grad=True, or it was made under sg.no_grad())")
    if grad is None:
        if root._data.size != 1:
            raise RuntimeError(f"backward: {root.name} has shape {root._data.shape}; a gradient "
                               f"can be created implicitly only for a one-element output. Reduce "
                               f"it first (.sum() or .mean()) or pass grad= of the same shape")
        return np.ones_like(root._data)
    # a copy: the caller's array may change later, and events share gradient arrays
    seed = np.array(grad._data if isinstance(grad, Tensor) else grad, dtype=root._data.dtype)
    if seed.shape != root._data.shape:
        raise RuntimeError(f"backward: grad has shape {seed.shape} but {root.name} has shape "
                           f"{root._data.shape}; they must match")
    return seed


def _run(root: Tensor, grad: np.ndarray, leaf_sink: Any) -> Any:
    """THE backward loop: each node, in reverse topological order, sends its gradient on.
    `leaf_sink(leaf, grad)` takes what reaches a leaf (accumulates it into .grad, or
    captures it for autograd.grad) and says whether the leaf already had some."""
    if root._ctx is None:  # a leaf: its gradient is the seed itself
        leaf_sink(root, grad)
        hooks.flush()
        reset_names()
        return getattr(leaf_sink, "result", None)
    order = topological_order(root)
    listening = bool(events.listeners)
    if listening:
        events.emit(events.BackwardBegin(seq=events.next_seq(), root_id=root._id,
                                         root_name=root.name, nodes=len(order)))
    pending: dict[int, np.ndarray] = {root._id: grad}
    # the checks cost a little per node, so they run only when a hook was ever registered, or
    # a value changed in place after the oldest node of this graph was made
    checking = hooks.count or isinstance(leaf_sink, Capture) or (
        _inplace.last_stamp and _inplace.last_stamp > min([n._id for n in order]))
    for node in order:
        upstream = pending.pop(node._id, None)
        if upstream is None:
            continue
        if checking:
            upstream = _check_node(node, upstream, leaf_sink)
        sent = node._fn.backward(node._ctx, upstream)
        if not isinstance(sent, tuple):
            sent = (sent,)
        _send(node, upstream, sent, pending, listening, leaf_sink)
    if listening:
        events.emit(events.BackwardEnd(seq=events.next_seq(), root_id=root._id,
                                       root_name=root.name))
    if hooks.count:
        hooks.flush()
    reset_names()
    return getattr(leaf_sink, "result", None)


def _check_node(node: Tensor, upstream: np.ndarray, leaf_sink: Any) -> np.ndarray:
    """Refuse a node whose input changed in place after it was made; run its hooks."""
    for parent in node._parents:
        if getattr(parent, "_version", 0) > node._id:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: {parent.name} (shape {list(parent.data.shape)}) was changed "
                f"after {node.name} used it, so {node.name}'s gradient would be wrong. Hint: "
                f"write y = y + 1 (a new tensor) instead of y += 1, or change it before using it")
    if isinstance(leaf_sink, Capture):
        leaf_sink.node(node, upstream)
    return hooks.run(node, upstream)


def _send(node: Tensor, upstream: np.ndarray, sent: tuple[Any, ...],
          pending: dict[int, np.ndarray], listening: bool, leaf_sink: Any) -> None:
    """Hand each input its share of the gradient, reduced to its shape and accumulated."""
    parents = node._parents
    if len(sent) != len(parents):
        raise RuntimeError(f"{node._fn.name}.backward returned {len(sent)} gradients for "
                           f"{len(parents)} inputs")
    # what the BackwardStep event reports, gathered only when someone listens
    grads: list[np.ndarray | None] = []
    accumulated: list[bool] = []
    summed: list[tuple[int, ...]] = []
    for place, (parent, grad, wanted) in enumerate(zip(parents, sent, node._ctx.needs_input_grad)):
        axes: tuple[int, ...] = ()
        already = False
        if grad is None or not wanted:
            grad = None
        else:
            if type(grad) is not np.ndarray:
                grad = np.asarray(grad)
            if grad.shape != parent._data.shape:
                grad, axes = _reduce(node, place, grad)
            if parent._ctx is None:
                already = leaf_sink(parent, grad)
            else:
                previous = pending.get(parent._id)
                already = previous is not None
                pending[parent._id] = grad if previous is None else previous + grad
        if listening:
            grads.append(grad)
            accumulated.append(already)
            summed.append(axes)
    if listening:
        _emit_backward(node, upstream, grads, accumulated, summed)


def _reduce(node: Tensor, place: int, grad: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """`grad` summed back to the shape of input `place`, or an error that names the op."""
    parent = node._parents[place]
    try:
        return unbroadcast(grad, parent._data.shape)
    except ValueError:
        raise RuntimeError(
            f"{node._fn.name}.backward sent a gradient of shape {grad.shape} to input {place} "
            f"({parent.name}) of shape {parent._data.shape}: a backward must return one "
            f"gradient per input, shaped like it (or like the broadcast output)") from None


def _emit_backward(node: Tensor, upstream: np.ndarray, grads: list[np.ndarray | None],
                   accumulated: list[bool], summed: list[tuple[int, ...]]) -> None:
    """The node's BackwardStep event: what it received and what it sent to each input."""
    parents = node._parents
    where = node._where  # its ForwardStep, or a function.Where: recorded at its forward step
    if where is not None:
        module_path, file, line, depth = where.module_path, where.file, where.line, where.depth
        name, ids, names = where.name, where.input_ids, where.input_names
    else:  # made while nobody listened
        module_path, file, line, depth, name = "", "", 0, 0, node.name
        ids, names = tuple([p._id for p in parents]), tuple([p.name for p in parents])
    # BackwardStep.make takes every field in order: seq, depth, node_id, op, name,
    # upstream, grads, input_ids, input_names, accumulated, summed_axes, module_path,
    # file, line. Gradients are never changed in place (accumulation makes new arrays
    # and a leaf's .grad starts as a copy), so the event can share them.
    events.emit(_make_backward(events.next_seq(), depth, node._id, node._fn.name, name,
                               upstream, tuple(grads), ids, names, tuple(accumulated),
                               tuple(summed), module_path, file, line))


_make_backward = events.BackwardStep.make


def _accumulate_leaf(leaf: Tensor, grad: np.ndarray, force: bool = False) -> bool:
    """Add `grad` into `leaf.grad`, a Tensor without a gradient of its own; says whether the
    leaf had a gradient already. The sum is a new array (rebound into the same `.grad`
    tensor, so `g = w.grad` sees it), never written into the old one: events share them."""
    if not leaf.requires_grad:
        return False
    if hooks.count and not force:
        return hooks.defer_leaf(leaf, grad)
    current = leaf.grad
    if current is None:
        leaf.grad = Tensor._constant(np.array(grad, dtype=leaf._data.dtype, copy=True),
                                     leaf._data.dtype)
        return False
    total = (np.asarray(current) + grad).astype(leaf._data.dtype, copy=False)
    if isinstance(current, Tensor):  # keep the leaf's dtype even for a float64 gradient
        current.data = total
    else:  # the user set .grad to an array
        leaf.grad = Tensor._constant(total, leaf._data.dtype)
    return True


class Capture:
    """A leaf sink for `autograd.grad`: keeps the gradients of `inputs`, touches no .grad."""

    def __init__(self, inputs: list[Tensor]) -> None:
        self.inputs = inputs
        self.found: dict[int, np.ndarray] = {}
        self.ids = {t._id for t in inputs}

    def __call__(self, leaf: Tensor, grad: np.ndarray) -> bool:
        if leaf._id in self.ids:
            previous = self.found.get(leaf._id)
            self.found[leaf._id] = grad if previous is None else previous + grad
            return previous is not None
        return False

    def node(self, node: Tensor, upstream: np.ndarray) -> None:
        if node._id in self.ids:
            self.found[node._id] = upstream

    @property
    def result(self) -> list[np.ndarray | None]:
        return [self.found.get(t._id) for t in self.inputs]


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: Any = None,
         create_graph: bool = False, allow_unused: bool | None = None,
         materialize_grads: bool = False) -> tuple[Tensor | None, ...]:
    """The gradients of `outputs` with respect to `inputs`, returned instead of added into
    any `.grad`. PyTorch: `torch.autograd.grad`."""
    if create_graph:
        raise NotImplementedError("autograd.grad(create_graph=True): higher-order gradients "
                                  "are outside stepgrad's course subset")
    outs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    wanted = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    seeds = grad_outputs if isinstance(grad_outputs, (list, tuple)) else [grad_outputs] * len(outs)
    totals: list[np.ndarray | None] = [None] * len(wanted)
    for out, seed in zip(outs, seeds):
        for i, g in enumerate(_run(out, _seed(out, seed), Capture(wanted))):
            if g is not None:
                totals[i] = g if totals[i] is None else totals[i] + g
    missing = [i for i, g in enumerate(totals) if g is None]
    if missing and not (allow_unused or materialize_grads):
        raise RuntimeError("One of the differentiated Tensors appears to not have been used in "
                           "the graph. Set allow_unused=True if this is the desired behavior.")
    return tuple(None if g is None and not materialize_grads else
                 Tensor._constant(np.zeros_like(t.data) if g is None else
                                  np.asarray(g, dtype=t.data.dtype), t.data.dtype)
                 for g, t in zip(totals, wanted))


from stepgrad import hooks  # noqa: E402 (hooks calls back into this module)
from stepgrad import tensor_inplace as _inplace  # noqa: E402
from stepgrad.custom_function import Function, FunctionCtx  # noqa: E402 (torch.autograd.Function)
from stepgrad.grad_mode import enable_grad, no_grad, set_grad_enabled  # noqa: E402

__all__ = ["Function", "FunctionCtx", "backward", "enable_grad", "grad", "no_grad",
           "set_grad_enabled", "topological_order", "unbroadcast"]


def __getattr__(name: str) -> Any:
    """`torch.autograd.some_api` that stepgrad lacks fails here, naming it."""
    if name.startswith("__"):
        raise AttributeError(name)
    from stepgrad import NotInCourseSubset

    raise NotInCourseSubset(f"torch.autograd.{name} is a PyTorch API outside stepgrad's course "
                            f"subset (README: 'Coming from PyTorch')")
