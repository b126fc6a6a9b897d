"""The training pane: loss and accuracy per iteration, epoch progress, update/weight ratios.

Fed from the session's state (`losses`, `metrics`, `ratios`, `iteration`, `epoch`),
which the core keeps up to date while the program runs, so this pane moves during a
long `continue` while the tape waits for the next stop.

The update/weight ratio ||lr * update|| / ||weight|| is the classic health check of a
training run: around 1e-3 is healthy, above 1e-2 the weights thrash, below 1e-5 they
barely move (Karpathy's "ratio of updates to weights").
"""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Label, ProgressBar, Sparkline, Static

from stepgrad.tui.render import number

ACCURACY_NAMES = ("accuracy", "acc", "train_accuracy", "test_accuracy", "epoch_test_accuracy")


class TrainingPane(VerticalScroll, can_focus=True):
    """Loss and metric sparklines, an epoch progress bar and per-parameter ratios."""

    DEFAULT_CSS = """
    TrainingPane Sparkline { height: 3; margin: 0 0 1 0; }
    TrainingPane #training-progress { height: 1; }
    TrainingPane Label { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._epoch_first: dict[int, int] = {}   # epoch -> first iteration seen in it
        self._epoch_last: dict[int, int] = {}
        self._key: tuple[Any, ...] | None = None

    def compose(self):
        yield Label("loss: no iterations yet", id="training-loss-label")
        yield Sparkline([], id="training-loss")
        yield Label("", id="training-metric-label")
        yield Sparkline([], id="training-metric")
        yield Label("epoch", id="training-epoch-label")
        yield ProgressBar(total=1, show_eta=False, id="training-progress")
        yield Static("", id="training-ratios")

    def show(self, state: Any) -> None:
        """Update from a core State (any object with the same fields)."""
        key = (len(state.losses), len(state.metrics), state.iteration, state.epoch,
               tuple(sorted(state.ratios.items())))
        if key == self._key:
            return
        self._key = key
        self._show_loss(state.losses)
        self._show_metric(state.metrics)
        self._show_epoch(state.iteration, state.epoch)
        self.query_one("#training-ratios", Static).update(ratio_table(state.ratios))

    def _show_loss(self, losses: tuple[tuple[int, float], ...]) -> None:
        values = [v for _, v in losses if math.isfinite(v)]
        label = self.query_one("#training-loss-label", Label)
        if not losses:
            label.update("loss: no iterations yet")
        else:
            it, last = losses[-1]
            best = min(values) if values else math.nan
            label.update(f"loss {number(last)} at iteration {it}   best {number(best)}   "
                         f"({len(losses)} iterations)")
        self.query_one("#training-loss", Sparkline).data = values[-2000:]

    def _show_metric(self, metrics: tuple[tuple[int, dict[str, float]], ...]) -> None:
        name = next((n for n in ACCURACY_NAMES if any(n in m for _, m in metrics)), None)
        if name is None and metrics:
            name = next(iter(metrics[-1][1]), None)
        label = self.query_one("#training-metric-label", Label)
        spark = self.query_one("#training-metric", Sparkline)
        if name is None:
            label.update("metrics: none reported")
            spark.data = []
            return
        values = [m[name] for _, m in metrics if name in m and math.isfinite(m[name])]
        label.update(f"{name} {number(values[-1]) if values else '-'}")
        spark.data = values[-2000:]

    def _show_epoch(self, iteration: int | None, epoch: int | None) -> None:
        label = self.query_one("#training-epoch-label", Label)
        bar = self.query_one("#training-progress", ProgressBar)
        if epoch is None or iteration is None:
            label.update("epoch: -" if iteration is None else f"iteration {iteration}")
            bar.update(total=1, progress=0)
            return
        self._epoch_first.setdefault(epoch, iteration)
        self._epoch_last[epoch] = iteration
        per_epoch = self._per_epoch(epoch)
        done = iteration - self._epoch_first[epoch] + 1
        if epoch - 1 in self._epoch_first and self._epoch_first[epoch] <= \
                self._epoch_first[epoch - 1]:
            done = iteration + 1   # iterations are counted from 0 in every epoch
        if per_epoch and done > per_epoch:   # this epoch is longer than the last one was
            per_epoch = None
        if per_epoch:
            label.update(f"epoch {epoch}: iteration {done}/{per_epoch}")
            bar.update(total=per_epoch, progress=min(done, per_epoch))
        else:
            label.update(f"epoch {epoch}: iteration {done}")
            bar.update(total=1, progress=0)

    def _per_epoch(self, epoch: int) -> int | None:
        previous = epoch - 1
        if previous not in self._epoch_first:
            return None
        first, last = self._epoch_first[previous], self._epoch_last[previous]
        if self._epoch_first[epoch] > last:
            return self._epoch_first[epoch] - first
        return last + 1


def ratio_table(ratios: dict[str, float]) -> Table | Text:
    """One row per parameter: its update/weight ratio and a bar on a log scale."""
    if not ratios:
        return Text("update/weight ratios: after the first optimizer step", style="dim")
    table = Table(title="update / weight", title_justify="left", box=None, pad_edge=False,
                  show_header=False)
    table.add_column("parameter", no_wrap=True)
    table.add_column("ratio", justify="right")
    table.add_column("bar", no_wrap=True)
    for name, ratio in ratios.items():
        healthy = 1e-4 <= ratio <= 1e-2
        color = "green" if healthy else ("red" if ratio > 1e-2 or not math.isfinite(ratio)
                                         else "yellow")
        fill = 0 if not (ratio > 0 and math.isfinite(ratio)) else \
            max(0, min(12, round((math.log10(ratio) + 6) * 2)))
        table.add_row(name, Text(f"{ratio:.1e}", style=color),
                      Text("█" * fill + "·" * (12 - fill), style=color))
    return table
