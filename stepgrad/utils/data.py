"""Datasets and batches with PyTorch's names: `Dataset`, `TensorDataset`, `DataLoader`,
`random_split`.

    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
    for xb, yb in loader:          # tensors of up to 64 rows, a new order every epoch
        ...

A DataLoader here runs in the calling thread (no worker processes: `num_workers` is
accepted and ignored) and draws its shuffles from stepgrad's generator, or `generator=`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from stepgrad.random import numpy_generator
from stepgrad.tensor import Tensor


class Dataset:
    """Subclass and define `__len__` and `__getitem__(i)` (one example)."""

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Example i is (t[i] for each tensor): the tensors must have the same first length."""

    def __init__(self, *tensors: Any) -> None:
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = {len(t.data) for t in self.tensors}
        if len(sizes) > 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors, first sizes "
                             f"{[len(t.data) for t in self.tensors]}")

    def __len__(self) -> int:
        return len(self.tensors[0].data)

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(Tensor(t.data[index]) for t in self.tensors)


class Subset(Dataset):
    """The examples of `dataset` at `indices`."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]


def random_split(dataset: Any, lengths: Sequence[Any], generator: Any = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths (or fractions)."""
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-9:
        counts = [int(n * x) for x in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError("random_split: the lengths do not add up to the dataset's length")
    order = numpy_generator(generator).permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b].tolist()) for a, b in zip(bounds[:-1], bounds[1:])]


def default_collate(examples: list[Any]) -> Any:
    """Stack a batch of examples: tuples position by position, numbers and arrays as
    tensors with a new first axis."""
    first = examples[0]
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(column)) for column in zip(*examples))
    if isinstance(first, dict):
        return {key: default_collate([e[key] for e in examples]) for key in first}
    return Tensor(np.stack([np.asarray(e) for e in examples]))


class DataLoader:
    """Batches of a dataset, in order or shuffled anew at each pass (`for xb, yb in loader`)."""

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool = False,
                 drop_last: bool = False, generator: Any = None, collate_fn: Any = None,
                 num_workers: int = 0, **_: Any) -> None:
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.drop_last, self.generator = drop_last, generator
        self.collate_fn = collate_fn or default_collate

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.dataset)
        whole, rest = divmod(len(self.dataset), self.batch_size)
        return whole + (1 if rest and not self.drop_last else 0)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = numpy_generator(self.generator).permutation(n) if self.shuffle else np.arange(n)
        if self.batch_size is None:
            yield from (self.dataset[int(i)] for i in order)
            return
        for start in range(0, n, self.batch_size):
            chunk = order[start:start + self.batch_size]
            if len(chunk) < self.batch_size and self.drop_last:
                return
            if isinstance(self.dataset, TensorDataset):  # one fancy index, not n lookups
                yield tuple(Tensor(t.data[chunk]) for t in self.dataset.tensors)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in chunk])


__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate",
           "random_split"]
