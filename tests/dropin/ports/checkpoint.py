"""Saving and loading a general checkpoint, then resuming training where it stopped.

A port of the PyTorch recipe "Saving and loading a general checkpoint in PyTorch"
(pytorch/tutorials recipes_source/recipes/saving_and_loading_a_general_checkpoint.py):
one dict with the epoch, model.state_dict(), optimizer.state_dict() and the loss goes to
torch.save; torch.load(weights_only=True) and load_state_dict on a fresh model and
optimizer resume it. Changes beside the imports: a small MLP on random data, and the
check that the resumed run continues exactly as the uninterrupted one.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 8)).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy((x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1))


def train(net, optimizer, x, y, steps):
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def main(path="model.pt"):
    torch.manual_seed(0)
    x, y = make_data()
    net = Net()
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    first = train(net, optimizer, x, y, 10)
    EPOCH, LOSS = 10, first[-1]  # noqa: N806 (the recipe's names)
    torch.save({
        "epoch": EPOCH,
        "model_state_dict": net.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": LOSS,
    }, path)
    uninterrupted = train(net, optimizer, x, y, 10)

    model = Net()
    optimizer = optim.SGD(model.parameters(), lr=0.5, momentum=0.5)  # replaced by the checkpoint
    checkpoint = torch.load(path, weights_only=True)
    model.load_state_dict(checkpoint["model_state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    epoch = checkpoint["epoch"]
    loss = checkpoint["loss"]
    model.train()
    resumed = train(model, optimizer, x, y, 10)
    print(f"resumed at epoch {epoch} (loss {loss:.4f}): {resumed[-1]:.4f}")
    return {"first": first, "uninterrupted": uninterrupted, "resumed": resumed, "epoch": epoch}


if __name__ == "__main__":
    main()
