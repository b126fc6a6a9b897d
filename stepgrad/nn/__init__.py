"""Neural-network building blocks (PyTorch: `torch.nn`).

    import stepgrad.nn as nn
    import stepgrad.nn.functional as F
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    loss = nn.CrossEntropyLoss()(model(x), y)

The layers are grouped as in PyTorch: layers (linear, conv, pooling, embedding, dropout),
normalization, activation, container, loss; `nn.init` and `nn.utils` beside them.
"""

from stepgrad.nn import functional, init, utils
from stepgrad.nn.activation import (
    GELU,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from stepgrad.nn.activation_more import (
    CELU,
    ELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LogSigmoid,
    Mish,
    PReLU,
    ReLU6,
    Softmin,
    Softplus,
    Softsign,
    Tanhshrink,
)
from stepgrad.nn.container import ModuleDict, ModuleList, Sequential
from stepgrad.nn.container_params import ParameterDict, ParameterList
from stepgrad.nn.distance import CosineSimilarity, PairwiseDistance
from stepgrad.nn.layers import (
    AvgPool2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    Linear,
    MaxPool2d,
    Unflatten,
)
from stepgrad.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
)
from stepgrad.nn.loss_more import HuberLoss, KLDivLoss, SmoothL1Loss
from stepgrad.nn.module import Module, Parameter, load, save
from stepgrad.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from stepgrad.nn.pooling_more import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, MaxPool1d
from stepgrad.nn.spatial import ConstantPad2d, Dropout2d, ZeroPad2d

__all__ = [
    "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool1d", "AvgPool2d", "BCELoss",
    "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "CELU", "ConstantPad2d", "Conv2d",
    "CosineSimilarity", "CrossEntropyLoss", "Dropout", "Dropout2d", "ELU", "Embedding",
    "Flatten", "GELU", "GLU", "Hardsigmoid", "Hardswish", "Hardtanh", "HuberLoss", "Identity",
    "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax",
    "MSELoss", "MaxPool1d", "MaxPool2d", "Mish", "Module", "ModuleDict", "ModuleList",
    "NLLLoss", "PReLU", "PairwiseDistance", "Parameter", "ParameterDict", "ParameterList",
    "ReLU", "ReLU6", "SELU", "Sequential", "SiLU", "Sigmoid", "SmoothL1Loss", "Softmax",
    "Softmin", "Softplus", "Softsign", "Tanh", "Tanhshrink", "Unflatten", "ZeroPad2d",
    "functional", "init", "load", "save", "utils",
]


def __getattr__(name: str) -> object:
    """A PyTorch nn name stepgrad does not have fails here, at once, with what to do."""
    raise AttributeError(f"stepgrad.nn has no {name!r}: torch.nn.{name} is outside stepgrad's "
                         f"course subset (see stepgrad.nn.__all__ for what there is)")
