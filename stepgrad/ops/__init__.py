"""Every op of stepgrad, one small class each, registered by name (see registry.py).

    sg.ops.names()          # ['abs', 'add', ...]
    sg.ops.get("relu")      # the ReLU class: read its forward and backward
"""

from stepgrad.ops.conv import AvgPool2d, Conv2d, MaxPool2d, col2im, im2col
from stepgrad.ops.elementwise import (
    Abs,
    Add,
    Div,
    Exp,
    LeakyReLU,
    Log,
    Mul,
    Neg,
    Pow,
    ReLU,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
)
from stepgrad.ops.indexing import Gather, SetItem
from stepgrad.ops.losses import BCELoss, NLLLoss
from stepgrad.ops.matmul import Linear, MatMul
from stepgrad.ops.movement import (
    Concat,
    Expand,
    GetItem,
    Pad,
    Repeat,
    Reshape,
    Stack,
    Transpose,
)
from stepgrad.ops.nn import (
    BatchNorm,
    BCEWithLogits,
    CrossEntropy,
    Dropout,
    LogSoftmax,
    MSELoss,
    Softmax,
)
from stepgrad.ops.pointwise import GELU, Cast, Clamp, Cos, Maximum, Minimum, SiLU, Sin, Where
from stepgrad.ops.reduce import CumSum, LogSumExp, Max, Mean, Min, Prod, Sum
from stepgrad.ops.registry import get, names, original, patch, register, registry
from stepgrad.ops.rounding import Fmod, Remainder, RoundedDiv, Step

__all__ = [
    "BCELoss", "Cast", "Clamp", "Cos", "CumSum", "Expand", "Fmod", "GELU", "Gather", "LogSumExp",
    "Maximum", "Minimum", "NLLLoss", "Prod", "Remainder", "Repeat", "RoundedDiv", "SetItem",
    "SiLU", "Sin", "Where",
    "Abs", "Add", "AvgPool2d", "BatchNorm", "BCEWithLogits", "Concat", "Conv2d", "CrossEntropy",
    "Div", "Dropout", "Exp", "GetItem", "LeakyReLU", "Linear", "Log", "LogSoftmax", "MSELoss",
    "MatMul", "Max", "MaxPool2d", "Mean", "Min", "Mul", "Neg", "Pad", "Pow", "ReLU", "Reshape",
    "Sigmoid", "Softmax", "Sqrt", "Stack", "Step", "Sub", "Sum", "Tanh", "Transpose", "col2im",
    "get", "im2col", "names", "original", "patch", "register", "registry",
]
