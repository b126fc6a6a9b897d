"""The inspector's small value tables are built as Text: the lines drawn must be exactly
those of Rich's Table (text and styles, narrowed and cut with "…" as Rich does when the
numbers do not fit), whatever the numbers and the width."""

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
        width, diverging = int(rng.integers(4, 120)), bool(trial % 2)
        fast = render.value_table(a, diverging, width)
        if isinstance(fast, Table):
            continue                     # a column would be cut to nothing: a Table
        drawn += 1
        assert [list(s) for s in render_strips(fast, width)] == \
            [list(s) for s in render_strips(as_table(a, diverging), width)], (a, width)
    assert drawn > 100


def test_only_a_table_with_no_room_for_its_numbers_stays_a_rich_table():
    a = np.linspace(-1000, 1000, 48)
    assert isinstance(render.value_table(a, True, 80), Table)      # 48 columns in 80 cells
    assert isinstance(render.value_table(a[:8], True, 39), Text)    # narrowed, cut with "…"
    assert "…" in render.value_table(a[:8], True, 39).plain
    assert isinstance(render.value_table(a, True), Table)            # no width given
