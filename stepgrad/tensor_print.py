"""How a tensor and its `grad_fn` print: PyTorch's way, so a tutorial's output reads the same.

    >>> x = sg.tensor([0.627, 1.5], requires_grad=True)
    >>> (x * 2).sum()
    tensor(4.2540, grad_fn=<SumBackward0>)
    >>> (x * 2).grad_fn
    <MulBackward0 object at 0x...>

PyTorch's printing rules (`torch/_tensor_str.py`), kept here: up to 1,000 elements are all
shown (then 3 at each edge and `...`); float values get 4 decimals, all of them, unless every
value is a whole number (`1., 0.`); scientific notation when the largest and smallest
nonzero magnitudes are more than 1,000 apart, or beyond 1e8 or under 1e-4 (numpy's rule
for float64, which is what is printed). The dtype is named when it is not the default one
(float32), int64 or bool (any but float32 in an empty tensor, which also gives its size);
dtypes print with numpy's names (`float64`, not `torch.float64`), so a line may hold a
suffix that PyTorch's longer name moves to the next line.

`grad_fn` is a node object as in PyTorch: `name()` ("MulBackward0": the op's class name),
`next_functions` (one `(node, 0)` pair per input: the input's node, an `AccumulateGrad`
for a leaf that requires grad, or None), and `op`, the stepgrad op class (the `Function`
whose backward runs). A tensor gives the same node object each time it is asked.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stepgrad.dtypes import default_dtype

THRESHOLD, EDGEITEMS, LINEWIDTH = 1000, 3, 80  # PyTorch's print options


def tensor_repr(t: Any) -> str:
    """`tensor(values, name=..., grad_fn=<...>, dtype=...)` as PyTorch prints it."""
    data = t.data
    # PyTorch formats each value as a Python float: numpy does the same for float64 (its
    # float32 switches to 1e+06 notation at a million, PyTorch's at 1e8)
    shown = data.astype(np.float64) if data.dtype.kind == "f" and data.itemsize < 8 else data
    # numpy counts the separator after a line's last element, PyTorch does not: hence + 1
    body = np.array2string(shown, precision=4, separator=", ", threshold=THRESHOLD,
                           edgeitems=EDGEITEMS, max_line_width=LINEWIDTH + 1, prefix="tensor(",
                           floatmode="maxprec" if _whole(data) else "fixed",
                           formatter=_bools(data))
    suffixes = [] if t._name is None else [f"name={t._name!r}"]
    if data.size == 0 and data.ndim != 1:  # `[]` alone would not say which empty shape
        suffixes.append(f"size={tuple(data.shape)}")
    if data.dtype != default_dtype() and (data.size == 0 or data.dtype not in (np.int64,
                                                                               np.bool_)):
        suffixes.append(f"dtype={data.dtype}")
    node = t.grad_fn
    if node is not None:
        suffixes.append(f"grad_fn=<{node.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes("tensor(" + body, suffixes)


def _add_suffixes(text: str, suffixes: list[str]) -> str:
    """`, dtype=...` and the like after the values, on a new line when the line would pass
    the width (PyTorch's `_add_suffixes`, with its count of the line's length)."""
    line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line + len(suffix) + 2 > LINEWIDTH:
            text += ",\n" + " " * len("tensor(") + suffix
            line = len("tensor(") + len(suffix)
        else:
            text += ", " + suffix
            line += len(suffix) + 2
    return text + ")"


def _bools(data: np.ndarray) -> Any:
    """PyTorch pads True to False's width only when a False is shown (numpy always does)."""
    if data.dtype != np.bool_:
        return None
    width = 4 if data.all() else 5
    return {"bool": lambda value: f"{value!s:>{width}}"}


def _whole(data: np.ndarray) -> bool:
    """True when no float value has a fraction (PyTorch then prints `1.` not `1.0000`)."""
    if data.dtype.kind != "f":
        return True
    finite = data[np.isfinite(data)]
    return bool(np.all(finite == np.ceil(finite)))


class Node:
    """A tensor's `grad_fn`: the node of the graph that made it (PyTorch: `torch.autograd.graph
    .Node`). Prints as PyTorch's do; `op` is the stepgrad op whose backward it runs."""

    def __init__(self, tensor: Any) -> None:
        self.op, self._parents = tensor._fn, tensor._parents

    def name(self) -> str:
        return f"{self.op.__name__}Backward0"

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        return tuple((_node_of(parent), 0) for parent in self._parents)

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad:
    """Where a leaf's gradient is added into `.grad` (PyTorch's node of the same name)."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions: tuple = ()

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


def grad_fn_of(t: Any) -> Node | None:
    """The node that made `t` (None for a leaf), one object per node, kept on its context."""
    ctx = t._ctx
    if ctx is None:
        return None
    node = ctx.__dict__.get("grad_fn_node")
    if node is None:
        node = ctx.grad_fn_node = Node(t)
    return node


def _node_of(parent: Any) -> Any:
    if parent._ctx is not None:
        return grad_fn_of(parent)
    return AccumulateGrad(parent) if parent.requires_grad else None
