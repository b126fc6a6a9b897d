"""torch.utils.data: TensorDataset, DataLoader, random_split, with PyTorch's batching."""

from __future__ import annotations

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.utils.data import DataLoader, Dataset, TensorDataset, random_split

torch = pytest.importorskip("torch")


def test_batches_in_order_match_pytorchs() -> None:
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ours = DataLoader(TensorDataset(sg.tensor(x), sg.tensor(y)), batch_size=4)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=4)
    assert len(ours) == len(theirs) == 3
    for (xb, yb), (xt, yt) in zip(ours, theirs, strict=True):
        assert xb.tolist() == xt.tolist() and yb.tolist() == yt.tolist()
        assert yb.dtype == np.int64
    assert len(DataLoader(TensorDataset(sg.tensor(x)), batch_size=4, drop_last=True)) == 2


def test_shuffled_epochs_cover_every_example_once_in_new_orders() -> None:
    data = TensorDataset(sg.arange(10))
    loader = DataLoader(data, batch_size=3, shuffle=True, generator=sg.Generator().manual_seed(1))
    epochs = [[int(v) for (batch,) in loader for v in batch.tolist()] for _ in range(2)]
    assert all(sorted(e) == list(range(10)) for e in epochs) and epochs[0] != epochs[1]


def test_a_dataset_of_pairs_is_collated_and_split() -> None:
    class Squares(Dataset):
        def __len__(self) -> int:
            return 7

        def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
            return np.array([i, i * i], dtype=np.float32), i % 2

    xb, yb = next(iter(DataLoader(Squares(), batch_size=5)))
    assert xb.shape == (5, 2) and yb.tolist() == [0, 1, 0, 1, 0]
    train, test = random_split(Squares(), [5, 2], generator=sg.Generator().manual_seed(0))
    assert len(train) == 5 and len(test) == 2
    seen = [int(part[i][0][0]) for part in (train, test) for i in range(len(part))]
    assert sorted(seen) == list(range(7))  # each example in exactly one part
    with pytest.raises(ValueError, match="do not add up"):
        random_split(Squares(), [3, 3])
    with pytest.raises(AttributeError, match=r"torch\.utils\.tensorboard .* outside"):
        sg.utils.tensorboard  # noqa: B018
