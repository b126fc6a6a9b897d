"""Idioms every PyTorch course shows, in one small classifier script.

@torch.no_grad() as a decorator on an evaluation function, torch.nn.utils.clip_grad_norm_
before the optimizer step, model.apply(init_fn) with nn.init.xavier_uniform_ and zeros_,
register_buffer (a running mean of the inputs saved in the state_dict), register_forward_hook
(recording each layer's activations), and a confusion matrix filled with `cm[t, p] += 1`
from label and prediction tensors. Nothing is downloaded: the 8x8 digits ship with stepgrad.
"""

from importlib import resources

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_digits():
    path = resources.files("stepgrad.lessons.data").joinpath("digits.npz")
    with resources.as_file(path) as file, np.load(file) as archive:
        images = (archive["images"] / 16.0).reshape(-1, 64).astype(np.float32)
        labels = archive["labels"].astype(np.int64)
    return torch.from_numpy(images), torch.from_numpy(labels)


class Classifier(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, 10)
        self.register_buffer("input_mean", torch.zeros(64))
        self.register_buffer("batches_seen", torch.tensor(0))

    def forward(self, x):
        if self.training:
            with torch.no_grad():
                self.batches_seen += 1
                self.input_mean += (x.mean(0) - self.input_mean) / self.batches_seen
        return self.fc2(F.relu(self.fc1(x - self.input_mean)))


def init_weights(m):
    if isinstance(m, nn.Linear):
        torch.nn.init.xavier_uniform_(m.weight)
        torch.nn.init.zeros_(m.bias)


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    logits = model(x)
    loss = F.cross_entropy(logits, y).item()
    acc = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, acc, logits.requires_grad


def confusion_matrix(model, x, y, num_classes=10):
    cm = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    with torch.no_grad():
        preds = model(x).argmax(dim=1)
    for t, p in zip(y, preds):
        cm[t, p] += 1
    return cm


def train(model, x, y, epochs=3, batch_size=50, max_norm=1.0, lr=0.2):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses, norms = [], []
    for epoch in range(epochs):  # noqa: B007 (the tutorial's loop)
        model.train()
        for start in range(0, len(x), batch_size):
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
            optimizer.step()
            losses.append(loss.item())
            norms.append(norm.item())
    return losses, norms


def record_activations(model, x):
    activations = {}

    def hook(name):
        def save(module, inputs, output):
            activations[name] = output.detach()
        return save

    handles = [module.register_forward_hook(hook(name))
               for name, module in model.named_children()]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return {name: tuple(a.shape) for name, a in activations.items()}


def main():
    torch.manual_seed(0)
    x, y = load_digits()
    model = Classifier()
    model.apply(init_weights)
    losses, norms = train(model, x[:1400], y[:1400])
    loss, acc, tracked = evaluate(model, x[1400:], y[1400:])
    cm = confusion_matrix(model, x[1400:], y[1400:])
    print(cm)
    print(f"test loss {loss:.3f}, accuracy {acc:.3f}")
    return {"train": losses, "norms": norms, "test": (loss, acc), "tracked": tracked,
            "cm": cm.tolist(), "buffers": list(model.state_dict()),
            "batches_seen": int(model.batches_seen),
            "activations": record_activations(model, x[:5])}


if __name__ == "__main__":
    main()
