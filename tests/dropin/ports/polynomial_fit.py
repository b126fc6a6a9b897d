"""Fit y = sin(x) on [-pi, pi] with a cubic a + b x + c x^2 + d x^3, three ways.

A port of the PyTorch tutorial "Learning PyTorch with Examples" (Justin Johnson,
pytorch/tutorials beginner_source/examples_*): polynomial_autograd.py (tensors and
autograd, manual updates under no_grad), polynomial_nn.py (nn.Sequential, MSELoss, manual
updates over model.parameters()) and polynomial_optim.py (the same with optim.RMSprop).
Only the imports change to run it on stepgrad; sizes as in the tutorial, fewer steps.
"""

import math

import torch

STEPS = 1000
dtype = torch.float
device = torch.device("cpu")


def init_coefficients():
    """Random weights a, b, c, d: leaves that require gradients."""
    return [torch.randn((), device=device, dtype=dtype, requires_grad=True) for _ in range(4)]


def fit_autograd(a, b, c, d, steps=STEPS):
    """Tensors and autograd: a, b, c, d are leaves; w -= lr * w.grad under no_grad."""
    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)
    learning_rate = 1e-6
    losses = []
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if t % 500 == 499:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    print(f"Result: y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")
    return losses


def features():
    x = torch.linspace(-math.pi, math.pi, 2000)
    y = torch.sin(x)
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)  # (2000, 3): x, x^2, x^3
    return xx, y


def build_model():
    return torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))


def fit_nn(model, steps=STEPS):
    """nn: the model's parameters updated by hand, gradients zeroed by model.zero_grad()."""
    xx, y = features()
    loss_fn = torch.nn.MSELoss(reduction="sum")
    learning_rate = 1e-6
    losses = []
    for _ in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    print(f"Result: y = {linear_layer.bias.item()} + {linear_layer.weight[:, 0].item()} x + "
          f"{linear_layer.weight[:, 1].item()} x^2 + {linear_layer.weight[:, 2].item()} x^3")
    return losses


def fit_optim(model, steps=STEPS):
    """optim: RMSprop does the update; optimizer.zero_grad() before each backward."""
    xx, y = features()
    loss_fn = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def main():
    torch.manual_seed(0)
    return {"autograd": fit_autograd(*init_coefficients()), "nn": fit_nn(build_model()),
            "optim": fit_optim(build_model())}


if __name__ == "__main__":
    main()
