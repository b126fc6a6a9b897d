"""PyTorch's "Deep Learning with PyTorch: A 60 Minute Blitz", its autograd and neural network
parts, as a student copies them.

A Gentle Introduction to torch.autograd: Q = 3*a**3 - b**2, Q.backward(gradient=
external_grad), checking 9*a**2 == a.grad, requires_grad flowing through an op, and
freezing a model for finetuning (param.requires_grad = False, a new classifier head, an
optimizer over all parameters). Neural Networks: the LeNet-shaped Net on a 1x32x32 input,
net.parameters(), net.zero_grad(); out.backward(torch.randn(1, 10)), nn.MSELoss,
following loss.grad_fn through next_functions, net.conv1.bias.grad before and after
backward, the update written by hand (f.data.sub_(f.grad.data * learning_rate)) and then
with optim.SGD. (The blitz finetunes torchvision's resnet18; here a small model stands in.)
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


def autograd_intro():
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3*a**3 - b**2
    external_grad = torch.tensor([1., 1.])
    Q.backward(gradient=external_grad)
    # check if collected gradients are correct
    print(9*a**2 == a.grad)
    print(-2*b == b.grad)

    x = torch.rand(5, 5)
    y = torch.rand(5, 5)
    z = torch.rand((5, 5), requires_grad=True)
    a_ = x + y
    print(f"Does `a` require gradients?: {a_.requires_grad}")
    b_ = x + z
    print(f"Does `b` require gradients?: {b_.requires_grad}")
    return {"a": (9*a**2 == a.grad).tolist(), "b": (-2*b == b.grad).tolist(),
            "flags": (a_.requires_grad, b_.requires_grad)}


class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()  # noqa: UP008 (the tutorial's spelling)
        # 1 input image channel, 6 output channels, 5x5 square convolution
        # kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        # Convolution layer C1: 1 input image channel, 6 output channels,
        # 5x5 square convolution, it uses RELU activation function, and
        # outputs a Tensor with size (N, 6, 28, 28), where N is the size of the batch
        c1 = F.relu(self.conv1(input))
        # Subsampling layer S2: 2x2 grid, purely functional,
        # this layer does not have any parameter, and outputs a (N, 6, 14, 14) Tensor
        s2 = F.max_pool2d(c1, (2, 2))
        # Convolution layer C3: 6 input channels, 16 output channels,
        # 5x5 square convolution, it uses RELU activation function, and
        # outputs a (N, 16, 10, 10) Tensor
        c3 = F.relu(self.conv2(s2))
        # Subsampling layer S4: 2x2 grid, purely functional,
        # this layer does not have any parameter, and outputs a (N, 16, 5, 5) Tensor
        s4 = F.max_pool2d(c3, 2)
        # Flatten operation: purely functional, outputs a (N, 400) Tensor
        s4 = torch.flatten(s4, 1)
        # Fully connected layer F5: (N, 400) Tensor input,
        # and outputs a (N, 120) Tensor, it uses RELU activation function
        f5 = F.relu(self.fc1(s4))
        # Fully connected layer F6: (N, 120) Tensor input,
        # and outputs a (N, 84) Tensor, it uses RELU activation function
        f6 = F.relu(self.fc2(f5))
        # Gaussian layer OUTPUT: (N, 84) Tensor input, and
        # outputs a (N, 10) Tensor
        output = self.fc3(f6)
        return output


def neural_networks(net, input, target, steps=5):
    print(net)
    params = list(net.parameters())
    print(len(params))
    print(params[0].size())  # conv1's .weight

    out = net(input)
    print(out)
    net.zero_grad()
    out.backward(torch.randn(1, 10))

    output = net(input)
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()

    loss = criterion(output, target)
    print(loss)
    print(loss.grad_fn)  # MSELoss
    print(loss.grad_fn.next_functions[0][0])  # Linear
    print(loss.grad_fn.next_functions[0][0].next_functions[0][0])  # ReLU

    net.zero_grad()     # zeroes the gradient buffers of all parameters
    print('conv1.bias.grad before backward')
    print(net.conv1.bias.grad)
    loss.backward()
    print('conv1.bias.grad after backward')
    print(net.conv1.bias.grad)
    seen = {"params": len(params), "first": tuple(params[0].size()),
            "bias_grad": net.conv1.bias.grad.tolist()}

    losses = [loss.item()]
    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    losses.append(criterion(net(input), target).item())

    # create your optimizer
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    for _ in range(steps):
        # in your training loop:
        optimizer.zero_grad()   # zero the gradient buffers
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()    # Does the update
        losses.append(loss.item())
    seen["losses"] = losses
    return seen


def finetune(model, x, y, steps=5):
    """The blitz's "Exclusion from the DAG": freeze the model, replace its last layer."""
    # Freeze all the parameters in the network
    for param in model.parameters():
        param.requires_grad = False
    model.fc = nn.Linear(84, 10)
    # Optimize only the classifier
    optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    frozen = model.conv1.weight.detach().clone()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        out = model.fc(F.relu(model.fc2(F.relu(model.fc1(x)))))
        loss = F.cross_entropy(out, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, bool((model.conv1.weight == frozen).all()), model.fc1.weight.grad is None


def main():
    torch.manual_seed(0)
    seen = {"autograd": autograd_intro()}
    net = Net()
    input = torch.randn(1, 1, 32, 32)
    target = torch.randn(10)  # a dummy target, for example
    seen["nn"] = neural_networks(net, input, target)
    seen["finetune"] = finetune(net, torch.randn(8, 400), torch.randint(0, 10, (8,)))
    return seen


if __name__ == "__main__":
    main()
