"""Distances between two batches of vectors, as layers (PyTorch: `torch.nn.CosineSimilarity`,
`torch.nn.PairwiseDistance`)."""

from __future__ import annotations

from stepgrad.nn import functional as F
from stepgrad.nn.module import Module
from stepgrad.tensor import Tensor


class CosineSimilarity(Module):
    """x1 . x2 / (|x1| |x2|) along `dim`, each norm at least eps: 1 for the same direction,
    -1 for opposite ones."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """|x1 - x2 + eps|_p along the last axis, row by row (not every pair: that is cdist)."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
