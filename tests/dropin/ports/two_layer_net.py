"""A two-layer ReLU network fitting random data, twice: by hand and with nn + optim.

A port of the PyTorch tutorial "Learning PyTorch with Examples" in its first form
(jcjohnson/pytorch-examples): two_layer_net_autograd.py (x.mm(w1).clamp(min=0).mm(w2),
manual updates under no_grad, w.grad.zero_()) and two_layer_net_module.py (a custom
nn.Module, MSELoss(reduction="sum"), optim.SGD). Only the imports change to run it on
stepgrad.
"""

import torch

dtype = torch.float
device = torch.device("cpu")

# N is batch size; D_in is input dimension; H is hidden dimension; D_out is output dimension.
N, D_in, H, D_out = 64, 1000, 100, 10


def make_data():
    x = torch.randn(N, D_in, device=device, dtype=dtype)
    y = torch.randn(N, D_out, device=device, dtype=dtype)
    return x, y


def init_weights():
    w1 = torch.randn(D_in, H, device=device, dtype=dtype, requires_grad=True)
    w2 = torch.randn(H, D_out, device=device, dtype=dtype, requires_grad=True)
    return w1, w2


def train_manual(x, y, w1, w2, steps=300):
    learning_rate = 1e-6
    losses = []
    for t in range(steps):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if t % 100 == 99:
            print(t, loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= learning_rate * w1.grad
            w2 -= learning_rate * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return losses


class TwoLayerNet(torch.nn.Module):
    def __init__(self, D_in, H, D_out):  # noqa: N803 (the tutorial's names)
        super(TwoLayerNet, self).__init__()  # noqa: UP008 (the tutorial's spelling)
        self.linear1 = torch.nn.Linear(D_in, H)
        self.linear2 = torch.nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        y_pred = self.linear2(h_relu)
        return y_pred


def train_module(model, x, y, steps=300):
    criterion = torch.nn.MSELoss(reduction="sum")
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    losses = []
    for t in range(steps):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        losses.append(loss.item())
        if t % 100 == 99:
            print(t, loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def main():
    torch.manual_seed(0)
    x, y = make_data()
    return {"manual": train_manual(x, y, *init_weights()),
            "module": train_module(TwoLayerNet(D_in, H, D_out), x, y)}


if __name__ == "__main__":
    main()
