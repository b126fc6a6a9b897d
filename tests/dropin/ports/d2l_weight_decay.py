"""Dive into Deep Learning (d2l.ai, PyTorch), 4.5: weight decay from scratch and concise.

As a student copies it, without the d2l library: the high-dimensional synthetic regression
(20 training examples, 200 inputs), an L2 penalty torch.sum(w.pow(2)) / 2 added to the loss
and hand-written SGD; then optim.SGD with per-parameter-group weight decay (the weight decays,
the bias does not). synthetic_data, load_array, linreg, squared_loss, sgd, Accumulator and
evaluate_loss are copied in. Changes beside the imports: train returns the losses and the
norm of w instead of plotting them, and takes its data as arguments.
"""

import torch
from torch import nn
from torch.utils import data

n_train, n_test, num_inputs, batch_size = 20, 100, 200, 5
num_epochs, lr = 100, 0.003


def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def load_array(data_arrays, batch_size, is_train=True):
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


class Accumulator:
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def __getitem__(self, idx):
        return self.data[idx]


def evaluate_loss(net, data_iter, loss):
    """The loss of a model on a data set."""
    metric = Accumulator(2)  # sum of losses, number of losses
    for X, y in data_iter:
        out = net(X)
        y = y.reshape(out.shape)
        l = loss(out, y)
        metric.add(l.sum(), l.numel())
    return metric[0] / metric[1]


def make_data(shuffle=True):
    true_w, true_b = torch.ones((num_inputs, 1)) * 0.01, 0.05
    train_data = synthetic_data(true_w, true_b, n_train)
    train_iter = load_array(train_data, batch_size, is_train=shuffle)
    test_data = synthetic_data(true_w, true_b, n_test)
    test_iter = load_array(test_data, batch_size, is_train=False)
    return train_iter, test_iter


def init_params():
    w = torch.normal(0, 1, size=(num_inputs, 1), requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    return [w, b]


def l2_penalty(w):
    return torch.sum(w.pow(2)) / 2


def train(lambd, train_iter, test_iter):
    w, b = init_params()
    net, loss = lambda X: linreg(X, w, b), squared_loss
    history = []
    for epoch in range(num_epochs):
        for X, y in train_iter:
            # the L2 penalty is added to the loss
            l = loss(net(X), y) + lambd * l2_penalty(w)
            l.sum().backward()
            sgd([w, b], lr, batch_size)
        if (epoch + 1) % 5 == 0:
            history.append((evaluate_loss(net, train_iter, loss),
                            evaluate_loss(net, test_iter, loss)))
    print('L2 norm of w:', torch.norm(w).item())
    return history, torch.norm(w).item()


def concise_net():
    net = nn.Sequential(nn.Linear(num_inputs, 1))
    for param in net.parameters():
        param.data.normal_()
    return net


def train_concise(wd, train_iter, test_iter, net=None):
    if net is None:
        net = concise_net()
    loss = nn.MSELoss(reduction='none')
    # the bias does not decay
    trainer = torch.optim.SGD([
        {"params": net[0].weight, 'weight_decay': wd},
        {"params": net[0].bias}], lr=lr)
    history = []
    for epoch in range(num_epochs):
        for X, y in train_iter:
            trainer.zero_grad()
            l = loss(net(X), y)
            l.mean().backward()
            trainer.step()
        if (epoch + 1) % 5 == 0:
            history.append((evaluate_loss(net, train_iter, loss),
                            evaluate_loss(net, test_iter, loss)))
    print('L2 norm of w:', net[0].weight.norm().item())
    return history, net[0].weight.norm().item()


def main():
    torch.manual_seed(0)
    train_iter, test_iter = make_data()
    return {"scratch": {lambd: train(lambd, train_iter, test_iter) for lambd in (0, 3)},
            "concise": {wd: train_concise(wd, train_iter, test_iter) for wd in (0, 3)}}


if __name__ == "__main__":
    main()
