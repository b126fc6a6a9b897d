"""Dive into Deep Learning (d2l.ai, PyTorch), 6.6 and 8.5: LeNet, and batch normalization from
scratch in LeNet.

As a student copies them, without the d2l library: LeNet as nn.Sequential with nn.Sigmoid and
nn.AvgPool2d, the layer-by-layer shape printout, try_gpu, evaluate_accuracy_gpu and train_ch6
(nn.init.xavier_uniform_ through net.apply, optim.SGD, nn.CrossEntropyLoss); then batch_norm
written out (moving averages, torch.is_grad_enabled() to tell training from prediction) inside
a BatchNorm nn.Module whose gamma and beta are nn.Parameters and whose moving statistics are
plain tensors moved with .to(X.device). accuracy and Accumulator are copied in. Changes beside
the imports: the 8x8 digits that ship with stepgrad instead of 28x28 Fashion-MNIST, so the
second convolution is 3x3 with padding 1 and the first linear layer takes 16 * 2 * 2 inputs;
fewer epochs; train_ch6 returns its metrics instead of plotting them.
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


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=3, padding=1), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 2 * 2, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def print_shapes(net):
    X = torch.rand(size=(1, 1, 8, 8), dtype=torch.float32)
    shapes = []
    for layer in net:
        X = layer(X)
        print(layer.__class__.__name__, 'output shape: \t', X.shape)
        shapes.append(tuple(X.shape))
    return shapes


def try_gpu(i=0):
    """Return gpu(i) if it exists, else cpu()."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    return torch.device('cpu')


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


class Accumulator:
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """The accuracy of a model on a data set, computed on a GPU."""
    if isinstance(net, nn.Module):
        net.eval()  # evaluation mode
        if not device:
            device = next(iter(net.parameters())).device
    # correct predictions, predictions
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            if isinstance(X, list):
                # needed for BERT fine-tuning (see later chapters)
                X = [x.to(device) for x in X]
            else:
                X = X.to(device)
            y = y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def init_weights(m):
    if type(m) == nn.Linear or type(m) == nn.Conv2d:  # noqa: E721 (the book's spelling)
        nn.init.xavier_uniform_(m.weight)


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device, init=True):
    """Train a model on a GPU (chapter 6)."""
    if init:
        net.apply(init_weights)
    print('training on', device)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    history = []
    for epoch in range(num_epochs):  # noqa: B007
        # sum of training loss, sum of training accuracy, number of examples
        metric = Accumulator(3)
        net.train()
        for i, (X, y) in enumerate(train_iter):  # noqa: B007
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
        train_l = metric[0] / metric[2]
        train_acc = metric[1] / metric[2]
        test_acc = evaluate_accuracy_gpu(net, test_iter)
        history.append((train_l, train_acc, test_acc))
        print(f'loss {train_l:.3f}, train acc {train_acc:.3f}, '
              f'test acc {test_acc:.3f}')
    return history


# -- 8.5 batch normalization from scratch -------------------------------------------------------
def batch_norm(X, gamma, beta, moving_mean, moving_var, eps, momentum):
    # is_grad_enabled tells training from prediction
    if not torch.is_grad_enabled():
        # in prediction, normalise with the moving mean and variance
        X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
    else:
        assert len(X.shape) in (2, 4)
        if len(X.shape) == 2:
            # a fully connected layer: mean and variance over the features
            mean = X.mean(dim=0)
            var = ((X - mean) ** 2).mean(dim=0)
        else:
            # a 2-d convolution: mean and variance per channel (axis=1), keeping X's shape
            # so that broadcasting works later
            mean = X.mean(dim=(0, 2, 3), keepdim=True)
            var = ((X - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
        # in training, normalise with the batch's mean and variance
        X_hat = (X - mean) / torch.sqrt(var + eps)
        # update the moving mean and variance
        moving_mean = momentum * moving_mean + (1.0 - momentum) * mean
        moving_var = momentum * moving_var + (1.0 - momentum) * var
    Y = gamma * X_hat + beta  # scale and shift
    return Y, moving_mean.data, moving_var.data


class BatchNorm(nn.Module):
    # num_features: outputs of a fully connected layer or output channels of a convolution
    # num_dims: 2 for a fully connected layer, 4 for a convolution
    def __init__(self, num_features, num_dims):
        super().__init__()
        if num_dims == 2:
            shape = (1, num_features)
        else:
            shape = (1, num_features, 1, 1)
        # the scale and shift parameters, learnt, start at 1 and 0
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        # variables that are not parameters start at 0 and 1
        self.moving_mean = torch.zeros(shape)
        self.moving_var = torch.ones(shape)

    def forward(self, X):
        # if X is not in memory, copy moving_mean and moving_var to X's device
        if self.moving_mean.device != X.device:
            self.moving_mean = self.moving_mean.to(X.device)
            self.moving_var = self.moving_var.to(X.device)
        # keep the updated moving_mean and moving_var
        Y, self.moving_mean, self.moving_var = batch_norm(
            X, self.gamma, self.beta, self.moving_mean,
            self.moving_var, eps=1e-5, momentum=0.9)
        return Y


def batch_norm_lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), BatchNorm(6, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=3, padding=1), BatchNorm(16, num_dims=4), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2), nn.Flatten(),
        nn.Linear(16 * 2 * 2, 120), BatchNorm(120, num_dims=2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, num_dims=2), nn.Sigmoid(),
        nn.Linear(84, 10))


def main():
    torch.manual_seed(0)
    batch_size = 32
    train_iter, test_iter = load_data_digits(batch_size=batch_size)
    net = lenet()
    shapes = print_shapes(net)
    lr, num_epochs = 0.9, 5
    history = train_ch6(net, train_iter, test_iter, num_epochs, lr, try_gpu())
    bn_net = batch_norm_lenet()
    bn_history = train_ch6(bn_net, train_iter, test_iter, 5, 1.0, try_gpu(), init=False)
    print(bn_net[1].gamma.reshape((-1,)), bn_net[1].beta.reshape((-1,)))
    return {"shapes": shapes, "lenet": history, "batch_norm": bn_history,
            "moving_mean": [float(v) for v in bn_net[1].moving_mean.reshape(-1)]}


if __name__ == "__main__":
    main()
