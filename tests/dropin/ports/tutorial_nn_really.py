"""PyTorch's "What is torch.nn really?" tutorial, as a student copies it.

The tutorial's whole path on MNIST, here on the 8x8 digits (64 inputs instead of 784, and
xb.view(-1, 1, 8, 8) for the CNN): a model from scratch (weights = torch.randn(...) /
math.sqrt(...), requires_grad_(), a hand-written log_softmax and nll, accuracy with
torch.argmax, the update under torch.no_grad()), then the refactors one by one:
F.cross_entropy, nn.Module with nn.Parameter, nn.Linear, optim, TensorDataset, DataLoader,
get_data/fit with validation, a CNN (F.relu(self.conv1(xb)), F.avg_pool2d), nn.Sequential
with a custom Lambda module, and WrappedDataLoader with a preprocess function and
nn.AdaptiveAvgPool2d(1). Nothing is downloaded: the digits ship with stepgrad.
"""

import math
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

bs = 64  # batch size
lr = 0.5  # learning rate
epochs = 2  # how many epochs to train for


def load_digits():
    path = resources.files("stepgrad.lessons.data").joinpath("digits.npz")
    with resources.as_file(path) as file, np.load(file) as archive:
        images = (archive["images"] / 16.0).reshape(-1, 64).astype(np.float32)
        labels = archive["labels"].astype(np.int64)
    x_train, y_train, x_valid, y_valid = map(
        torch.tensor, (images[:1400], labels[:1400], images[1400:], labels[1400:]))
    return x_train, y_train, x_valid, y_valid


x_train, y_train, x_valid, y_valid = load_digits()
n, c = x_train.shape


# -- Neural net from scratch (without torch.nn) -----------------------------------------------
def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


def from_scratch(weights=None, bias=None):
    if weights is None:
        weights = torch.randn(64, 10) / math.sqrt(64)
        weights.requires_grad_()
        bias = torch.zeros(10, requires_grad=True)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    loss_func = nll
    xb = x_train[0:bs]  # a mini-batch from x
    preds = model(xb)  # predictions
    print(preds[0], preds.shape)
    yb = y_train[0:bs]
    print(loss_func(preds, yb))
    print(accuracy(preds, yb))
    losses = []
    for epoch in range(epochs):  # noqa: B007 (the tutorial's loop)
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            losses.append(loss.item())

            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    print(loss_func(model(xb), yb), accuracy(model(xb), yb))

    # Using torch.nn.functional: the same model with F.cross_entropy
    loss_func = F.cross_entropy

    def model(xb):
        return xb @ weights + bias

    final = loss_func(model(xb), yb), accuracy(model(xb), yb)
    print(*final)
    return losses, [v.item() for v in final]


# -- Refactor using nn.Module, nn.Linear, optim, Dataset, DataLoader ----------------------------
class Mnist_Logistic(nn.Module):  # noqa: N801 (the tutorial's name)
    def __init__(self):
        super().__init__()
        self.weights = nn.Parameter(torch.randn(64, 10) / math.sqrt(64))
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, xb):
        return xb @ self.weights + self.bias


class Mnist_Logistic_Linear(nn.Module):  # noqa: N801
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(64, 10)

    def forward(self, xb):
        return self.lin(xb)


loss_func = F.cross_entropy


def fit_module(model):
    """The nn.Module step: the loop over parameters by hand."""
    losses = []
    for epoch in range(epochs):  # noqa: B007 (the tutorial's loop)
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            losses.append(loss.item())

            loss.backward()
            with torch.no_grad():
                for p in model.parameters():
                    p -= p.grad * lr
                model.zero_grad()
    return losses


def get_model(model_class=Mnist_Logistic_Linear):
    model = model_class()
    return model, optim.SGD(model.parameters(), lr=lr)


def fit_optim_dataloader(model, opt):
    """The optim, TensorDataset and DataLoader steps."""
    train_ds = TensorDataset(x_train, y_train)
    train_dl = DataLoader(train_ds, batch_size=bs)
    losses = []
    for epoch in range(epochs):  # noqa: B007 (the tutorial's loop)
        for xb, yb in train_dl:
            pred = model(xb)
            loss = loss_func(pred, yb)
            losses.append(loss.item())

            loss.backward()
            opt.step()
            opt.zero_grad()
    return losses


# -- Add validation; fit() and get_data() -------------------------------------------------------
def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)

    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()

    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl, losses=None):
    history = []
    for epoch in range(epochs):  # noqa: B007 (the tutorial's loop)
        model.train()
        for xb, yb in train_dl:
            loss = loss_batch(model, loss_func, xb, yb, opt)
            if losses is not None:
                losses.append(loss[0])

        model.eval()
        with torch.no_grad():
            losses_, nums = zip(
                *[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl]
            )
        val_loss = np.sum(np.multiply(losses_, nums)) / np.sum(nums)

        print(epoch, val_loss)
        history.append(val_loss)
    return history


def get_data(train_ds, valid_ds, bs, shuffle=True):
    return (
        DataLoader(train_ds, batch_size=bs, shuffle=shuffle),
        DataLoader(valid_ds, batch_size=bs * 2),
    )


# -- Switch to CNN ------------------------------------------------------------------------------
class Mnist_CNN(nn.Module):  # noqa: N801
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

    def forward(self, xb):
        xb = xb.view(-1, 1, 8, 8)
        xb = F.relu(self.conv1(xb))
        xb = F.relu(self.conv2(xb))
        xb = F.relu(self.conv3(xb))
        xb = F.avg_pool2d(xb, 1)  # 8x8 ends 1x1 after three stride-2 convs (MNIST's is 4)
        return xb.view(-1, xb.size(1))


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x):
    return x.view(-1, 1, 8, 8)


def sequential_cnn():
    return nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )


# -- Wrapping the DataLoader --------------------------------------------------------------------
def preprocess_wrapped(x, y):
    return x.view(-1, 1, 8, 8), y


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield (self.func(*b))


def adaptive_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )


def main():
    torch.manual_seed(0)
    result = {"scratch": from_scratch()}
    model = Mnist_Logistic()
    print(loss_func(model(x_train[0:bs]), y_train[0:bs]))
    result["module"] = fit_module(model)
    result["optim"] = fit_optim_dataloader(*get_model())
    train_ds, valid_ds = TensorDataset(x_train, y_train), TensorDataset(x_valid, y_valid)
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    model, opt = get_model()
    result["fit"] = fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    model = Mnist_CNN()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    result["cnn"] = fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    model = sequential_cnn()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    result["sequential"] = fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    train_dl = WrappedDataLoader(train_dl, preprocess_wrapped)
    valid_dl = WrappedDataLoader(valid_dl, preprocess_wrapped)
    model = adaptive_cnn()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    result["wrapped"] = fit(epochs, model, loss_func, opt, train_dl, valid_dl)
    return result


if __name__ == "__main__":
    main()
