"""torch.nn.functional by PyTorch's names and arguments, each compared with PyTorch in
float64 (forward and every input's gradient)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import stepgrad as sg

torch = pytest.importorskip("torch")
F, TF = sg.nn.functional, torch.nn.functional
_rng = np.random.default_rng(11)


def r(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape)


def compare(ours: Callable[..., Any], theirs: Callable[..., Any], *arrays: np.ndarray) -> None:
    xs = [sg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*xs), theirs(*ts)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-9, atol=1e-12)
    upstream = np.random.default_rng(0).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for i, (x, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-8, atol=1e-12,
                                   err_msg=f"gradient of input {i}")


labels = np.array([2, 0, 1, 1])
probs = _rng.dirichlet(np.ones(3), 4)
weight = np.array([0.5, 2.0, 1.0])
CASES = {
    "pad last axis": (lambda x: F.pad(x, (1, 2)), lambda x: TF.pad(x, (1, 2)), (r(2, 3),)),
    "pad two axes": (lambda x: F.pad(x, (0, 1, 2, 0), value=-1.0),
                     lambda x: TF.pad(x, (0, 1, 2, 0), value=-1.0), (r(1, 2, 3, 3),)),
    "max_pool2d padding": (lambda x: F.max_pool2d(x, 3, 2, padding=1),
                           lambda x: TF.max_pool2d(x, 3, 2, padding=1), (r(1, 2, 6, 5),)),
    "avg_pool2d padding": (lambda x: F.avg_pool2d(x, 2, padding=1),
                           lambda x: TF.avg_pool2d(x, 2, padding=1), (r(2, 1, 5, 4),)),
    "conv2d groups=1": (lambda x, w: F.conv2d(x, w, padding=[1, 0], groups=1),
                        lambda x, w: TF.conv2d(x, w, padding=[1, 0], groups=1),
                        (r(1, 2, 5, 5), r(3, 2, 3, 3))),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b),
                   lambda x, w, b: TF.layer_norm(x, (4,), w, b), (r(3, 4), r(4), r(4))),
    "layer_norm 2 axes": (lambda x: F.layer_norm(x, [3, 4]), lambda x: TF.layer_norm(x, [3, 4]),
                          (r(2, 3, 4),)),
    "embedding": (lambda w: F.embedding(sg.tensor([[1, 3], [3, 0]]), w),
                  lambda w: TF.embedding(torch.tensor([[1, 3], [3, 0]]), w), (r(4, 2),)),
    "l1_loss": (F.l1_loss, TF.l1_loss, (r(2, 3), r(2, 3))),
    "l1_loss sum": (lambda a, b: F.l1_loss(a, b, reduction="sum"),
                    lambda a, b: TF.l1_loss(a, b, reduction="sum"), (r(4), r(4))),
    "cross_entropy (N, C, d)": (lambda x: F.cross_entropy(x, np.array([[0, 2], [1, 1]])),
                                lambda x: TF.cross_entropy(x, torch.tensor([[0, 2], [1, 1]])),
                                (r(2, 3, 2),)),
    "cross_entropy ignore_index": (
        lambda x: F.cross_entropy(x, labels, ignore_index=1),
        lambda x: TF.cross_entropy(x, torch.tensor(labels), ignore_index=1), (r(4, 3),)),
    "cross_entropy probabilities": (
        lambda x: F.cross_entropy(x, probs, weight=weight, label_smoothing=0.1),
        lambda x: TF.cross_entropy(x, torch.tensor(probs), weight=torch.tensor(weight),
                                   label_smoothing=0.1), (r(4, 3),)),
    "cross_entropy 1-d": (lambda x: F.cross_entropy(x, sg.tensor(2)),
                          lambda x: TF.cross_entropy(x, torch.tensor(2)), (r(3),)),
    "bce with logits weight": (
        lambda x: F.binary_cross_entropy_with_logits(x, probs, weight=weight),
        lambda x: TF.binary_cross_entropy_with_logits(x, torch.tensor(probs),
                                                      weight=torch.tensor(weight)), (r(4, 3),)),
    "bce weight": (lambda x: F.binary_cross_entropy(x.sigmoid(), probs, weight=weight),
                   lambda x: TF.binary_cross_entropy(x.sigmoid(), torch.tensor(probs),
                                                     weight=torch.tensor(weight)), (r(4, 3),)),
    "softmax axis word": (lambda x: F.softmax(x, axis=0), lambda x: TF.softmax(x, dim=0),
                          (r(3, 2),)),
    "log_softmax": (lambda x: F.log_softmax(x, 1), lambda x: TF.log_softmax(x, 1), (r(3, 2),)),
    "softplus": (F.softplus, TF.softplus, (5 * r(3, 4),)),
    "softplus beta": (lambda x: F.softplus(x, beta=2.0), lambda x: TF.softplus(x, beta=2.0),
                      (r(3, 4),)),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), (r(3, 4),)),
    "normalize": (F.normalize, TF.normalize, (r(3, 4),)),
    "cosine_similarity": (F.cosine_similarity, TF.cosine_similarity, (r(3, 4), r(3, 4))),
    "smooth_l1_loss": (lambda a, b: F.smooth_l1_loss(a, b, beta=0.5),
                       lambda a, b: TF.smooth_l1_loss(a, b, beta=0.5), (r(4, 3), r(4, 3))),
    "kl_div": (lambda a: F.kl_div(a.log_softmax(1), probs, reduction="batchmean"),
               lambda a: TF.kl_div(a.log_softmax(1), torch.tensor(probs),
                                   reduction="batchmean"), (r(4, 3),)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_functional_matches_torch(case: str) -> None:
    ours, theirs, inputs = CASES[case]
    compare(ours, theirs, *inputs)


def test_one_hot_and_flatten() -> None:
    got = F.one_hot(sg.tensor([0, 2, 1]), 4)
    assert got.dtype == np.int64
    assert got.tolist() == TF.one_hot(torch.tensor([0, 2, 1]), 4).tolist()
    assert F.one_hot(sg.tensor([1, 3])).shape == (2, 4)
    assert F.flatten(sg.zeros(2, 3, 4)).shape == (2, 12)


def test_conv2d_refuses_padding_pytorch_refuses() -> None:
    x, w = sg.zeros(1, 1, 5, 5), sg.zeros(1, 1, 3, 3)
    with pytest.raises(RuntimeError):
        TF.conv2d(torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3), padding=(1, 1, 1))
    with pytest.raises(RuntimeError, match="single integer value or a list of 2 values"):
        F.conv2d(x, w, padding=(1, 1, 1))
    with pytest.raises(RuntimeError, match="negative padding"):
        F.conv2d(x, w, padding=-1)
    with pytest.raises(NotImplementedError, match="groups"):
        F.conv2d(x, w, groups=2)


def test_losses_refuse_bad_input_with_one_clear_line() -> None:
    with pytest.raises(ValueError, match="targets must lie in 0..2"):
        F.nll_loss(sg.zeros(2, 3), [0, 3])
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(sg.tensor([1.5]), sg.tensor([1.0]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.l1_loss(sg.zeros(2), sg.zeros(2), reduction="avg")


def test_roll_and_embedding_padding_match_pytorch() -> None:
    for args in [(1,), (1, 0), ((1, -2), (0, 1)), (-1, 1)]:
        compare(lambda x, args=args: sg.roll(x, *args), lambda x, args=args: torch.roll(x, *args),
                r(3, 4))
    compare(lambda w: F.embedding(sg.tensor([[1, 3], [3, 0]]), w, padding_idx=3),
            lambda w: TF.embedding(torch.tensor([[1, 3], [3, 0]]), w, padding_idx=3), r(4, 2))
