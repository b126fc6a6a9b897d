"""More activation layers: Modules around the functions of nn/functional_activations.py,
with PyTorch's arguments, defaults, errors and printed form.
PyTorch: `torch.nn.ELU`, `SELU`, `CELU`, `Softplus`, `Softsign`, `Hardtanh`, `ReLU6`,
`Hardswish`, `Hardsigmoid`, `Mish`, `LogSigmoid`, `Softmin`, `PReLU`, `GLU`, `Tanhshrink`.

`inplace=True` is accepted (and printed, as PyTorch prints it) but changes nothing: stepgrad
never overwrites an input, so what the debugger recorded of it stays true.
"""

from __future__ import annotations

from typing import Any

from stepgrad.nn import functional as F
from stepgrad.nn import init
from stepgrad.nn.activation import _implicit_dim
from stepgrad.nn.layers import new_weight
from stepgrad.nn.module import Module
from stepgrad.tensor import Tensor


def _inplace(inplace: bool, sep: str = ", ") -> str:
    return f"{sep}inplace=True" if inplace else ""


class _Inplace(Module):
    """An activation whose only option is PyTorch's `inplace` (ignored, see above)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return _inplace(self.inplace, "")


class ELU(Module):
    """x if x > 0 else alpha (e**x - 1): negative outputs pull the mean towards 0."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002 (PyTorch's name)
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace(self.inplace)}"


class CELU(ELU):
    """x if x > 0 else alpha (e**(x / alpha) - 1): continuously differentiable ELU."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.celu(input, self.alpha)


class SELU(_Inplace):
    """1.0507 * elu(x, 1.6733): self-normalising (use with lecun_normal weights)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.selu(input)


class Softplus(Module):
    """log(1 + e**(beta x)) / beta, a smooth relu; x itself where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """x / (1 + |x|)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.softsign(input)


class Hardtanh(Module):
    """x clamped to [min_val, max_val] (gradient 1 strictly inside, 0 at the bounds)."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False,
                 min_value: float | None = None, max_value: float | None = None) -> None:
        super().__init__()
        # min_value / max_value: PyTorch's old names, still accepted
        self.min_val = min_val if min_value is None else min_value
        self.max_val = max_val if max_value is None else max_value
        self.inplace = inplace
        if not self.max_val > self.min_val:  # PyTorch asserts this
            raise AssertionError(f"max_val ({self.max_val}) must be greater than min_val "
                                 f"({self.min_val})")

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace(self.inplace)}"


class ReLU6(Hardtanh):
    """min(max(0, x), 6): a relu that saturates (Hardtanh(0, 6), as in PyTorch)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return _inplace(self.inplace, "")


class Hardswish(_Inplace):
    """x * relu6(x + 3) / 6: swish (x sigmoid(x)) made of straight pieces (MobileNetV3)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.hardswish(input)

    def extra_repr(self) -> str:
        return ""  # PyTorch prints no inplace here


class Hardsigmoid(Hardswish):
    """relu6(x + 3) / 6: sigmoid made of straight pieces."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.hardsigmoid(input)


class Mish(_Inplace):
    """x * tanh(softplus(x))."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.mish(input)


class LogSigmoid(Module):
    """log(sigmoid(x)), computed stably as -softplus(-x)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.logsigmoid(input)


class Tanhshrink(Module):
    """x - tanh(x)."""

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.tanhshrink(input)


class Softmin(Module):
    """softmax(-x) along `dim`: the smallest value gets the largest probability."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        dim = _implicit_dim("softmin", input.ndim) if self.dim is None else self.dim
        return F.softmin(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """x if x > 0 else weight * x, the negative slope learned: one shared (num_parameters=1)
    or one per channel (axis 1). weight starts at `init` (0.25), as in PyTorch."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if num_parameters < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension "
                               f"{num_parameters}: [{num_parameters}]")
        self.num_parameters, self.init = num_parameters, init
        self.weight = new_weight(num_parameters, dtype=dtype, device=device)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class GLU(Module):
    """a * sigmoid(b), a and b the halves of the input along `dim` (which must be even)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:  # noqa: A002
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
