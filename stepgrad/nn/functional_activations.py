"""The elementwise activations of `torch.nn.functional` beyond relu, gelu and silu
(re-exported by stepgrad.nn.functional).

Each is a short composite of tensor methods (exp, log1p, clamp, where, ...), never a new op:
the debugger steps through its parts, and the gradient is the chain rule over them.
Piecewise functions are written with `where` on PyTorch's own conditions, so the gradient at a
kink (hardtanh at its bounds, hardswish at +-3) is the one PyTorch gives, not a guess.
`inplace=` is accepted where PyTorch has it and changes nothing: stepgrad never overwrites an
input (the debugger's record of it must stay true), so the result is always a new tensor.
"""

from __future__ import annotations

from typing import Any

from stepgrad.tensor import Tensor

# SELU's constants (Klambauer et al. 2017), as PyTorch spells them
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _stable_softplus(z: Tensor) -> Tensor:
    """log(1 + e**z), as z + log1p(e**-z) for z > 0 and log1p(e**z) elsewhere: the exponent is
    never positive, so e** never overflows (each branch sees z clamped to its side, so the
    branch not taken gets a finite, zero gradient), and d/dz at 0 is sigmoid(0) = 1/2."""
    above, below = z.clamp(min=0.0), z.clamp(max=0.0)
    return (above + (-above).exp().log1p()).where(z.data > 0, below.exp().log1p())


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:  # noqa: A002
    """log(1 + e**(beta x)) / beta, and x itself where beta x > threshold (PyTorch's switch
    to the line the curve has reached). d/dx = sigmoid(beta x), 1 above the threshold."""
    z = input if beta == 1 else input * beta
    soft = _stable_softplus(z)
    soft = soft if beta == 1 else soft / beta
    return input.where(z.data > threshold, soft)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x where x > 0, else alpha (e**x - 1). d/dx = 1, else alpha e**x."""
    negative = input.clamp(max=0.0).exp().sub(1.0) * alpha  # clamped: e**x never overflows
    return input.where(input.data > 0, negative)


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """scale * elu(x, alpha) with the fixed constants that keep activations near mean 0,
    variance 1 through deep networks (self-normalising)."""
    return elu(input, SELU_ALPHA) * SELU_SCALE


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x where x > 0, else alpha (e**(x / alpha) - 1): elu with the slope at 0 always 1."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    negative = (input.clamp(max=0.0) / alpha).exp().sub(1.0) * alpha
    return input.where(input.data > 0, negative)


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    """x / (1 + |x|): a tanh-like curve that reaches its bounds only polynomially."""
    return input / (input.abs() + 1.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,  # noqa: A002
             inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]. d/dx = 1 strictly inside, 0 at and beyond the bounds
    (PyTorch's rule; clamp's own gradient lets the bounds pass)."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    inside = (input.data > min_val) & (input.data < max_val)
    return input.where(inside, input.clamp(min_val, max_val).detach())


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """min(max(0, x), 6): hardtanh(x, 0, 6)."""
    return hardtanh(input, 0.0, 6.0)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * relu6(x + 3) / 6, written as its three pieces: 0 up to -3, x (x + 3) / 6 between,
    x from 3 on. d/dx = 0, x / 3 + 1/2, 1 (at -3 and 3 the outer pieces', as PyTorch)."""
    x = input
    middle = x * (x + 3.0) / 6.0
    return x.where(x.data >= 3, middle).where(x.data > -3, x.new_zeros(x.shape))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """0 at or below -3, 1 at or above 3, x / 6 + 1/2 between. d/dx = 1/6 strictly inside."""
    x = input
    line = x / 6.0 + 0.5
    return line.where((x.data > -3) & (x.data < 3), line.clamp(0.0, 1.0).detach())


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x * tanh(softplus(x)) (Misra 2019), softplus computed stably."""
    return input * _stable_softplus(input).tanh()


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """log(sigmoid(x)) = -softplus(-x), computed stably: log of a sigmoid that rounded to 0
    would be -inf, this stays x for very negative x."""
    return -_stable_softplus(-input)


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    """x - tanh(x)."""
    return input - input.tanh()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
            dtype: Any = None) -> Tensor:
    """softmax(-x) along dim: the smallest value gets the largest weight."""
    from stepgrad.nn.activation import _implicit_dim

    dim = _implicit_dim("softmin", input.ndim) if dim is None else dim
    x = input if dtype is None else input.to(dtype)
    return (-x).softmax(dim)


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002
    """x where x > 0, else weight * x, one learned slope per channel (axis 1) or one shared.
    d/dx = 1 or weight; d/dweight = x where x <= 0, summed over everything but the channel."""
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    count = weight.numel()
    channels = input.shape[1] if input.ndim >= 2 else 1
    if count != 1 and count != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {count} and channel size = {channels}.")
    slope = weight.reshape(-1, *([1] * (input.ndim - 2))) if count > 1 else weight.reshape(())
    return input.where(input.data > 0, input * slope)


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """a * sigmoid(b), a and b the two halves of x along dim: a gated linear unit."""
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim % input.ndim} "
                           f"is size {size}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


__all__ = [
    "celu", "elu", "glu", "hardsigmoid", "hardswish", "hardtanh", "logsigmoid", "mish", "prelu",
    "relu6", "selu", "softmin", "softplus", "softsign", "tanhshrink",
]
