"""The command queue: commands run one at a time, in order, in one thread worker.

Keys, the command line and the palette all put command lines here. `commands.run(line)`
blocks until the program has moved (a long `continue` may take minutes), so it runs in a
thread worker, never on the UI thread: keys are never lost, never applied twice, and the
screen never freezes. After each command the worker also works out what the screen shows
(`views.Views`) and posts it in one `CommandDone` message.

Jobs that are not typed commands (start the program, redraw after a stop nobody asked
for, inspect a node the user selected) go through the same queue so that everything the
worker reads from the history is read by one thread, in order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.app import App, SuspendNotSupported
from textual.message import Message

from stepgrad.tui.messages import CommandDone, Inspected, View, ViewReady
from stepgrad.tui.views import Views


@dataclass(frozen=True)
class Job:
    """One unit of work: `kind` is "command", "start", "view" or "inspect"."""

    kind: str
    line: str = ""
    index: int = -1
    current: bool = False


class CommandRunner:
    """Queues jobs from the UI thread; `serve` runs them in a worker thread."""

    def __init__(self, session: Any, commands: Any, post: Callable[[Message], Any]) -> None:
        self.session, self.commands, self.post = session, commands, post
        self.tutor = getattr(commands, "tutor", None)
        self.views = Views(session, self.tutor)
        self.busy = 0          # commands queued or running (shown in the status line)
        self.pending = 0       # every job queued or running, commands included
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()

    # ----------------------------------------------------------------- the UI thread's side
    def submit(self, line: str) -> None:
        """Queue a command line; it runs after those already waiting."""
        self.busy += 1
        self._put(Job("command", line))

    def start(self) -> None:
        """Start the program (or, if it already runs, say where it is)."""
        self.busy += 1
        self._put(Job("start"))

    def refresh(self) -> None:
        """Work out the view again (the program stopped or ended without a command)."""
        self._put(Job("view"))

    def inspect(self, index: int, current: bool) -> None:
        self._put(Job("inspect", index=index, current=current))

    def done(self, command: bool) -> None:
        """The UI handled a job's message (called from its handler); `command` is True for
        a CommandDone (a command or the start), which also counted as busy."""
        self.pending = max(0, self.pending - 1)
        if command:
            self.busy = max(0, self.busy - 1)

    def stop(self) -> None:
        self._queue.put(None)

    def _put(self, job: Job) -> None:
        self.pending += 1
        self._queue.put(job)

    # ----------------------------------------------------------------- the worker's side
    def serve(self, cancelled: Callable[[], bool]) -> None:
        """Run jobs until `stop()` (or until `cancelled()` says the worker was cancelled)."""
        while not cancelled():
            try:
                job = self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
            if job is None:
                return
            self.post(self._run_safely(job))

    def _run_safely(self, job: Job) -> Message:
        """Run `job`; a bug anywhere below becomes one line in the log, and the app goes on
        (pdb's bar: whatever happens, say one clear line and carry on)."""
        try:
            return self._run(job)
        except Exception as error:  # noqa: BLE001
            text = (f"*** internal error in {job.line or job.kind!r}: "
                    f"{type(error).__name__}: {error}")
            if job.kind == "inspect":
                return Inspected(None)
            view = View(self.session.state)
            return ViewReady(view) if job.kind == "view" else CommandDone(job.line, text, view)

    def _run(self, job: Job) -> Message:
        if job.kind == "inspect":
            try:
                selection = self.views.selection(job.index, job.current)
            except IndexError:     # that event left the history meanwhile
                return Inspected(None)
            self._seen(selection.view.event)
            return Inspected(selection)
        if job.kind == "view":
            self._seen(self.session.state.event)
            return ViewReady(self.views.view(self.session.state))
        if job.kind == "start":
            line = "where"
            if self.session.status == "not started":
                self.session.start()
                line = "(start)"
            output = self.commands.position()
        else:
            line, output = job.line, self.commands.run(job.line)
        return CommandDone(line, output, self.views.view(self.session.state))

    def _seen(self, event: Any) -> None:
        """The inspector shows `event` without a command (a node clicked on the tape, a stop
        nobody asked for): a lesson's tutor notes whether it is evidence of the bug."""
        if self.tutor is not None and event is not None:
            self.tutor.look(event)


class TerminalLender:
    """Lends the app's terminal to a program the learner asked for: `fix` opens $EDITOR.

    Commands run in the worker thread, but `App.suspend` must be entered on the UI thread:
    the worker hands the request to the UI thread (`call_later`), which suspends the app,
    runs the program and resumes, while the worker waits. The worker goes on only after the
    first refresh since the resume: the command's output, shown any earlier, could be drawn
    while that refresh still batches the screen's updates, and be lost until the next key
    (seen in tmux about one time in three). Set as `commands.terminal` by the app."""

    def __init__(self, app: App[Any]) -> None:
        self.app = app

    def __call__(self, use: Callable[[], str | None]) -> str | None:
        """Call `use` (it runs the editor) with the terminal lent, from the worker thread: its
        answer, or one line saying why the terminal could not be lent."""
        outcome: list[str | None] = []
        done = threading.Event()

        def lend() -> None:
            outcome.append(self._suspended(use))
            self.app.call_after_refresh(done.set)

        if not self.app.call_later(lend):
            return "could not open the editor: the app is closing"
        while not done.wait(0.25):
            if not self.app.is_running:
                return "could not open the editor: the app is closing"
        return outcome[0]

    def _suspended(self, use: Callable[[], str | None]) -> str | None:
        try:
            with self.app.suspend():
                return use()   # never raises (fixing.run_editor): it would skip the resume
        except SuspendNotSupported:
            where = "in a browser" if self.app.is_web else "here"
            return (f"the app cannot lend its terminal to an editor {where}: open the file "
                    f"in your own editor")
