"""One small MLP written twice, for torch and for stepgrad, with the same weights and data."""

from __future__ import annotations

import numpy as np

rng = np.random.default_rng(0)
W1 = rng.standard_normal((8, 4)).astype(np.float32) * 0.5
B1 = rng.standard_normal(8).astype(np.float32) * 0.1
W2 = rng.standard_normal((3, 8)).astype(np.float32) * 0.5
B2 = rng.standard_normal(3).astype(np.float32) * 0.1
X = rng.standard_normal((5, 4)).astype(np.float32)
Y = np.array([0, 1, 2, 0, 1])


def torch_program(steps: int = 2):
    """A function that trains the torch MLP `steps` times and returns the losses."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    model = MLP()
    with torch.no_grad():
        for layer, (w, b) in ((model.fc1, (W1, B1)), (model.fc2, (W2, B2))):
            layer.weight.copy_(torch.from_numpy(w))
            layer.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.from_numpy(X), torch.from_numpy(Y)

    def train():
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    return train, model


def stepgrad_program(steps: int = 2):
    """The same MLP and loop in stepgrad."""
    import stepgrad as sg
    import stepgrad.nn.functional as F
    from stepgrad import nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(4, 8), nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    model = MLP()
    for layer, (w, b) in ((model.fc1, (W1, B1)), (model.fc2, (W2, B2))):
        layer.weight.data = w.copy()
        layer.bias.data = b.copy()
    opt = sg.optim.SGD(model.parameters(), lr=0.1)
    x = sg.tensor(X)

    def train():
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), Y)
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
        return losses

    return train, model
