"""PyTorch's "Tensors" tutorial (Learn the Basics), as a student copies it.

Every cell of the tutorial in order: tensors from data, from numpy and from other tensors
(ones_like, rand_like(dtype=)), shape tuples, attributes (shape, dtype, device), indexing
and slicing with `tensor[:, 1] = 0`, torch.cat(dim=1), the three ways to multiply matrices
(`@`, .matmul, torch.matmul(out=)) and elements (`*`, .mul, torch.mul(out=)), a one-element
tensor's .item(), in-place add_, and the bridge with numpy both ways. main() returns what
the tutorial prints, as values.
"""

import numpy as np
import torch


def main():
    torch.manual_seed(0)
    seen = {}
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    seen["x_np"] = x_np.tolist()

    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    print(f"Ones Tensor: \n {x_ones} \n")
    x_rand = torch.rand_like(x_data, dtype=torch.float)  # overrides the datatype of x_data
    print(f"Random Tensor: \n {x_rand} \n")
    seen["x_ones"] = (x_ones.tolist(), str(x_ones.dtype))
    seen["x_rand"] = (tuple(x_rand.shape), str(x_rand.dtype))

    shape = (2, 3,)
    rand_tensor = torch.rand(shape)
    ones_tensor = torch.ones(shape)
    zeros_tensor = torch.zeros(shape)
    print(f"Random Tensor: \n {rand_tensor} \n")
    print(f"Ones Tensor: \n {ones_tensor} \n")
    print(f"Zeros Tensor: \n {zeros_tensor}")
    seen["shapes"] = [tuple(t.shape) for t in (rand_tensor, ones_tensor, zeros_tensor)]

    tensor = torch.rand(3, 4)
    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")
    seen["attributes"] = (tuple(tensor.shape), str(tensor.dtype), str(tensor.device))

    if torch.accelerator.is_available():
        tensor = tensor.to(torch.accelerator.current_accelerator())

    tensor = torch.ones(4, 4)
    print(f"First row: {tensor[0]}")
    print(f"First column: {tensor[:, 0]}")
    print(f"Last column: {tensor[..., -1]}")
    tensor[:, 1] = 0
    print(tensor)
    seen["indexed"] = tensor.tolist()

    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)
    seen["cat"] = t1.tolist()

    # This computes the matrix multiplication between two tensors. y1, y2, y3 will have the
    # same value. ``tensor.T`` returns the transpose of a tensor
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    seen["matmul"] = [y.tolist() for y in (y1, y2, y3)]

    # This computes the element-wise product. z1, z2, z3 will have the same value
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    seen["mul"] = [z.tolist() for z in (z1, z2, z3)]

    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))
    seen["item"] = (agg_item, type(agg_item).__name__)

    print(f"{tensor} \n")
    tensor.add_(5)
    print(tensor)
    seen["add_"] = tensor.tolist()

    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")
    seen["numpy"] = (n.tolist(), str(n.dtype))

    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")
    seen["from_numpy"] = (t.tolist(), str(t.dtype))
    return seen


if __name__ == "__main__":
    main()
