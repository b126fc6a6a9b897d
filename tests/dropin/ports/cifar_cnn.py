"""A small CIFAR-style CNN trained with SGD and momentum, then tested, saved and loaded.

A port of the PyTorch tutorial "Training a Classifier" (pytorch/tutorials
beginner_source/blitz/cifar10_tutorial.py): the same Net (conv 3->6->16 with 5x5 kernels,
max-pooling, three Linear layers), CrossEntropyLoss, SGD(lr=0.001, momentum=0.9), the
accuracy loop with torch.max(outputs, 1), and torch.save / load_state_dict. Data: random
32x32 colour images whose class shifts their channel means (nothing is downloaded), fed by
a small batching function instead of torchvision's DataLoader. Only the imports change.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

classes = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
PATH = "./cifar_net.pth"


def make_data(n, seed):
    """n random images, (n, 3, 32, 32) float32, with a class-dependent colour shift."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    shifts = np.random.default_rng(99).normal(0, 1.0, (10, 3, 1, 1))
    images = rng.normal(0, 1, (n, 3, 32, 32)) + shifts[labels]
    return images.astype(np.float32), labels.astype(np.int64)


def batches(images, labels, batch_size, seed):
    order = np.random.default_rng(seed).permutation(len(labels))
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        yield torch.from_numpy(images[index]), torch.from_numpy(labels[index])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def train(net, images, labels, epochs=2, batch_size=8):
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    losses = []
    for epoch in range(epochs):  # loop over the dataset multiple times
        running_loss = 0.0
        for i, data in enumerate(batches(images, labels, batch_size, seed=epoch), 0):
            inputs, targets = data
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            running_loss += loss.item()
            if i % 20 == 19:
                print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 20:.3f}")
                running_loss = 0.0
    return losses


def test(net, images, labels):
    correct = 0
    total = 0
    with torch.no_grad():
        for data in batches(images, labels, 50, seed=0):
            inputs, targets = data
            outputs = net(inputs)
            _, predicted = torch.max(outputs, 1)
            total += targets.size(0)
            correct += (predicted == targets).sum().item()
    print(f"Accuracy of the network on the {total} test images: {100 * correct // total} %")
    return correct / total


def main(path=PATH):
    torch.manual_seed(0)
    net = Net()
    train_images, train_labels = make_data(1200, seed=1)
    test_images, test_labels = make_data(200, seed=2)
    losses = train(net, train_images, train_labels)
    torch.save(net.state_dict(), path)
    net = Net()
    net.load_state_dict(torch.load(path, weights_only=True))
    return {"train": losses, "accuracy": test(net, test_images, test_labels)}


if __name__ == "__main__":
    main()
