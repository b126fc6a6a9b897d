"""The MNIST example: a CNN, its train and test loops, Adadelta and a StepLR schedule.

A port of pytorch/examples mnist/main.py: the same Net shape (two 3x3 convs, max-pool,
dropout, two Linear layers, log_softmax), train() with F.nll_loss and its log lines,
test() with reduction="sum", argmax(dim=1, keepdim=True) and pred.eq(target.view_as(pred)),
Adadelta(lr=1.0) and StepLR(step_size=1, gamma=0.7). Changes beside the imports: smaller
channels (8, 16, 32 hidden) for a CPU test, and the data: the 8x8 digits that ship with
stepgrad, upsampled to 28x28 (nothing is downloaded), batched by a small function instead
of torchvision's DataLoader.
"""

import argparse
from importlib import resources

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR


def load_digits():
    """(images (n, 1, 28, 28) float32 normalised like MNIST, labels (n,) int64)."""
    path = resources.files("stepgrad.lessons.data").joinpath("digits.npz")
    with resources.as_file(path) as file, np.load(file) as archive:
        images, labels = archive["images"] / 16.0, archive["labels"].astype(np.int64)
    images = np.pad(images.repeat(3, axis=1).repeat(3, axis=2), ((0, 0), (2, 2), (2, 2)))
    images = (images - 0.1307) / 0.3081
    return images[:, None].astype(np.float32), labels


class Loader:
    """What the example's DataLoader gives: (data, target) batches and a .dataset length."""

    def __init__(self, images, labels, batch_size, shuffle, seed=0):
        self.images, self.labels, self.dataset = images, labels, labels
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, np.random.default_rng(seed)

    def __len__(self):
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        order = self.rng.permutation(len(self.labels)) if self.shuffle else range(len(self.labels))
        order = np.asarray(order)
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            yield torch.tensor(self.images[index]), torch.tensor(self.labels[index])


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 (the example's spelling)
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(2304, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch, losses):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if batch_idx % args.log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(  # noqa: UP032
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()  # sum up batch loss
            pred = output.argmax(dim=1, keepdim=True)  # index of the max log-probability
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(  # noqa: UP032
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return test_loss, correct / len(test_loader.dataset)


def parse_args(argv=()):
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--test-batch-size", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1.0)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=10)
    parser.add_argument("--train-size", type=int, default=640)
    return parser.parse_args(list(argv))


def main(argv=()):
    args = parse_args(argv)
    use_accel = torch.cuda.is_available()
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if use_accel else "cpu")
    images, labels = load_digits()
    n = args.train_size
    train_loader = Loader(images[:n], labels[:n], args.batch_size, shuffle=True, seed=args.seed)
    test_loader = Loader(images[1400:], labels[1400:], args.test_batch_size, shuffle=False)
    model = Net().to(device)
    optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    losses, tests, lrs = [], [], []
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch, losses)
        tests.append(test(model, device, test_loader))
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return {"train": losses, "test": tests, "lr": lrs}


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
