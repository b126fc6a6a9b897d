"""A torch call's settings under the names stepgrad's ops use (its `attrs`).

`F.conv2d(x, w, b, 1, 1)` and stepgrad's conv2d both have a stride and a padding, but torch
passes them by position and says `dim`/`keepdim` where stepgrad says `axis`/`keepdims`.
The bridge puts them in the ForwardStep's attrs as stepgrad names them, so what reads attrs
(the backprop explanations of stepgrad.debug.explain) reads a torch node as it reads one of
stepgrad's. Only plain values are kept (numbers, tuples, strings, slices).
"""

from __future__ import annotations

from typing import Any

#: The parameters of each op in torch's positional order (the first is the input tensor).
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation"),
    "avg_pool2d": ("input", "kernel_size", "stride", "padding"),
    "sum": ("input", "dim", "keepdim"),
    "mean": ("input", "dim", "keepdim"),
    "max": ("input", "dim", "keepdim"),
    "min": ("input", "dim", "keepdim"),
    "softmax": ("input", "dim"),
    "log_softmax": ("input", "dim"),
    "cross_entropy": ("input", "target", "weight", "size_average", "ignore_index", "reduce",
                      "reduction"),
    "mse_loss": ("input", "target", "size_average", "reduce", "reduction"),
    "binary_cross_entropy_with_logits": ("input", "target", "weight", "size_average",
                                         "reduce", "reduction"),
    "getitem": ("input", "index"),
}
#: torch's word -> stepgrad's word; the parameters not named here keep their name.
_RENAMED = {"dim": "axis", "keepdim": "keepdims"}
_KEPT = {"stride", "padding", "kernel_size", "dim", "keepdim", "reduction", "index"}


def stepgrad_attrs(op: str, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The settings of a call of torch's `op` that stepgrad's op of that name also has."""
    names = _SIGNATURES.get(op)
    if names is None:
        return {}
    given = dict(zip(names, args))
    given.update(kwargs)
    found = {}
    for name, value in given.items():
        if name in _KEPT and value is not None and _plain(value):
            found[_RENAMED.get(name, name)] = value
    return found


def _plain(value: Any) -> bool:
    if isinstance(value, (bool, int, float, str, slice)) or value is Ellipsis:
        return True
    if isinstance(value, (tuple, list)):
        return all(item is None or _plain(item) for item in value)
    return False
