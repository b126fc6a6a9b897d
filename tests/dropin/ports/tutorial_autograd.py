"""PyTorch's "Automatic Differentiation with torch.autograd" tutorial, as a student copies it.

The one-layer network (x, w, b, z = matmul(x, w) + b, binary_cross_entropy_with_logits),
printing grad_fn, loss.backward() and w.grad/b.grad, torch.no_grad() and detach() to stop
tracking, and the optional reading on Jacobian products: inp = torch.eye(4, 5,
requires_grad=True), out = (inp+1).pow(2).t(), out.backward(torch.ones_like(out),
retain_graph=True) twice (the gradients add up) and again after inp.grad.zero_().
main() returns the values the tutorial prints.
"""

import torch


def one_layer(x, w, b, y):
    z = torch.matmul(x, w)+b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    return z, loss


def main(w=None, b=None):
    seen = {}
    x = torch.ones(5)  # input tensor
    y = torch.zeros(3)  # expected output
    if w is None:
        w = torch.randn(5, 3, requires_grad=True)
        b = torch.randn(3, requires_grad=True)
    z, loss = one_layer(x, w, b, y)

    print(f"Gradient function for z = {z.grad_fn}")
    print(f"Gradient function for loss = {loss.grad_fn}")
    seen["grad_fn"] = (z.grad_fn is not None, loss.grad_fn is not None)

    loss.backward()
    print(w.grad)
    print(b.grad)
    seen["loss"] = loss.item()
    seen["grads"] = (w.grad.tolist(), b.grad.tolist())

    z = torch.matmul(x, w)+b
    print(z.requires_grad)
    seen["tracked"] = z.requires_grad

    with torch.no_grad():
        z = torch.matmul(x, w)+b
    print(z.requires_grad)
    seen["no_grad"] = (z.requires_grad, z.grad_fn)

    z = torch.matmul(x, w)+b
    z_det = z.detach()
    print(z_det.requires_grad)
    seen["detach"] = (z_det.requires_grad, z_det.grad_fn)

    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp+1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"First call\n{inp.grad}")
    first = inp.grad.tolist()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nSecond call\n{inp.grad}")
    second = inp.grad.tolist()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nCall after zeroing gradients\n{inp.grad}")
    seen["jacobian"] = (first, second, inp.grad.tolist())

    a = torch.randn(2, 2)
    a = ((a * 3) / (a - 1))
    a.requires_grad_(True)
    c = (a * a).sum()
    seen["requires_grad_"] = (a.requires_grad, c.grad_fn is not None)
    return seen


if __name__ == "__main__":
    main()
