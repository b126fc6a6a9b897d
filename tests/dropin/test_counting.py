"""torch.unique, torch.bincount and the legacy typed constructors, against PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")


def same(ours: Any, theirs: Any) -> None:
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            same(a, b)
        return
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours, theirs)
    np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())


@pytest.mark.parametrize("data", [[3, 1, 2, 3, 1, 1], [1.5, 1.5, 0.5, -2.0], [[1, 2], [1, 2],
                                                                               [0, 1]]])
@pytest.mark.parametrize("words", [{}, {"return_counts": True}, {"return_inverse": True},
                                   {"return_inverse": True, "return_counts": True},
                                   {"sorted": False}, {"dim": 0}])
def test_unique_matches_pytorch(data: list, words: dict) -> None:
    if "dim" in words and not isinstance(data[0], list):
        words = {**words, "dim": 0}
    same(sg.unique(sg.tensor(data), **words), torch.unique(torch.tensor(data), **words))
    same(sg.tensor(data).unique(**words), torch.tensor(data).unique(**words))


@pytest.mark.parametrize("weights", [None, [0.5, 1.0, 2.0, 0.25, 1.0, 3.0], [1, 2, 3, 4, 5, 6]])
@pytest.mark.parametrize("minlength", [0, 7])
def test_bincount_matches_pytorch(weights: Any, minlength: int) -> None:
    data = [3, 1, 2, 3, 1, 1]
    ours = sg.bincount(sg.tensor(data), None if weights is None else sg.tensor(weights),
                       minlength=minlength)
    theirs = torch.bincount(torch.tensor(data), None if weights is None else
                            torch.tensor(weights), minlength=minlength)
    same(ours, theirs)
    same(sg.tensor(data).bincount(minlength=minlength), torch.tensor(data).bincount(
        minlength=minlength))


@pytest.mark.parametrize("bad", [[-1, 2], [[1, 2]], [1.0, 2.0]])
def test_bincount_refuses_what_pytorch_refuses(bad: list) -> None:
    with pytest.raises((RuntimeError, NotImplementedError)) as theirs:
        torch.bincount(torch.tensor(bad))
    with pytest.raises(theirs.type, match=str(theirs.value).split(" (")[0][:40].replace(
            "(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        sg.bincount(sg.tensor(bad))


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor"])
def test_legacy_typed_constructors_match_pytorch(name: str) -> None:
    for args in ([1.7, -2.7, 0.0],), ([1, 0, 3],), (2, 3):
        ours, theirs = getattr(sg, name)(*args), getattr(torch, name)(*args)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        assert tuple(ours.shape) == tuple(theirs.shape)
        if not isinstance(args[0], int):  # PyTorch leaves a sized one uninitialised
            np.testing.assert_array_equal(np.asarray(ours), theirs.numpy())
    assert isinstance(getattr(sg, name)([1]), getattr(sg, name))
    others = [n for n in ("FloatTensor", "LongTensor") if n != name]
    assert not isinstance(getattr(sg, name)([1]), getattr(sg, others[0]))
    assert isinstance(torch.tensor([1.0]), torch.FloatTensor)  # the behaviour copied
