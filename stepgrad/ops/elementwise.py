"""Elementwise ops: arithmetic and activations. Shapes broadcast as in numpy.

Each backward returns the gradient with the *broadcast* shape; autograd.unbroadcast
sums it back to each input's own shape, so no op here worries about broadcasting.
"""

from __future__ import annotations

import numpy as np

from stepgrad.function import Context, Function
from stepgrad.ops.registry import register


@register
class Add(Function):
    """out = a + b.   d out/d a = 1,  d out/d b = 1.
    PyTorch: torch.add / `a + b`.  TensorFlow: tf.add."""

    name = "add"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad, grad


@register
class Sub(Function):
    """out = a - b.   d out/d a = 1,  d out/d b = -1.
    PyTorch: torch.sub / `a - b`.  TensorFlow: tf.subtract."""

    name = "sub"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad, -grad


@register
class Mul(Function):
    """out = a * b.   d out/d a = b,  d out/d b = a.
    PyTorch: torch.mul / `a * b`.  TensorFlow: tf.multiply."""

    name = "mul"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.a, ctx.b = a, b
        return a * b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        needs_a, needs_b = ctx.needs_input_grad  # `x * 0.5` needs no gradient for 0.5
        return grad * ctx.b if needs_a else None, grad * ctx.a if needs_b else None


@register
class Div(Function):
    """out = a / b.   d out/d a = 1 / b,  d out/d b = -a / b**2.
    PyTorch: torch.div / `a / b`.  TensorFlow: tf.divide."""

    name = "div"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.a, ctx.b = a, b
        return a / b

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return grad / ctx.b, -grad * ctx.a / (ctx.b * ctx.b)


@register
class Neg(Function):
    """out = -a.   d out/d a = -1.
    PyTorch: torch.neg / `-a`.  TensorFlow: tf.negative."""

    name = "neg"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        return -a

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (-grad,)


@register
class Pow(Function):
    """out = a ** b.   d out/d a = b * a**(b-1),  d out/d b = a**b * ln(a).
    At the edges, PyTorch's choices: d/da is 0 where b = 0 (even at a = 0); d/db is 0 where
    a = 0 and b >= 0, -inf where a = 0 and b < 0, and nan where a < 0 (ln a is undefined).
    PyTorch: torch.pow / `a ** b`.  TensorFlow: tf.pow."""

    name = "pow"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.a, ctx.b, ctx.out = a, b, a**b
        return ctx.out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        a, b = ctx.a, ctx.b
        grad_a = grad_b = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0**-1 and ln(-1) are expected
            if ctx.needs_input_grad[0]:
                grad_a = grad * np.where(b == 0, 0, b * a ** (b - 1))
            if ctx.needs_input_grad[1]:
                grad_b = grad * np.where((a == 0) & (b >= 0), 0, ctx.out * np.log(a))
        return grad_a, grad_b


@register
class Exp(Function):
    """out = e**a.   d out/d a = e**a = out.
    PyTorch: torch.exp.  TensorFlow: tf.exp."""

    name = "exp"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.out = np.exp(a)
        return ctx.out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * ctx.out,)


@register
class Log(Function):
    """out = ln a.   d out/d a = 1 / a.
    PyTorch: torch.log.  TensorFlow: tf.math.log."""

    name = "log"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.a = a
        return np.log(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad / ctx.a,)


@register
class Sqrt(Function):
    """out = sqrt(a).   d out/d a = 1 / (2 sqrt(a)).
    PyTorch: torch.sqrt.  TensorFlow: tf.sqrt."""

    name = "sqrt"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.out = np.sqrt(a)
        return ctx.out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad / (2 * ctx.out),)


@register
class Abs(Function):
    """out = |a|.   d out/d a = sign(a)  (0 at a = 0, as PyTorch chooses).
    PyTorch: torch.abs.  TensorFlow: tf.abs."""

    name = "abs"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.a = a
        return np.abs(a)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * np.sign(ctx.a),)


@register
class ReLU(Function):
    """out = max(a, 0).   d out/d a = 1 where a > 0, else 0 (a 0/1 mask).
    PyTorch: torch.relu / nn.ReLU.  TensorFlow: tf.nn.relu."""

    name = "relu"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.mask = a > 0
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * ctx.mask,)


@register
class LeakyReLU(Function):
    """out = a if a > 0 else slope * a.   d out/d a = 1 where a > 0, else slope.
    PyTorch: F.leaky_relu / nn.LeakyReLU.  TensorFlow: tf.nn.leaky_relu."""

    name = "leaky_relu"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
        ctx.slope = np.where(a > 0, 1, negative_slope).astype(a.dtype)
        return a * ctx.slope

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * ctx.slope,)


@register
class Sigmoid(Function):
    """out = 1 / (1 + e**-a).   d out/d a = out * (1 - out).
    PyTorch: torch.sigmoid / nn.Sigmoid.  TensorFlow: tf.sigmoid."""

    name = "sigmoid"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(a))  # never overflows: the exponent is <= 0
        ctx.out = np.where(a >= 0, 1 / (1 + e), e / (1 + e))
        return ctx.out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * ctx.out * (1 - ctx.out),)


@register
class Tanh(Function):
    """out = tanh(a).   d out/d a = 1 - out**2.
    PyTorch: torch.tanh / nn.Tanh.  TensorFlow: tf.tanh."""

    name = "tanh"

    @staticmethod
    def forward(ctx: Context, a: np.ndarray) -> np.ndarray:
        ctx.out = np.tanh(a)
        return ctx.out

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray) -> tuple:
        return (grad * (1 - ctx.out * ctx.out),)
