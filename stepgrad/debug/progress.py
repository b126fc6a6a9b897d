"""Training progress as the debugger sees it: iteration, epoch, losses, metrics, ratios.

The session hands every loop and optimizer event to `Progress.track`; front ends read the
numbers through `Session.state`. Nothing here slows the engine: only three event types
(iteration, epoch, optimizer step) ever reach it.
"""

from __future__ import annotations

from typing import Any

from stepgrad import events as ev

#: Events that update the progress.
TRACKED = (ev.Iteration, ev.Epoch, ev.OptimizerStep, ev.BackwardBegin)


class Progress:
    """The training numbers seen so far in one run of the program."""

    def __init__(self) -> None:
        self.iteration: int | None = None
        self.epoch: int | None = None
        self.losses: list[tuple[int, float]] = []
        self.metrics: list[tuple[int, dict[str, float]]] = []
        self.last_step: ev.OptimizerStep | None = None
        self.marked = False  # the program marks its own iterations (sg.mark_iteration)
        self.loss: float | None = None  # the root of the latest backward pass, if a scalar
        self._unmarked: list[float | None] = []  # losses of optimizer steps not yet marked
        self._implied = 0

    @property
    def ratios(self) -> dict[str, float]:
        """The update-to-weight ratio of each parameter at the last optimizer step."""
        step = self.last_step
        return {} if step is None else {p.name: p.ratio for p in step.params}

    def track(self, event: ev.Event, history: Any = None) -> None:
        """Take one loop, optimizer or backward-begin event (`history` finds the loss)."""
        if isinstance(event, ev.BackwardBegin):
            root = history.forward_of(event.root_id) if history is not None else None
            if root is not None and root.output.size == 1:
                self.loss = float(root.output.reshape(()))
            else:
                self.loss = None
        elif isinstance(event, ev.Iteration):
            self._iteration(event)
        elif isinstance(event, ev.Epoch):
            self._epoch(event)
        elif isinstance(event, ev.OptimizerStep):
            self.last_step = event  # its ratios are worked out when a front end asks
            if not self.marked:
                self._unmarked.append(self.loss)

    def implied_iterations(self, at_end: bool = False) -> list[ev.Iteration]:
        """Iterations a program that never calls `mark_iteration` leaves unmarked: one per
        optimizer step. A program that marks its own comes to mark them after its first
        step, so the first is implied only at the second step (or at the end)."""
        if self.marked or not self._unmarked or (len(self._unmarked) < 2 and not (
            at_end or self._implied
        )):
            return []
        implied = []
        for loss in self._unmarked:
            implied.append(
                ev.Iteration(seq=ev.next_seq(), iteration=self._implied, epoch=None, loss=loss)
            )
            self._implied += 1
        self._unmarked.clear()
        return implied

    def _iteration(self, event: ev.Iteration) -> None:
        if not self._implied:
            self.marked, self._unmarked = True, []
        self.iteration = event.iteration
        if event.epoch is not None:
            self.epoch = event.epoch
        if event.loss is not None:
            self.losses.append((event.iteration, event.loss))
        if event.metrics:
            self.metrics.append((event.iteration, dict(event.metrics)))

    def _epoch(self, event: ev.Epoch) -> None:
        self.epoch = event.epoch
        if event.metrics:
            named = {
                k if k.startswith("epoch") else f"epoch_{k}": v for k, v in event.metrics.items()
            }
            self.metrics.append((self.iteration or 0, named))
