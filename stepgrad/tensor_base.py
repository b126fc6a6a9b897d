"""What the Tensor class gives its method mixins, said once for the type checker.

`Tensor` (tensor.py) is assembled from mixins (`tensor_methods`, `tensor_shape`,
`tensor_inplace`) that mypy reads on their own. They inherit `TensorBase`, which at run time
is an empty class with no slots of its own, and under type checking declares the Tensor's
attributes and operators the mixins use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np


class TensorBase:
    """The attributes and operators a Tensor has, for the mixins' type checking."""

    if TYPE_CHECKING:
        data: np.ndarray
        _data: np.ndarray  # the array itself (`data` is its TensorData view: tensor_data.py)
        grad: Any
        requires_grad: bool
        _name: str | None
        _id: int
        _fn: Any
        _index: int
        _ctx: Any
        _parents: tuple[Any, ...]
        _where: Any
        _version: int
        _hooks: list[Any]

        def __init__(self, data: Any, requires_grad: bool = False, name: str | None = None,
                     dtype: Any = None) -> None: ...
        def __add__(self, other: Any) -> Any: ...
        def __radd__(self, other: Any) -> Any: ...
        def __sub__(self, other: Any) -> Any: ...
        def __rsub__(self, other: Any) -> Any: ...
        def __mul__(self, other: Any) -> Any: ...
        def __rmul__(self, other: Any) -> Any: ...
        def __truediv__(self, other: Any) -> Any: ...
        def __rtruediv__(self, other: Any) -> Any: ...
        def __pow__(self, other: Any) -> Any: ...
        def __getitem__(self, index: Any) -> Any: ...
        def item(self) -> Any: ...
        def type(self, dtype: Any = None) -> Any: ...
        def reshape(self, *shape: Any) -> Any: ...
    else:
        __slots__ = ()
