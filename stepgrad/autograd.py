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


def backward(root: Tensor, grad: Any = None) -> None:
    """Fill `.grad` of every leaf that `root` depends on and that requires a gradient."""
    if not root.requires_grad:
        raise RuntimeError(f"backward: {root.name} does not require a gradient (no input of its "
                           f"graph has requires_grad=True, or it was made under sg.no_grad())")
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"backward: {root.name} has shape {root.data.shape}; a gradient "
                               f"can be created implicitly only for a one-element output. Reduce "
                               f"it first (.sum() or .mean()) or pass grad= of the same shape")
        grad = np.ones_like(root.data)
    else:
        # a copy: the caller's array may change later, and events share gradient arrays
        grad = np.array(grad.data if isinstance(grad, Tensor) else grad, dtype=root.data.dtype)
        if grad.shape != root.data.shape:
            raise RuntimeError(f"backward: grad has shape {grad.shape} but {root.name} has shape "
                               f"{root.data.shape}; they must match")
    if root._ctx is None:  # a leaf: its gradient is the seed itself
        _accumulate_leaf(root, grad)
        reset_names()
        return
    order = topological_order(root)
    listening = bool(events.listeners)
    if listening:
        events.emit(events.BackwardBegin(seq=events.next_seq(), root_id=root._id,
                                         root_name=root.name, nodes=len(order)))
    pending: dict[int, np.ndarray] = {root._id: grad}
    for node in order:
        upstream = pending.pop(node._id, None)
        if upstream is None:
            continue
        sent = node._fn.backward(node._ctx, upstream)
        if not isinstance(sent, tuple):
            sent = (sent,)
        _send(node, upstream, sent, pending, listening)
    if listening:
        events.emit(events.BackwardEnd(seq=events.next_seq(), root_id=root._id,
                                       root_name=root.name))
    reset_names()


def _send(node: Tensor, upstream: np.ndarray, sent: tuple[Any, ...],
          pending: dict[int, np.ndarray], listening: bool) -> None:
    """Hand each input its share of the gradient, reduced to its shape and accumulated."""
    parents = node._parents
    if len(sent) != len(parents):
        raise RuntimeError(f"{node._fn.name}.backward returned {len(sent)} gradients for "
                           f"{len(parents)} inputs")
    grads, accumulated, summed = [], [], []  # what the BackwardStep event reports
    for parent, grad, wanted in zip(parents, sent, node._ctx.needs_input_grad):
        axes, already = (), False
        if grad is None or not wanted:
            grad = None
        else:
            if type(grad) is not np.ndarray:
                grad = np.asarray(grad)
            if grad.shape != parent.data.shape:
                try:
                    grad, axes = unbroadcast(grad, parent.data.shape)
                except ValueError:
                    raise RuntimeError(
                        f"{node._fn.name}.backward sent a gradient of shape {grad.shape} to "
                        f"input {len(grads)} ({parent.name}) of shape {parent.data.shape}: a "
                        f"backward must return one gradient per input, shaped like it (or "
                        f"like the broadcast output)") from None
            if parent._ctx is None:
                already = parent.grad is not None
                _accumulate_leaf(parent, grad)
            else:
                previous = pending.get(parent._id)
                already = previous is not None
                pending[parent._id] = grad if previous is None else previous + grad
        grads.append(grad), accumulated.append(already), summed.append(axes)
    if listening:
        if node._where is not None:  # recorded at the node's forward step
            module_path, file, line, depth, _, name, ids, names = node._where
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


_make_backward = events.BackwardStep.make  # type: ignore[attr-defined]


def _accumulate_leaf(leaf: Tensor, grad: np.ndarray) -> None:
    """Add `grad` into `leaf.grad` (a fresh array: gradients are never shared or aliased)."""
    if not leaf.requires_grad:
        return
    if leaf.grad is None:
        leaf.grad = np.array(grad, dtype=leaf.data.dtype, copy=True)
    else:  # keep the leaf's dtype even when a float64 gradient arrives for a float32 leaf
        leaf.grad = (leaf.grad + grad).astype(leaf.data.dtype, copy=False)
