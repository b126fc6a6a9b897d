"""Dive into Deep Learning (d2l.ai, PyTorch), 3.6 and 3.7: softmax regression from scratch and
concise.

As a student copies them, without the d2l library: softmax, cross_entropy by fancy indexing,
accuracy, evaluate_accuracy, an Accumulator, train_epoch_ch3 and train_ch3 written out; then
nn.Sequential(nn.Flatten(), nn.Linear(...)) initialised through net.apply(init_weights) and
trained with nn.CrossEntropyLoss(reduction='none') and optim.SGD. Changes beside the imports:
the data are the 8x8 digits that ship with stepgrad instead of Fashion-MNIST (64 inputs, not
784), loaded into a DataLoader whose shuffle can be turned off for a test; train_ch3 returns
its metrics instead of plotting them.
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


num_inputs = 64
num_outputs = 10

W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
b = torch.zeros(num_outputs, requires_grad=True)


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition  # broadcasting is applied here


def net(X):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)


def cross_entropy(y_hat, y):
    return - torch.log(y_hat[range(len(y_hat)), y])


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

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def evaluate_accuracy(net, data_iter):
    """The accuracy of a model on a data set."""
    if isinstance(net, torch.nn.Module):
        net.eval()  # evaluation mode
    metric = Accumulator(2)  # correct predictions, predictions
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    """Train a model for one epoch (chapter 3)."""
    # training mode
    if isinstance(net, torch.nn.Module):
        net.train()
    # sum of training loss, sum of training accuracy, number of examples
    metric = Accumulator(3)
    for X, y in train_iter:
        # compute gradients and update parameters
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            # PyTorch's built-in optimizer and loss
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            # a hand-written optimizer and loss
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    # training loss and training accuracy
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    """Train a model (chapter 3)."""
    history = []
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        history.append(train_metrics + (test_acc,))
        print(f'epoch {epoch + 1}, loss {train_metrics[0]:.3f}, '
              f'train acc {train_metrics[1]:.3f}, test acc {test_acc:.3f}')
    train_loss, train_acc = train_metrics
    assert train_loss < 0.5, train_loss
    assert train_acc <= 1 and train_acc > 0.7, train_acc
    assert test_acc <= 1 and test_acc > 0.7, test_acc
    return history


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


lr = 0.1


def updater(batch_size):
    return sgd([W, b], lr, batch_size)


def predict_ch3(net, test_iter, n=6):
    """Predict labels."""
    for X, y in test_iter:  # noqa: B007
        break
    trues = [int(label) for label in y]
    preds = [int(label) for label in net(X).argmax(axis=1)]
    titles = [str(true) + '\n' + str(pred) for true, pred in zip(trues, preds)]
    print(titles[0:n])
    return trues[0:n], preds[0:n]


# -- concise ------------------------------------------------------------------------------------
def init_weights(m):
    if type(m) == nn.Linear:  # noqa: E721 (the book's spelling)
        nn.init.normal_(m.weight, std=0.01)


def concise_net():
    # PyTorch does not reshape the inputs implicitly: a flatten layer in front of the linear one
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    net.apply(init_weights)
    return net


def train_concise(net, train_iter, test_iter, num_epochs=10):
    loss = nn.CrossEntropyLoss(reduction='none')
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    return train_ch3(net, train_iter, test_iter, loss, num_epochs, trainer)


def main():
    torch.manual_seed(0)
    batch_size = 16
    train_iter, test_iter = load_data_digits(batch_size)
    X = torch.normal(0, 1, (2, 5))
    X_prob = softmax(X)
    print(X_prob, X_prob.sum(1))
    y = torch.tensor([0, 2])
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
    print(y_hat[[0, 1], y], cross_entropy(y_hat, y), accuracy(y_hat, y) / len(y))
    print(evaluate_accuracy(net, test_iter))
    scratch = train_ch3(net, train_iter, test_iter, cross_entropy, 10, updater)
    predicted = predict_ch3(net, test_iter)
    concise = train_concise(concise_net(), train_iter, test_iter)
    return {"scratch": scratch, "concise": concise, "predicted": predicted}


if __name__ == "__main__":
    main()
