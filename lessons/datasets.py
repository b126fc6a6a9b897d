"""The data sets of the lessons: the 8x8 handwritten digits, and small 2-D sets made from a seed.

    from stepgrad.lessons import datasets
    digits = datasets.load_digits()              # Dataset: x (1437, 64) float32 in [0, 1], ...
    spiral = datasets.spirals(n=300, seed=0)     # Dataset: x (240, 2), y in {0, 1, 2}

Nothing is downloaded: the digits ship as `data/digits.npz` (uint8 images and labels, made
once from the UCI copy that scikit-learn bundles, see `convert_digits_csv`), and the 2-D sets
are generated. Every function takes a seed, so a run is repeatable.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

#: The fraction of each data set kept aside for testing.
TEST_FRACTION = 0.2


@dataclass(frozen=True)
class Dataset:
    """Inputs and targets, split into a training part and a test part.

    `x` is float32 (n, features) or (n, channels, h, w); `y` holds integer class labels
    (int64) for classification or float32 targets for regression.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int = 0  # 0 for regression

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train {self.x.shape}, test {self.x_test.shape}, "
                f"classes={self.classes})")


def split(name: str, x: np.ndarray, y: np.ndarray, seed: int = 0, classes: int = 0,
          test_fraction: float = TEST_FRACTION) -> Dataset:
    """Shuffle (x, y) with `seed` and keep `test_fraction` of it for testing."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(len(x) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return Dataset(name, x[train], y[train], x[test], y[test], classes)


# -- the digits -------------------------------------------------------------------------

def _digits_file() -> Path:
    return Path(str(resources.files("stepgrad.lessons.data").joinpath("digits.npz")))


def load_digits(seed: int = 0, images: bool = False) -> Dataset:
    """The 1,797 8x8 digits, pixels scaled from 0..16 to 0..1 (float32), labels 0..9.

    `images=False` gives rows of 64 pixels (for an MLP); `images=True` gives (n, 1, 8, 8)
    (for a convolution). 80% train, 20% test, split with `seed`.
    Source: UCI Optical Recognition of Handwritten Digits (E. Alpaydin, C. Kaynak, 1998,
    CC BY 4.0), the copy scikit-learn bundles.
    """
    with np.load(_digits_file(), allow_pickle=False) as archive:
        pixels, labels = archive["images"], archive["labels"]
    x = pixels.astype(np.float32) / 16.0
    x = x.reshape(len(x), 1, 8, 8) if images else x.reshape(len(x), 64)
    return split("digits", x, labels.astype(np.int64), seed=seed, classes=10)


def convert_digits_csv(source: str | Path, target: str | Path) -> None:
    """Make `digits.npz` from `digits.csv.gz` (64 pixel values 0..16 then the label, per row).

    Run once by a maintainer; only the .npz ships:
        python -c "from stepgrad.lessons.datasets import convert_digits_csv as c; \\
                   c('digits.csv.gz', 'lessons/data/digits.npz')"
    """
    with gzip.open(source, "rt") as file:
        table = np.loadtxt(file, delimiter=",", dtype=np.int64)
    if table.shape[1] != 65 or table[:, :64].min() < 0 or table[:, :64].max() > 16:
        raise ValueError(f"{source}: expected rows of 64 pixels in 0..16 and a label, "
                         f"got shape {table.shape}")
    images = table[:, :64].astype(np.uint8).reshape(-1, 8, 8)
    labels = table[:, 64].astype(np.uint8)
    np.savez_compressed(target, images=images, labels=labels)


# -- generated 2-D sets -----------------------------------------------------------------

def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, turns: float = 1.0,
            seed: int = 0) -> Dataset:
    """`classes` interleaved spiral arms in the plane (cs231n's toy set); not linearly separable."""
    rng = np.random.default_rng(seed)
    per = n // classes
    radius = np.tile(np.linspace(0.05, 1.0, per), classes)
    label = np.repeat(np.arange(classes), per)
    angle = (label * 2 * np.pi / classes + radius * turns * 2 * np.pi
             + rng.normal(0, noise, per * classes))
    x = np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)
    return split("spirals", x.astype(np.float32), label.astype(np.int64), seed, classes)


def moons(n: int = 300, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (like scikit-learn's make_moons), centred and scaled."""
    rng = np.random.default_rng(seed)
    half = n // 2
    t = rng.uniform(0, np.pi, n)
    label = (np.arange(n) >= half).astype(np.int64)
    x = np.where(label[:, None] == 0,
                 np.stack([np.cos(t), np.sin(t)], 1),
                 np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
    x = (x - [0.5, 0.25]) / [1.0, 0.5] + rng.normal(0, noise, (n, 2))
    return split("moons", x.astype(np.float32), label, seed, 2)


def xor(n: int = 300, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Four clusters at the corners of a square; opposite corners share a class."""
    rng = np.random.default_rng(seed)
    corner = rng.integers(0, 2, (n, 2))
    x = (corner * 2 - 1) * 0.5 + rng.normal(0, noise, (n, 2))
    label = (corner[:, 0] ^ corner[:, 1]).astype(np.int64)
    return split("xor", x.astype(np.float32), label, seed, 2)


def circles(n: int = 300, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """A small circle inside a big one (class 1 inside), like scikit-learn's make_circles."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 2 * np.pi, n)
    label = (np.arange(n) >= n // 2).astype(np.int64)
    radius = np.where(label == 1, factor, 1.0)
    x = np.stack([radius * np.cos(t), radius * np.sin(t)], 1) + rng.normal(0, noise, (n, 2))
    return split("circles", x.astype(np.float32), label, seed, 2)


def line(n: int = 64, slope: float = 2.0, intercept: float = -1.0, noise: float = 0.1,
         features: int = 1, outputs: int = 1, seed: int = 0) -> Dataset:
    """Regression data y = x @ A + b + noise, x uniform in [-1, 1]; A and b drawn from `seed`
    when features or outputs exceed 1 (else A = slope, b = intercept)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, features))
    if features == outputs == 1:
        a, b = np.array([[slope]]), np.array([intercept])
    else:
        a, b = rng.normal(0, 1, (features, outputs)), rng.normal(0, 1, outputs)
    y = x @ a + b + rng.normal(0, noise, (n, outputs))
    return split("line", x.astype(np.float32), y.astype(np.float32), seed)


__all__ = ["Dataset", "circles", "convert_digits_csv", "line", "load_digits", "moons", "split",
           "spirals", "xor"]
