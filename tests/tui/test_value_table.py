"""The inspector's small value tables are built as Text when they fit: the lines drawn
must be exactly those of Rich's Table (text and styles), whatever the numbers."""

from __future__ import annotations

import numpy as np
import pytest
from rich.table import Table
from rich.text import Text

from stepgrad.tui import render
from stepgrad.tui.widgets.strip_view import render_strips


def as_table(a: np.ndarray, diverging: bool) -> Table:
    table = render.value_table(a, diverging)
    assert isinstance(table, Table)
    return table


@pytest.mark.parametrize("seed", range(8))
def test_text_tables_draw_exactly_as_rich_tables(seed):
    rng = np.random.default_rng(seed)
    drawn = 0
    for trial in range(150):
        shape = [(int(rng.integers(1, 49)),), (int(rng.integers(1, 7)), int(rng.integers(1, 7))),
                 ()][trial % 3]
        a = rng.standard_normal(shape) * 10.0 ** int(rng.integers(-9, 9))
        if a.size and rng.random() < 0.2:
            a.flat[0] = np.nan
        if a.size and rng.random() < 0.1:
            a.flat[-1] = -np.inf
        if rng.random() < 0.2:
            a = np.round(a)
        width, diverging = int(rng.integers(20, 120)), bool(trial % 2)
        fast = render.value_table(a, diverging, width)
        if isinstance(fast, Table):
            continue                     # wider than `width`: Rich's Table wraps it
        drawn += 1
        assert [list(s) for s in render_strips(fast, width)] == \
            [list(s) for s in render_strips(as_table(a, diverging), width)], (a, width)
    assert drawn > 50


def test_a_table_too_wide_for_the_width_stays_a_rich_table():
    a = np.linspace(-1000, 1000, 48)
    assert isinstance(render.value_table(a, True, 80), Table)
    assert isinstance(render.value_table(a[:4], True, 80), Text)
