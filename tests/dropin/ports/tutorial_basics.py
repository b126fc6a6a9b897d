"""PyTorch's "Learn the Basics" tutorials, as a student copies them into one script.

Datasets & DataLoaders (a custom Dataset with __len__/__getitem__, transforms as lambdas,
DataLoader(batch_size, shuffle=True), next(iter(loader))), Build the Neural Network
(nn.Flatten, nn.Sequential, nn.Softmax(dim=1), print(model), named_parameters()),
Optimizing Model Parameters (train_loop and test_loop as the tutorial writes them) and
Save and Load the Model (state_dict, torch.load(weights_only=True), eval()), and the
Quickstart's last cell (one prediction). Changes beside the imports: the 8x8 digits that
ship with stepgrad instead of FashionMNIST (nothing is downloaded), so 8*8 inputs instead
of 28*28, smaller layers, and lr 1e-1 for the few epochs a test runs.
"""

from importlib import resources

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

learning_rate = 1e-1  # the tutorial says 1e-3: too slow for the few epochs a test runs
batch_size = 64
epochs = 5


def load_digits():
    path = resources.files("stepgrad.lessons.data").joinpath("digits.npz")
    with resources.as_file(path) as file, np.load(file) as archive:
        return archive["images"], archive["labels"].astype(np.int64)


class CustomImageDataset(Dataset):
    def __init__(self, images, labels, transform=None, target_transform=None):
        self.img_labels = labels
        self.images = images
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.img_labels)

    def __getitem__(self, idx):
        image = self.images[idx]
        label = self.img_labels[idx]
        if self.transform:
            image = self.transform(image)
        if self.target_transform:
            label = self.target_transform(label)
        return image, label


# ToTensor() as a lambda: uint8 pixels (0..16 here) to a float tensor in [0, 1], channel first
to_tensor = lambda img: torch.tensor(img, dtype=torch.float32).unsqueeze(0) / 16  # noqa: E731
one_hot = lambda y: torch.zeros(10, dtype=torch.float).scatter_(  # noqa: E731
    0, torch.tensor(y), value=1)


def make_datasets(images, labels):
    training_data = CustomImageDataset(images[:1400], labels[:1400], transform=to_tensor)
    test_data = CustomImageDataset(images[1400:], labels[1400:], transform=to_tensor)
    return training_data, test_data


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(8*8, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def train_loop(dataloader, model, loss_fn, optimizer, losses=None):
    size = len(dataloader.dataset)
    # Set the model to training mode - important for batch normalization and dropout layers
    # Unnecessary in this situation but added for best practices
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        # Compute prediction and loss
        pred = model(X)
        loss = loss_fn(pred, y)

        # Backpropagation
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

        if losses is not None:
            losses.append(loss.item())
        if batch % 10 == 0:
            loss, current = loss.item(), batch * batch_size + len(X)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")


def test_loop(dataloader, model, loss_fn):
    # Set the model to evaluation mode - important for batch normalization and dropout layers
    # Unnecessary in this situation but added for best practices
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0

    # Evaluating the model with torch.no_grad() ensures that no gradients are computed during
    # test mode; also serves to reduce unnecessary gradient computations and memory usage
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()

    test_loss /= num_batches
    correct /= size
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return test_loss, correct


def look_at_the_data(training_data, train_dataloader):
    """The Datasets & DataLoaders tutorial's look at one sample and one batch."""
    sample_idx = torch.randint(len(training_data), size=(1,)).item()
    img, label = training_data[sample_idx]
    train_features, train_labels = next(iter(train_dataloader))
    print(f"Feature batch shape: {train_features.size()}")
    print(f"Labels batch shape: {train_labels.size()}")
    img = train_features[0].squeeze()
    label = train_labels[0]
    print(f"Label: {label}")
    return {"sample": (tuple(training_data[sample_idx][0].shape), int(label)),
            "features": tuple(train_features.size()), "labels": tuple(train_labels.size()),
            "img": tuple(img.shape), "one_hot": one_hot(int(label)).tolist()}


def build_the_network(model):
    """The Build the Neural Network tutorial's walk through the layers."""
    device = (torch.accelerator.current_accelerator().type
              if torch.accelerator.is_available() else "cpu")
    print(f"Using {device} device")
    model = model.to(device)
    print(model)
    X = torch.rand(1, 8, 8, device=device)
    logits = model(X)
    pred_probab = nn.Softmax(dim=1)(logits)
    y_pred = pred_probab.argmax(1)
    print(f"Predicted class: {y_pred}")

    input_image = torch.rand(3, 8, 8)
    print(input_image.size())
    flatten = nn.Flatten()
    flat_image = flatten(input_image)
    print(flat_image.size())
    layer1 = nn.Linear(in_features=8*8, out_features=20)
    hidden1 = layer1(flat_image)
    print(hidden1.size())
    print(f"Before ReLU: {hidden1}\n\n")
    hidden1 = nn.ReLU()(hidden1)
    print(f"After ReLU: {hidden1}")
    seq_modules = nn.Sequential(
        flatten,
        layer1,
        nn.ReLU(),
        nn.Linear(20, 10)
    )
    input_image = torch.rand(3, 8, 8)
    logits = seq_modules(input_image)
    softmax = nn.Softmax(dim=1)
    pred_probab = softmax(logits)
    print(f"Model structure: {model}\n\n")
    for name, param in model.named_parameters():
        print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2]} \n")
    return {"printed": str(model), "y_pred": y_pred.shape, "sums": pred_probab.sum(1).tolist(),
            "names": [(name, tuple(p.size())) for name, p in model.named_parameters()]}


def fit(model, train_dataloader, test_dataloader, epochs=epochs):
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    losses, tests = [], []
    for t in range(epochs):
        print(f"Epoch {t+1}\n-------------------------------")
        train_loop(train_dataloader, model, loss_fn, optimizer, losses)
        tests.append(test_loop(test_dataloader, model, loss_fn))
    print("Done!")
    return losses, tests


def save_and_load(model, path, test_dataloader):
    """The Save and Load the Model tutorial, with this script's model instead of VGG16."""
    torch.save(model.state_dict(), path)
    model = NeuralNetwork()  # we do not specify ``weights``, i.e. create untrained model
    model.load_state_dict(torch.load(path, weights_only=True))
    model.eval()
    return test_loop(test_dataloader, model, nn.CrossEntropyLoss())


classes = [str(digit) for digit in range(10)]


def predict(model, test_data):
    """The Quickstart's last cell: one test image's predicted and actual class."""
    model.eval()
    x, y = test_data[0][0], test_data[0][1]
    with torch.no_grad():
        pred = model(x)
        predicted, actual = classes[pred[0].argmax(0)], classes[y]
        print(f'Predicted: "{predicted}", Actual: "{actual}"')
    return predicted, actual


def main(path="model_weights.pth"):
    torch.manual_seed(0)
    training_data, test_data = make_datasets(*load_digits())
    train_dataloader = DataLoader(training_data, batch_size=64, shuffle=True)
    test_dataloader = DataLoader(test_data, batch_size=64, shuffle=True)
    seen = look_at_the_data(training_data, train_dataloader)
    model = NeuralNetwork()
    built = build_the_network(model)
    losses, tests = fit(model, train_dataloader, test_dataloader)
    reloaded = save_and_load(model, path, test_dataloader)
    return {"seen": seen, "built": built, "train": losses, "test": tests,
            "reloaded": reloaded, "predicted": predict(model, test_data)}


if __name__ == "__main__":
    main()
