"""Small models the lessons train, with readable parameter names (fc1.weight, conv2.bias).

    mlp = MLP([2, 32, 32, 3])          # Linear -> ReLU -> Linear -> ReLU -> Linear
    cnn = DigitsCNN()                  # for (n, 1, 8, 8) digits: 10 logits
    mlp.dead_fraction                  # share of ReLU units that were 0 for the whole last batch

PyTorch equivalents: an nn.Module with nn.Linear / nn.Conv2d layers and nn.ReLU.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import stepgrad as sg
from stepgrad import nn


class MLP(nn.Module):
    """fc1 -> act1 -> fc2 -> act2 -> ... -> fcN: a multi-layer perceptron.

    `sizes` lists the widths, input first: [64, 32, 10] has one hidden layer of 32.
    After each forward in training mode, `dead_fraction` holds the share of hidden ReLU
    units that gave 0 for every example of the batch (a dead unit passes no gradient).
    """

    def __init__(self, sizes: Sequence[int], activation: str = "relu") -> None:
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"MLP: give at least an input and an output size, got {sizes}")
        acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
        if activation not in acts:
            raise ValueError(f"MLP: activation must be one of {sorted(acts)}, got {activation!r}")
        self.sizes, self.activation = tuple(sizes), activation
        self.depth = len(sizes) - 1
        for i in range(self.depth):
            setattr(self, f"fc{i + 1}", nn.Linear(sizes[i], sizes[i + 1]))
            if i < self.depth - 1:
                setattr(self, f"act{i + 1}", acts[activation]())
        self.dead_fraction = 0.0

    def linears(self) -> list[nn.Linear]:
        return [getattr(self, f"fc{i + 1}") for i in range(self.depth)]

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        dead, units = 0, 0
        for i in range(self.depth):
            x = getattr(self, f"fc{i + 1}")(x)
            if i < self.depth - 1:
                x = getattr(self, f"act{i + 1}")(x)
                if self.activation == "relu" and x.ndim == 2:
                    dead += int(np.all(x.data <= 0, axis=0).sum())
                    units += x.shape[1]
        if self.training and units:
            self.dead_fraction = dead / units
        return x

    def extra_repr(self) -> str:
        return f"sizes={list(self.sizes)}, activation={self.activation!r}"


class DigitsCNN(nn.Module):
    """For 8x8 digits (n, 1, 8, 8): conv 1->8 (3x3, pad 1), ReLU, max-pool 2,
    conv 8->16 (3x3, pad 1), ReLU, max-pool 2, flatten (16 * 2 * 2 = 64), linear 64->10."""

    def __init__(self, channels: tuple[int, int] = (8, 16), classes: int = 10) -> None:
        super().__init__()
        c1, c2 = channels
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c2 * 2 * 2, classes)

    def forward(self, x: sg.Tensor) -> sg.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        return self.fc(self.flatten(x))


def mlp(sizes: Sequence[int], activation: str = "relu", seed: int | None = None) -> MLP:
    """An MLP, its weights drawn after `sg.manual_seed(seed)` when a seed is given."""
    if seed is not None:
        sg.manual_seed(seed)
    return MLP(sizes, activation)


def digits_cnn(seed: int | None = None) -> DigitsCNN:
    """The small CNN for the 8x8 digits, seeded like `mlp`."""
    if seed is not None:
        sg.manual_seed(seed)
    return DigitsCNN()


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["MLP", "DigitsCNN", "count_parameters", "digits_cnn", "mlp"]
