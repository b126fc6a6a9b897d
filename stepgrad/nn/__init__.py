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
from stepgrad.nn.container import ModuleDict, ModuleList, Sequential
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
from stepgrad.nn.module import Module, Parameter, load, save
from stepgrad.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm

__all__ = [
    "GELU", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d",
    "CrossEntropyLoss", "Dropout", "Embedding", "Flatten", "Identity", "L1Loss", "LayerNorm",
    "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module", "ModuleDict",
    "ModuleList", "NLLLoss", "Parameter", "ReLU", "Sequential", "SiLU", "Sigmoid", "Softmax",
    "Tanh", "Unflatten", "functional", "init", "load", "save", "utils",
]


def __getattr__(name: str) -> object:
    """A PyTorch nn name stepgrad does not have fails here, at once, with what to do."""
    raise AttributeError(f"stepgrad.nn has no {name!r}: torch.nn.{name} is outside stepgrad's "
                         f"course subset (see stepgrad.nn.__all__ for what there is)")
