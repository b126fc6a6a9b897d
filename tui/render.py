"""Numpy arrays as Rich renderables: stats lines, value tables, heatmaps and histograms.

Pure functions with no widget and no textual import, so the inspector can build them in
a worker thread and hand the finished renderables to the UI in a message. Big arrays are
downsampled (block means) to the cells available, so a 256x256 gradient costs the same
to draw as a 32x32 one; NaN shows magenta and +-Inf yellow whatever the colour scale.
"""

from __future__ import annotations

import math

import numpy as np
from rich._ratio import ratio_reduce
from rich.color import Color
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from stepgrad.debug.format import stats

LEVELS = 48
NAN_STYLE = Style(color="black", bgcolor="#ff00ff")
_DIVERGING = ((0.0, (33, 102, 172)), (0.25, (103, 169, 207)), (0.5, (240, 240, 240)),
              (0.75, (239, 138, 98)), (1.0, (178, 24, 43)))
_SEQUENTIAL = ((0.0, (68, 1, 84)), (0.25, (59, 82, 139)), (0.5, (33, 145, 140)),
               (0.75, (94, 201, 98)), (1.0, (253, 231, 37)))
_MAGNITUDE = ((0.0, (90, 110, 160)), (0.4, (80, 170, 120)), (0.7, (230, 190, 60)),
              (1.0, (230, 70, 50)))


def _ramp(stops: tuple[tuple[float, tuple[int, int, int]], ...]) -> list[Color]:
    colors = []
    for level in range(LEVELS):
        t = level / (LEVELS - 1)
        for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
            if t <= t1:
                f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                colors.append(Color.from_rgb(*(round(a + (b - a) * f) for a, b in zip(c0, c1))))
                break
    return colors


DIVERGING = _ramp(_DIVERGING)
SEQUENTIAL = _ramp(_SEQUENTIAL)
MAGNITUDE = _ramp(_MAGNITUDE)
_NAN_COLOR = Color.from_rgb(255, 0, 255)
_INF_COLOR = Color.from_rgb(255, 230, 0)


def number(x: float) -> str:
    """A float in at most 9 characters: 0.0123, -1.5e-07, 3.2e+04."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{x:.4g}"
    return f"{x:.2e}"


def stats_text(array: np.ndarray) -> Text:
    """One or two lines: shape, dtype, mean, std, min, max, norm, zeros and NaN/Inf counts."""
    s = stats(array)
    text = Text()
    if "mean" not in s:
        return text.append(f"{tuple(array.shape)} {array.dtype}", style="bold")
    text.append(f"{tuple(array.shape)} {array.dtype}  ", style="bold")
    for key in ("mean", "std", "min", "max", "norm"):
        text.append(f"{key} ", style="dim")
        text.append(f"{number(s[key])}  ")
    if array.size:
        text.append("zeros ", style="dim")
        text.append(f"{s['zeros']:.0%}")
    if s["nan"] or s["inf"]:
        text.append(f"  NaN {s['nan']:.0f}  Inf {s['inf']:.0f}", style="bold #ff00ff")
    return text


def magnitude_color(norm: float | None) -> Color | None:
    """A colour for a gradient norm on a log scale (1e-8 cold .. 1e+2 hot); magenta for NaN."""
    if norm is None:
        return None
    if not math.isfinite(norm):
        return _NAN_COLOR
    if norm <= 0:
        return MAGNITUDE[0]
    t = (math.log10(norm) + 8) / 10
    return MAGNITUDE[min(LEVELS - 1, max(0, int(t * (LEVELS - 1))))]


def downsample(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Block means of a 2-D array down to at most rows x cols (never up)."""
    a = np.asarray(a, dtype=np.float64)
    if a.shape[0] > rows:
        edges = np.linspace(0, a.shape[0], rows + 1).astype(int)[:-1]
        counts = np.diff(np.append(edges, a.shape[0]))
        a = np.add.reduceat(a, edges, axis=0) / counts[:, None]
    if a.shape[1] > cols:
        edges = np.linspace(0, a.shape[1], cols + 1).astype(int)[:-1]
        counts = np.diff(np.append(edges, a.shape[1]))
        a = np.add.reduceat(a, edges, axis=1) / counts[None, :]
    return a


def _levels(a: np.ndarray, diverging: bool,
            scale: tuple[float, float] | None = None) -> tuple[np.ndarray, float, float]:
    finite = a[np.isfinite(a)]
    if scale is not None:
        lo, hi = scale
    elif diverging:
        top = float(np.abs(finite).max()) if finite.size else 0.0
        lo, hi = -top, top
    else:
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 0.0
    span = hi - lo
    with np.errstate(invalid="ignore", over="ignore"):
        t = np.full(a.shape, 0.5) if span == 0 else (a - lo) / span
        t = np.nan_to_num(t, nan=0.5, posinf=1.0, neginf=0.0)
        levels = np.clip(t * (LEVELS - 1), 0, LEVELS - 1).astype(int)
    return levels, lo, hi


