"""Dive into Deep Learning (d2l.ai, PyTorch), 3.2 and 3.3: linear regression from scratch and
concise.

As a student copies them, without the d2l library: synthetic_data, data_iter, linreg,
squared_loss and sgd written out; then nn.Sequential(nn.Linear(2, 1)) with its weights set
through .data, nn.MSELoss, optim.SGD and a DataLoader over a TensorDataset. Changes beside
the imports: the training loops are functions that return their losses, and the concise
loader's shuffle can be turned off (for a test that feeds both frameworks the same batches).
"""

import random

import torch
from torch import nn
from torch.utils import data


def synthetic_data(w, b, num_examples):
    """Generate y = Xw + b + noise."""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    # the examples are read at random, in no particular order
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(
            indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    """The linear regression model."""
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    """Squared loss."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def train_scratch(w, b, features, labels, lr=0.03, num_epochs=3, batch_size=10):
    net = linreg
    loss = squared_loss
    losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter(batch_size, features, labels):
            l = loss(net(X, w, b), y)  # minibatch loss of X and y
            # l has shape (batch_size, 1), not a scalar: sum it, then take gradients of [w, b]
            l.sum().backward()
            sgd([w, b], lr, batch_size)  # update the parameters by their gradients
        with torch.no_grad():
            train_l = loss(net(features, w, b), labels)
            print(f'epoch {epoch + 1}, loss {float(train_l.mean()):f}')
            losses.append(float(train_l.mean()))
    return losses


def load_array(data_arrays, batch_size, is_train=True):
    """Build a PyTorch data iterator."""
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def concise_net():
    net = nn.Sequential(nn.Linear(2, 1))
    net[0].weight.data.normal_(0, 0.01)
    net[0].bias.data.fill_(0)
    return net


def train_concise(net, features, labels, num_epochs=3, batch_size=10, shuffle=True):
    data_iter = load_array((features, labels), batch_size, is_train=shuffle)
    loss = nn.MSELoss()
    trainer = torch.optim.SGD(net.parameters(), lr=0.03)
    losses = []
    for epoch in range(num_epochs):
        for X, y in data_iter:
            l = loss(net(X), y)
            trainer.zero_grad()
            l.backward()
            trainer.step()
        l = loss(net(features), labels)
        print(f'epoch {epoch + 1}, loss {l:f}')
        losses.append(float(l))
    return losses


def main():
    random.seed(0)
    torch.manual_seed(0)
    true_w = torch.tensor([2, -3.4])
    true_b = 4.2
    features, labels = synthetic_data(true_w, true_b, 1000)
    print('features:', features[0], '\nlabel:', labels[0])

    w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    scratch = train_scratch(w, b, features, labels)
    print(f'error in estimating w: {true_w - w.reshape(true_w.shape)}')
    print(f'error in estimating b: {true_b - b}')

    net = concise_net()
    concise = train_concise(net, features, labels)
    w = net[0].weight.data
    print('error in estimating w:', true_w - w.reshape(true_w.shape))
    b = net[0].bias.data
    print('error in estimating b:', true_b - b)
    return {"scratch": scratch, "concise": concise,
            "w": [float(v) for v in w.reshape(-1)], "b": float(b[0])}


if __name__ == "__main__":
    main()
