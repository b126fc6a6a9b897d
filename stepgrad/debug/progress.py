"""Training progress as the debugger sees it: iteration, epoch, losses, metrics, ratios.

The session hands every loop and optimizer event to `Progress.track`; front ends read the
numbers through `Session.state`. Nothing here slows the engine: only three event types
(iteration, epoch, optimizer step) ever reach it.
"""

from __future__ import annotations

from stepgrad import events as ev

#: Events that update the progress.
TRACKED = (ev.Iteration, ev.Epoch, ev.OptimizerStep)


class Progress:
    """The training numbers seen so far in one run of the program."""

    def __init__(self) -> None:
        self.iteration: int | None = None
        self.epoch: int | None = None
        self.losses: list[tuple[int, float]] = []
        self.metrics: list[tuple[int, dict[str, float]]] = []
        self.last_step: ev.OptimizerStep | None = None

    @property
    def ratios(self) -> dict[str, float]:
        """The update-to-weight ratio of each parameter at the last optimizer step."""
        step = self.last_step
        return {} if step is None else {p.name: p.ratio for p in step.params}

    def track(self, event: ev.Event) -> None:
        if isinstance(event, ev.Iteration):
            self._iteration(event)
        elif isinstance(event, ev.Epoch):
            self._epoch(event)
        elif isinstance(event, ev.OptimizerStep):
            self.last_step = event  # its ratios are worked out when a front end asks

    def _iteration(self, event: ev.Iteration) -> None:
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
