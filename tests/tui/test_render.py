"""Arrays as pictures: sizes stay within the cells given, NaN shows, big arrays shrink."""

from __future__ import annotations

import time

import numpy as np
from rich.console import Console

from stepgrad.tui import render


def text_of(renderable, width=80) -> str:
    console = Console(width=width, record=True, color_system=None, file=open("/dev/null", "w"))
    console.print(renderable)
    return console.export_text()


def test_downsample_keeps_block_means():
    a = np.arange(16.0).reshape(4, 4)
    small = render.downsample(a, 2, 2)
    assert small.shape == (2, 2)
    assert small[0, 0] == a[:2, :2].mean()


def test_heatmap_fits_the_cells():
    a = np.random.default_rng(0).standard_normal((256, 256))
    lines = render.heatmap(a, 40, 10, diverging=True).plain.split("\n")
    assert len(lines) == 10 and all(len(line) == 40 for line in lines)


def test_big_heatmap_is_quick():
    a = np.random.default_rng(0).standard_normal((256, 256))
    start = time.perf_counter()
    render.tensor_block("grad", a, 60, diverging=True)
    assert time.perf_counter() - start < 0.25


def test_nan_and_inf_are_counted_and_coloured():
    a = np.array([[1.0, np.nan], [np.inf, -1.0]])
    assert "NaN 1  Inf 1" in render.stats_text(a).plain
    heat = render.heatmap(a, 2, 1, diverging=True)
    assert any("#ff00ff" in str(span.style) for span in heat.spans)


def test_small_arrays_are_tables_of_numbers():
    out = text_of(render.values(np.array([[1.5, -2.0], [0.0, 3.25]]), 60, 8, diverging=True))
    assert "1.5" in out and "-2" in out and "3.25" in out


def test_four_d_arrays_are_channel_grids():
    a = np.random.default_rng(0).standard_normal((2, 20, 6, 6))
    out = text_of(render.values(a, 60, 8, diverging=False))
    assert "c0" in out and "c3" in out and "more channels" in out


def test_histogram_spans_the_range():
    out = render.histogram(np.linspace(-2, 2, 100), 30).plain
    assert out.splitlines()[-1].startswith("-2") and out.splitlines()[-1].endswith("2")


def test_magnitude_colour_is_log_scaled():
    assert render.magnitude_color(1e-8) != render.magnitude_color(1e2)
    assert render.magnitude_color(float("nan")) == render._NAN_COLOR
    assert render.magnitude_color(None) is None