def heatmap(a: np.ndarray, cols: int, rows: int, diverging: bool,
            scale: tuple[float, float] | None = None) -> Text:
    """A 2-D array as coloured half-blocks: two array rows per text line.

    `diverging` centres the scale on zero (blue negative, red positive: gradients);
    otherwise a sequential scale from min to max (values). `scale` fixes the ends.
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    small = downsample(a, max(2, 2 * rows), max(1, cols))
    wide, tall = max(1, min(4, cols // small.shape[1])), max(1, min(2, 2 * rows // small.shape[0]))
    if wide > 1 or tall > 1:       # a small array: bigger cells, easier to read
        small = np.repeat(np.repeat(small, tall, axis=0), wide, axis=1)
    levels, _, _ = _levels(small, diverging, scale)
    ramp = DIVERGING if diverging else SEQUENTIAL
    nan, inf = np.isnan(small), np.isinf(small)
    styles: dict[tuple[int, int], Style] = {}

    def color(r: int, c: int) -> Color:
        if nan[r, c]:
            return _NAN_COLOR
        if inf[r, c]:
            return _INF_COLOR
        return ramp[levels[r, c]]

    text = Text(no_wrap=True, overflow="crop")
    height, width = small.shape
    for r in range(0, height, 2):
        for c in range(width):
            top = color(r, c)
            bottom = color(r + 1, c) if r + 1 < height else None
            key = (id(top), id(bottom))
            style = styles.get(key)
            if style is None:
                style = styles[key] = Style(color=top, bgcolor=bottom)
            text.append("▀", style)
        if r + 2 < height:
            text.append("\n")
    return text


def scale_bar(lo: float, hi: float, diverging: bool, width: int = 24) -> Text:
    """The colour scale with its end values, to read a heatmap by."""
    ramp = DIVERGING if diverging else SEQUENTIAL
    text = Text(no_wrap=True)
    text.append(f"{number(lo)} ", style="dim")
    for i in range(width):
        text.append("█", Style(color=ramp[round(i * (LEVELS - 1) / max(1, width - 1))]))
    text.append(f" {number(hi)}", style="dim")
    return text


def histogram(a: np.ndarray, width: int, height: int = 3) -> Text:
    """The distribution of the finite values as block bars, with the range underneath."""
    values = np.asarray(a, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    text = Text(no_wrap=True, overflow="crop")
    if values.size == 0:
        return text.append("(no finite values)", style="dim")
    bins = max(4, min(width, 60))
    counts, edges = np.histogram(values, bins=bins)
    top = counts.max() or 1
    blocks = " ▁▂▃▄▅▆▇█"
    for line in range(height - 1, -1, -1):
        for count in counts:
            fill = count / top * height - line
            text.append(blocks[int(np.clip(round(fill * 8), 0, 8))], style="#7aa6da")
        text.append("\n")
    left, right = number(float(edges[0])), number(float(edges[-1]))
    text.append(left + " " * max(1, bins - len(left) - len(right)) + right, style="dim")
    return text


def value_table(a: np.ndarray, diverging: bool, width: int | None = None) -> Table | Text:
    """A small array (at most 2-D) as a table of numbers tinted by value.

    Given the `width` it is drawn in, it is built as Text: the same lines, cell for cell,
    as Rich's Table (numbers right-justified two spaces apart, narrowed and cut with "…"
    by Rich's own rules when too wide), in a fraction of the time (a step draws several).
    Without a width, or where a column would be cut to nothing, it is a Table."""
    m = np.atleast_2d(np.asarray(a))
    if m.ndim > 2:
        m = m.reshape(-1, m.shape[-1])
    levels, _, _ = _levels(m.astype(np.float64), diverging)
    ramp = DIVERGING if diverging else SEQUENTIAL
    cells = []
    for r in range(m.shape[0]):
        row = []
        for c in range(m.shape[1]):
            value = float(m[r, c])
            color = _NAN_COLOR if not math.isfinite(value) else ramp[levels[r, c]]
            row.append((number(value), Style(color=color)))
        cells.append(row)
    fitted = None if width is None else _fitted_widths(
        [max(len(row[c][0]) for row in cells) for c in range(m.shape[1])], width)
    if fitted is not None:
        text = Text(no_wrap=True, overflow="crop")
        for r, row in enumerate(cells):
            if r:
                text.append("\n")
            for c, (shown, style) in enumerate(row):
                if c:
                    text.append("  ")
                cut = shown if len(shown) <= fitted[c] else shown[:fitted[c] - 1] + "…"
                text.append(cut.rjust(fitted[c]), style)
        return text
    table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False)
    for _ in range(m.shape[1]):
        table.add_column(justify="right")
    for row in cells:
        table.add_row(*(Text(shown, style=style) for shown, style in row))
    return table


def _fitted_widths(lengths: list[int], width: int) -> list[int] | None:
    """The width of each column's numbers when value_table's Table is drawn in `width`
    cells, by Rich's rules (one space of padding each side of a column, none at the
    table's edges; too wide, the widest columns narrow first, then all evenly), or None
    when a column would be left without a cell for its number."""
    last = len(lengths) - 1
    pads = [(c > 0) + (c < last) for c in range(len(lengths))]
    widths = [max(1, n + pad) for n, pad in zip(lengths, pads)]
    if sum(widths) > width:
        widths = Table._collapse_widths(widths, [True] * len(widths), width)
        if sum(widths) > width:
            widths = ratio_reduce(sum(widths) - width, [1] * len(widths), widths, widths)
        widths = [min(n + pad, w) if w - pad >= 1 else min(pad, w)
                  for n, pad, w in zip(lengths, pads, widths)]
    fitted = [w - pad for w, pad in zip(widths, pads)]
    return fitted if min(fitted) >= 1 else None


def channel_grid(a: np.ndarray, cols: int, diverging: bool, max_channels: int = 16) -> Text:
    """A 3-D (C, H, W) or 4-D (N, C, H, W, first sample) array as a grid of small heatmaps."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 4:
        a = a[0]
    channels = a.shape[0]
    shown = min(channels, max_channels)
    cell_w = max(4, min(a.shape[2], 16))
    cell_h = max(1, min((a.shape[1] + 1) // 2, 8))
    per_row = max(1, (cols + 1) // (cell_w + 1))
    _, lo, hi = _levels(a, diverging)
    out = Text(no_wrap=True, overflow="crop")
    for start in range(0, shown, per_row):
        maps = [heatmap(a[c], cell_w, cell_h, diverging, (lo, hi)).split("\n")
                for c in range(start, min(shown, start + per_row))]
        out.append("  ".join(f"c{c:<{cell_w - 1}}" for c in range(start, start + len(maps))),
                   style="dim")
        out.append("\n")
        for line in range(max(len(m) for m in maps)):
            for i, lines in enumerate(maps):
                if i:
                    out.append("  ")
                out.append_text(lines[line] if line < len(lines) else Text(" " * cell_w))
            out.append("\n")
    if shown < channels:
        out.append(f"... and {channels - shown} more channels", style="dim")
    return out


def values(a: np.ndarray, cols: int, rows: int, diverging: bool) -> RenderableType:
    """The right picture for an array's size and rank: a number, a table or heatmaps."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        return Text(repr(a)[:200])
    if a.ndim == 0:
        return Text(number(float(a)), style="bold")
    if a.size <= 48 and a.ndim <= 2 and (a.ndim == 1 or a.shape[1] * 10 <= cols):
        return value_table(a, diverging, cols)
    if a.ndim >= 3 and a.ndim <= 4 and a.shape[-1] > 1 and a.shape[-2] > 1:
        return channel_grid(a, cols, diverging)
    m = a.reshape(1, -1) if a.ndim == 1 else a.reshape(-1, a.shape[-1])
    finite = m[np.isfinite(m)].astype(np.float64)
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    if diverging:
        lo, hi = -max(abs(lo), abs(hi)), max(abs(lo), abs(hi))
    note = Text()
    if m.shape[0] > 2 * rows or m.shape[1] > cols:
        note = Text(f"block means of {m.shape[0]}x{m.shape[1]}", style="dim")
    return Group(heatmap(m, cols, rows, diverging),
                 Text.assemble(scale_bar(lo, hi, diverging, width=min(24, max(8, cols - 24))),
                               "  ", note))


def tensor_block(title: str, a: np.ndarray | None, cols: int, diverging: bool,
                 rows: int = 8, show_histogram: bool = True) -> RenderableType:
    """Everything the inspector shows for one array: title, stats, values, histogram."""
    head = Text(title, style="bold")
    if a is None:
        return Group(head, Text("  (no gradient: this input does not require one)", style="dim"))
    a = np.asarray(a)
    parts: list[RenderableType] = [head, stats_text(a), values(a, cols, rows, diverging)]
    if show_histogram and a.size > 8:
        parts.append(histogram(a, min(cols, 48), height=2))
    return Group(*parts)
