"""Dive into Deep Learning (d2l.ai, PyTorch), 4.2, 4.3 and 4.6: a multilayer perceptron from
scratch and concise, and dropout from scratch and concise.

As a student copies them, without the d2l library: parameters made with
nn.Parameter(torch.randn(...) * 0.01), relu as torch.max(X, torch.zeros_like(X)), a hand-written
dropout_layer with (torch.rand(X.shape) > dropout).float() and a Net whose training flag
switches it on; then the nn.Sequential versions with nn.Dropout. The chapter 3 helpers
(accuracy, Accumulator, evaluate_accuracy, train_epoch_ch3, train_ch3) are copied in as a
student's notebook has them. Changes beside the imports: the 8x8 digits that ship with stepgrad
instead of Fashion-MNIST (64 inputs, smaller hidden layers), fewer epochs, and train_ch3
returns its metrics instead of plotting them.
"""

from importlib import resources

import numpy as np
import torch
from torch import nn
from torch.utils import data


def load_data_digits(batch_size, shuffle=True):
    """The 8x8 digits as (train_iter, test_iter), images shaped (n, 1, 8, 8) in [0, 1]."""
    path = resources.files("stepgrad.lessons.data").joinpath("digits.npz")
    with resources.as_file(path) as file, np.load(file) as archive:
        images, labels = archive["images"] / 16.0, archive["labels"].astype(np.int64)
    images = torch.tensor(images[:, None].astype(np.float32))
    labels = torch.tensor(labels)
    train = data.TensorDataset(images[:1400], labels[:1400])
    test = data.TensorDataset(images[1400:], labels[1400:])
    return (data.DataLoader(train, batch_size, shuffle=shuffle),
            data.DataLoader(test, batch_size, shuffle=False))


def accuracy(y_hat, y):
    """Count the correct predictions."""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


class Accumulator:
    """Sum over n variables."""
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def evaluate_accuracy(net, data_iter):
    """The accuracy of a model on a data set."""
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    if isinstance(net, torch.nn.Module):
        net.train()
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    history = []
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        history.append(train_metrics + (test_acc,))
        print(f'epoch {epoch + 1}, loss {train_metrics[0]:.3f}, '
              f'train acc {train_metrics[1]:.3f}, test acc {test_acc:.3f}')
    return history


# -- 4.2 MLP from scratch -----------------------------------------------------------------------
num_inputs, num_outputs, num_hiddens = 64, 10, 32

W1 = nn.Parameter(torch.randn(
    num_inputs, num_hiddens, requires_grad=True) * 0.01)
b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
W2 = nn.Parameter(torch.randn(
    num_hiddens, num_outputs, requires_grad=True) * 0.01)
b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))

params = [W1, b1, W2, b2]


def relu(X):
    a = torch.zeros_like(X)
    return torch.max(X, a)


def net(X):
    X = X.reshape((-1, num_inputs))
    H = relu(X@W1 + b1)  # "@" is matrix multiplication
    return (H@W2 + b2)


loss = nn.CrossEntropyLoss(reduction='none')


def train_scratch(train_iter, test_iter, num_epochs=5, lr=0.1):
    updater = torch.optim.SGD(params, lr=lr)
    return train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)


# -- 4.3 MLP concise ----------------------------------------------------------------------------
def init_weights(m):
    if type(m) == nn.Linear:  # noqa: E721 (the book's spelling)
        nn.init.normal_(m.weight, std=0.01)


def concise_mlp():
    net = nn.Sequential(nn.Flatten(),
                        nn.Linear(64, 32),
                        nn.ReLU(),
                        nn.Linear(32, 10))
    net.apply(init_weights)
    return net


def train_concise(net, train_iter, test_iter, num_epochs=5, lr=0.1):
    loss = nn.CrossEntropyLoss(reduction='none')
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    return train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)


# -- 4.6 dropout from scratch -------------------------------------------------------------------
def dropout_layer(X, dropout):
    assert 0 <= dropout <= 1
    # every element is dropped
    if dropout == 1:
        return torch.zeros_like(X)
    # every element is kept
    if dropout == 0:
        return X
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)


num_hiddens1, num_hiddens2 = 48, 32
dropout1, dropout2 = 0.2, 0.5


class Net(nn.Module):
    def __init__(self, num_inputs, num_outputs, num_hiddens1, num_hiddens2,
                 is_training=True):
        super(Net, self).__init__()  # noqa: UP008 (the book's spelling)
        self.num_inputs = num_inputs
        self.training = is_training
        self.lin1 = nn.Linear(num_inputs, num_hiddens1)
        self.lin2 = nn.Linear(num_hiddens1, num_hiddens2)
        self.lin3 = nn.Linear(num_hiddens2, num_outputs)
        self.relu = nn.ReLU()

    def forward(self, X):
        H1 = self.relu(self.lin1(X.reshape((-1, self.num_inputs))))
        # dropout only while training
        if self.training == True:  # noqa: E712 (the book's spelling)
            # a dropout layer after the first fully connected layer
            H1 = dropout_layer(H1, dropout1)
        H2 = self.relu(self.lin2(H1))
        if self.training == True:  # noqa: E712
            # a dropout layer after the second fully connected layer
            H2 = dropout_layer(H2, dropout2)
        out = self.lin3(H2)
        return out


def train_dropout(net, train_iter, test_iter, num_epochs=5, lr=0.5):
    loss = nn.CrossEntropyLoss(reduction='none')
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    return train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)


def dropout_concise():
    net = nn.Sequential(nn.Flatten(),
                        nn.Linear(64, 48),
                        nn.ReLU(),
                        # a dropout layer after the first fully connected layer
                        nn.Dropout(dropout1),
                        nn.Linear(48, 32),
                        nn.ReLU(),
                        # a dropout layer after the second fully connected layer
                        nn.Dropout(dropout2),
                        nn.Linear(32, 10))
    net.apply(init_weights)
    return net


def main():
    torch.manual_seed(0)
    batch_size = 16
    train_iter, test_iter = load_data_digits(batch_size)
    results = {"scratch": train_scratch(train_iter, test_iter, num_epochs=10),
               "concise": train_concise(concise_mlp(), train_iter, test_iter, num_epochs=10)}
    X = torch.arange(16, dtype=torch.float32).reshape((2, 8))
    print(X)
    print(dropout_layer(X, 0.))
    print(dropout_layer(X, 0.5))
    print(dropout_layer(X, 1.))
    net = Net(num_inputs, num_outputs, num_hiddens1, num_hiddens2)
    results["dropout"] = train_dropout(net, train_iter, test_iter, num_epochs=10)
    results["dropout_concise"] = train_dropout(dropout_concise(), train_iter, test_iter,
                                               num_epochs=10)
    return results


if __name__ == "__main__":
    main()
