"""Session: runs a program under the debugger and pauses it at events.

The program (a function, a script, a lesson) runs in a worker thread. Every event it
emits is recorded into the History and handed to the stop rule of the current move and
to the breakpoints; when one says stop, the worker blocks until a command resumes it.
Meanwhile the cursor can walk back through history without re-running anything; moving
forward past the newest event resumes the program.

The session never prints and imports no UI: front ends read `state`, call the moves
(through `Commands`), and may `add_listener` to hear about stops and progress (called
from the worker thread: a front end marshals them to its own thread).
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from stepgrad import events as ev
from stepgrad.debug import rules
from stepgrad.debug.breakpoints import (
    Breakpoint,
    BreakpointInfo,
    ExpressionError,
    matches,
    parse,
    should_stop,
)
from stepgrad.debug.expr import NodeInfo, evaluate
from stepgrad.debug.history import DEFAULT_LIMIT, History, format_size
from stepgrad.function import _in_engine, reset_names

Listener = Callable[["State"], None]


_TRACKED = (ev.Iteration, ev.Epoch, ev.OptimizerStep)  # events that update the progress
_PROGRESS = (ev.Iteration, ev.Epoch)  # events that tell front ends about progress


class _Abort(BaseException):
    """Raised inside the program's thread to stop it (quit, restart, close)."""


@dataclass(frozen=True)
class LineState:
    """Where `step into` is: line `lineno` of an op's forward or backward, with its locals."""

    op: str
    phase: str
    lineno: int
    position: int
    steps: int
    locals_text: str


@dataclass(frozen=True)
class State:
    """A snapshot of the session for front ends."""

    status: str
    cursor: int
    head: int
    event: ev.Event | None
    total: int
    first: int
    iteration: int | None
    epoch: int | None
    losses: tuple[tuple[int, float], ...]
    metrics: tuple[tuple[int, dict[str, float]], ...]
    ratios: dict[str, float]
    reason: str
    error: str | None
    breakpoints: tuple[BreakpointInfo, ...]
    displays: tuple[str, ...]
    line: LineState | None
    history_bytes: int
    history_limit: int


@dataclass(frozen=True)
class NodeView:
    """Everything recorded about the node of event `number`."""

    number: int
    event: ev.Event
    forward: ev.ForwardStep | None
    backward: ev.BackwardStep | None
    tensors: dict[str, np.ndarray]


class Session:
    """One program under the debugger. See the module docstring."""

    def __init__(
        self,
        program: Callable[[], Any] | None = None,
        *,
        name: str = "program",
        history_limit: int = DEFAULT_LIMIT,
        stop_at_start: bool = True,
        replay: Any = None,
    ) -> None:
        self.program = program
        self.name = name
        self.history = History(history_limit)
        self.breakpoints: list[Breakpoint] = []
        self.displays: list[str] = []
        self.messages: list[str] = []
        self.line: LineState | None = None
        self.result: Any = None
        self.stop_at_start = stop_at_start
        self._next_breakpoint = 1
        self._cond = threading.Condition()
        self._status = "not started"
        self._cursor = -1
        self._reason = ""
        self._error: str | None = None
        self._rule: rules.Rule | None = None
        self._interrupt = False
        self._abort = False
        self._thread: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self._frame: tuple[dict[str, Any], dict[str, Any]] | None = None
        self._inline: Callable[[], None] | None = None
        self._told_dropped = False
        self._last_progress = 0.0
        self._reset_progress()
        if replay is not None:
            for event in replay:
                self.history.append(event)
                self._track(event)
            self._status, self._cursor = "replay", self.history.first if len(self.history) else -1
            self._reason = f"replaying {len(self.history)} recorded events"

    # -- making sessions ----------------------------------------------------------------
    @classmethod
    def for_function(cls, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Session:
        """Debug `fn(*args, **kwargs)`."""
        return cls(lambda: fn(*args, **kwargs), name=getattr(fn, "__name__", "function"))

    @classmethod
    def for_script(cls, path: str, argv: list[str] | None = None, **options: Any) -> Session:
        """Debug a Python script as `python path argv...` would run it."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such script: {path}")
        full = os.path.abspath(path)

        def run_script() -> Any:
            saved_argv, saved_path = sys.argv[:], sys.path[:]
            sys.argv = [full, *(argv or [])]
            sys.path.insert(0, os.path.dirname(full))
            try:
                return runpy.run_path(full, run_name="__main__")
            finally:
                sys.argv[:], sys.path[:] = saved_argv, saved_path

        return cls(run_script, name=os.path.basename(path), **options)

    @classmethod
    def for_trace(cls, trace: Any, **options: Any) -> Session:
        """Step through the events of a recorded trace (nothing runs)."""
        return cls(None, name="trace", replay=list(trace), **options)

    # -- state ----------------------------------------------------------------------------
    @property
    def status(self) -> str:
        return self._status

    @property
    def cursor(self) -> int:
        return self._cursor

    @property
    def live(self) -> bool:
        """True while the program thread is alive (paused or running)."""
        return self._status in ("paused", "running")

    @property
    def state(self) -> State:
        cursor = self._cursor
        event = self.history[cursor] if cursor in self.history else None
        return State(
            status=self._status,
            cursor=cursor,
            head=self.history.last,
            event=event,
            total=len(self.history),
            first=self.history.first,
            iteration=self.iteration,
            epoch=self.epoch,
            losses=tuple(self.losses),
            metrics=tuple(self.metrics),
            ratios=self.ratios,
            reason=self._reason,
            error=self._error,
            breakpoints=tuple(bp.info() for bp in self.breakpoints),
            displays=tuple(self.displays),
            line=self.line,
            history_bytes=self.history.nbytes,
            history_limit=self.history.limit,
        )

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(state)` at every stop, on progress while running, and at the end
        (from the program's thread)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def take_messages(self) -> list[str]:
        """Notes gathered since the last call (dropped history, broken conditions)."""
        messages, self.messages = self.messages, []
        return messages

    # -- running --------------------------------------------------------------------------
    def start(self) -> State:
        """Start the program; return when it first pauses (or ends)."""
        if self._status == "replay" or self.program is None:
            return self.state
        if self._thread is not None:
            raise RuntimeError("this session has already started; use restart()")
        self._abort, self._interrupt = False, False
        self._rule = rules.Step(1) if self.stop_at_start else rules.Rule()
        self._status = "running"
        self._thread = threading.Thread(target=self._run, name=f"stepgrad:{self.name}", daemon=True)
        self._thread.start()
        self._wait()
        return self.state

    def attach(self, frontend: Callable[[], None]) -> None:
        """Debug the calling thread itself (sg.set_trace): at each stop, `frontend()` runs in
        this thread, like pdb's command loop, until a move resumes the program."""
        self._inline = frontend
        self._rule = rules.Step(1)
        self._status = "running"
        self._unsubscribe = ev.subscribe(self._listener_for_this_thread())

    def detach(self) -> None:
        unsubscribe = getattr(self, "_unsubscribe", None)
        if unsubscribe is not None:
            unsubscribe()
        self._status, self._reason = (
            "finished",
            "detached: the program runs on without the debugger",
        )

    def _listener_for_this_thread(self) -> Callable[[ev.Event], None]:
        """A listener that hears only the calling thread's events: another thread's work
        (a front end rerunning a lesson to compare, say) is not this program's."""
        ident, get_ident, on_event = threading.get_ident(), threading.get_ident, self._on_event

        def listener(event: ev.Event) -> None:
            if get_ident() == ident:
                on_event(event)

        return listener

    def _run(self) -> None:
        unsubscribe = ev.subscribe(self._listener_for_this_thread())
        status, reason, error = "finished", "the program finished", None
        reset_names()
        try:
            self.result = self.program()  # type: ignore[misc]
        except _Abort:
            status, reason = "closed", "the program was stopped"
        except SystemExit as exit_:
            reason = f"the program exited with status {exit_.code}"
        except Exception as exc:  # noqa: BLE001 (post-mortem: any error of the user's program)
            status, reason = "crashed", f"{type(exc).__name__}: {exc}"
            error = _user_traceback(exc)
        finally:
            unsubscribe()
            ev.module_stack.clear()
        with self._cond:
            if status != "closed" or self._status != "closed":
                self._status, self._reason, self._error = status, reason, error
                self._end_reason = reason
            if len(self.history):
                self._cursor = self.history.last
            self._cond.notify_all()
        self._notify()

    def _on_event(self, event: ev.Event) -> None:
        if self._abort:
            raise _Abort()
        history = self.history
        number = history.append(event)
        if type(event) in _TRACKED:
            self._track(event)
        if history.dropped and not self._told_dropped:
            self._told_dropped = True
            self.messages.append(
                f"history reached its {format_size(history.limit)} limit: "
                f"the oldest events are being dropped ('set history 1GB' keeps more)"
            )
        if type(self._rule) is rules.Rule and not self.breakpoints and not self._interrupt:
            reason = None  # `continue` with no breakpoint: nothing to ask (the common case)
        else:
            reason = self._stop_reason(number, event)
        if reason is None:
            if type(event) in _PROGRESS:
                self._progress()
            return
        self._pause(number, reason)

    def _stop_reason(self, number: int, event: ev.Event) -> str | None:
        if self._interrupt:
            self._interrupt = False
            return "interrupted"
        reason = self._rule(number, event) if self._rule is not None else None
        return reason or self._breakpoint_hit(number, event)

    def _breakpoint_hit(self, number: int, event: ev.Event, count: bool = True) -> str | None:
        if not self.breakpoints or not isinstance(
            event, (ev.ForwardStep, ev.BackwardStep, ev.ModuleEnter)
        ):
            return None
        previous = self.history[number - 1] if number - 1 in self.history else None
        for bp in list(self.breakpoints):
            if not bp.enabled:
                continue
            try:
                namespace = lambda: self.tensor_namespace(number)  # noqa: E731
                hit = (
                    should_stop(bp, event, previous, namespace)
                    if count
                    else matches(bp, event, previous, namespace)
                )
            except ExpressionError as error:
                bp.enabled, bp.broken = False, str(error)
                self.messages.append(
                    f"breakpoint {bp.number} ({bp.spec}) is disabled: its "
                    f"condition failed at #{number}: {error}"
                )
                continue
            if hit:
                if bp.temporary and count:
                    self.breakpoints.remove(bp)
                return f"breakpoint {bp.number} ({bp.spec})"
        return None

    def _pause(self, number: int, reason: str) -> None:
        self._capture_frame()
        with self._cond:
            self._cursor, self._reason, self._status = number, reason, "paused"
            self._cond.notify_all()
        self._notify()
        if self._inline is not None:
            self._inline()
            if self._status == "paused":
                self.detach()
            return
        with self._cond:
            while self._status == "paused" and not self._abort:
                self._cond.wait()
        if self._abort:
            raise _Abort()

    def _capture_frame(self) -> None:
        frame = sys._getframe(1)
        while frame is not None and (
            _in_engine(frame.f_code.co_filename) or frame.f_code.co_filename == __file__
        ):
            frame = frame.f_back
        self._frame = None if frame is None else (frame.f_globals, dict(frame.f_locals))

    def _wait(self) -> None:
        """Block the caller until the program pauses or ends (Ctrl-C pauses it)."""
        with self._cond:
            while self._status == "running":
                try:
                    self._cond.wait(0.1)
                except KeyboardInterrupt:
                    self._interrupt = True

    def _resume(self, rule: rules.Rule) -> None:
        with self._cond:
            self._rule, self._status, self._reason = rule, "running", ""
            self._frame = None
            self._cond.notify_all()
        if self._inline is None:
            self._wait()

    def interrupt(self) -> None:
        """Pause at the next event (Ctrl-C, the pause key)."""
        self._interrupt = True

    def close(self) -> None:
        """Stop the program (if it runs) and wait for its thread to end. A session attached
        to the calling thread (set_trace) detaches instead: the program runs on."""
        if self._inline is not None:
            self.detach()
            return
        self._abort = True
        with self._cond:
            if self._status in ("paused", "running"):
                self._status = "closed"
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._notify()

    def restart(self) -> State:
        """Run the program again from the start (breakpoints and displays are kept)."""
        if self.program is None:
            self._cursor = self.history.first
            self._reason = "back at the start of the trace"
            return self.state
        self.close()
        self.history = History(self.history.limit)
        self._thread, self._cursor, self._error, self.line = None, -1, None, None
        self._told_dropped = False
        for bp in self.breakpoints:
            bp.hits = 0
        self._reset_progress()
        return self.start()

    # -- moves ------------------------------------------------------------------------------
    def move(self, rule: rules.Rule) -> str:
        """Move forward by `rule`: through recorded history first, then the live program."""
        for number, event in self.history.numbered(self._cursor + 1):
            reason = rule(number, event) or self._breakpoint_hit(number, event, count=False)
            if reason:
                self._cursor, self._reason = number, reason
                self._notify()
                return reason
        if self._status == "paused":
            self._cursor = self.history.last
            self._resume(rule)
            return self._reason
        self._cursor = self.history.last
        if self._status == "replay":
            self._reason = "end of the recorded trace"
        elif self._status in ("finished", "crashed", "closed"):
            self._reason = (
                f"end of history: {getattr(self, '_end_reason', 'the program has ended')}"
            )
        self._notify()
        return self._reason

    def back(self, count: int = 1) -> str:
        """Move the cursor `count` events back through history (nothing re-runs)."""
        target = self._cursor - count
        if target < self.history.first:
            if self.history.dropped:
                self._cursor = self.history.first
                return (
                    f"cannot go back past #{self.history.first}: older events were dropped to "
                    f"stay under the {format_size(self.history.limit)} history limit "
                    f"('set history 1GB' keeps more)"
                )
            self._cursor = max(self.history.first, 0) if len(self.history) else -1
            return "at the first recorded event"
        self._cursor, self._reason = target, "back"
        self._notify()
        return "back"

    def rcontinue(self) -> str:
        """Move back to the previous event where a breakpoint matches."""
        if not any(bp.enabled for bp in self.breakpoints):
            return "no enabled breakpoints to go back to"
        for number in range(self._cursor - 1, self.history.first - 1, -1):
            reason = self._breakpoint_hit(number, self.history[number], count=False)
            if reason:
                self._cursor, self._reason = number, f"back to {reason}"
                self._notify()
                return self._reason
        self._cursor = self.history.first
        return "no earlier breakpoint hit in history; at the first recorded event"

    def goto(self, number: int) -> str:
        """Go to event #number: in history directly, or by running forward to it."""
        if number in self.history:
            self._cursor, self._reason = number, f"at #{number}"
            self._notify()
            return self._reason
        if number < self.history.first:
            return (
                f"#{number} was dropped to keep the history under "
                f"{format_size(self.history.limit)}; the oldest kept is #{self.history.first}"
            )
        if self._status != "paused":
            return f"#{number} was never recorded: the newest event is #{self.history.last}"
        return self.move(rules.Goto(number))

    # -- breakpoints --------------------------------------------------------------------------
    def add_breakpoint(self, spec: str, temporary: bool = False) -> Breakpoint:
        bp = parse(self._next_breakpoint, spec, temporary)
        self._next_breakpoint += 1
        self.breakpoints.append(bp)
        return bp

    def find_breakpoint(self, number: int) -> Breakpoint:
        for bp in self.breakpoints:
            if bp.number == number:
                return bp
        known = ", ".join(str(bp.number) for bp in self.breakpoints) or "none"
        raise KeyError(f"no breakpoint number {number} (set: {known})")

    # -- inspection ---------------------------------------------------------------------------
    def tensor_namespace(self, number: int) -> dict[str, Any]:
        """out, ins, grad, grads and node for event `number` (see expr.py)."""
        event = self.history[number]
        forward = event if isinstance(event, ev.ForwardStep) else None
        names: dict[str, Any] = {
            "np": np,
            "out": None,
            "ins": [],
            "grad": None,
            "grads": [],
            "node": None,
        }
        if isinstance(event, ev.BackwardStep):
            forward = self.history.forward_of(event.node_id)
            names["grad"], names["grads"] = event.upstream, list(event.grads)
        if forward is not None:
            names["out"], names["ins"] = forward.output, list(forward.inputs)
        if isinstance(event, (ev.ForwardStep, ev.BackwardStep)):
            shape = (
                tuple(forward.output.shape) if forward is not None else tuple(event.upstream.shape)
            )  # type: ignore[union-attr]
            names["node"] = NodeInfo(
                event.op, event.name, event.node_id, event.module_path, event.phase, shape
            )
        return names

    def namespace(self, number: int | None = None) -> dict[str, Any]:
        """The program's variables where it is paused, then the node's tensors."""
        names: dict[str, Any] = {}
        if self._frame is not None:
            globals_, locals_ = self._frame
            names.update((k, v) for k, v in globals_.items() if not k.startswith("__"))
            names.update(locals_)
        number = self._cursor if number is None else number
        if number in self.history:
            names.update(self.tensor_namespace(number))
        else:
            names["np"] = np
        return names

    def evaluate(self, text: str, number: int | None = None) -> Any:
        from stepgrad.debug.expr import compile_expression

        return evaluate(compile_expression(text), self.namespace(number))

    def node_view(self, number: int) -> NodeView:
        event = self.history[number]
        node_id = getattr(event, "node_id", None)
        forward = backward = None
        if node_id is not None:
            forward = self.history.forward_of(node_id)
            backward = (
                event if isinstance(event, ev.BackwardStep) else self.history.backward_of(node_id)
            )
        return NodeView(number, event, forward, backward, self.history.tensors(number))

    # -- progress -------------------------------------------------------------------------------
    def _reset_progress(self) -> None:
        self.iteration: int | None = None
        self.epoch: int | None = None
        self.losses: list[tuple[int, float]] = []
        self.metrics: list[tuple[int, dict[str, float]]] = []
        self._last_step: ev.OptimizerStep | None = None

    @property
    def ratios(self) -> dict[str, float]:
        """The update-to-weight ratio of each parameter at the last optimizer step."""
        step = self._last_step
        return {} if step is None else {p.name: p.ratio for p in step.params}

    def _track(self, event: ev.Event) -> None:
        if isinstance(event, ev.Iteration):
            self.iteration = event.iteration
            if event.epoch is not None:
                self.epoch = event.epoch
            if event.loss is not None:
                self.losses.append((event.iteration, event.loss))
            if event.metrics:
                self.metrics.append((event.iteration, dict(event.metrics)))
        elif isinstance(event, ev.Epoch):
            self.epoch = event.epoch
            if event.metrics:
                self.metrics.append(
                    (
                        self.iteration or 0,
                        {
                            f"epoch_{k}" if not k.startswith("epoch") else k: v
                            for k, v in event.metrics.items()
                        },
                    )
                )
        elif isinstance(event, ev.OptimizerStep):
            self._last_step = event  # its ratios are worked out when a front end asks

    def _progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress >= 0.05:
            self._last_progress = now
            self._notify()

    def _notify(self) -> None:
        if not self._listeners:
            return
        state = self.state
        for listener in tuple(self._listeners):
            try:
                listener(state)
            except Exception:  # noqa: BLE001 (a broken front end must not kill the program)
                pass


def _user_traceback(exc: BaseException) -> str:
    """The traceback without the debugger's own frames."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(os.path.dirname(__file__))
        and f.filename not in (runpy.__file__, "<frozen runpy>")
    ]
    lines = traceback.format_list(frames)
    return (
        "Traceback (most recent call last):\n"
        + "".join(lines)
        + "".join(traceback.format_exception_only(type(exc), exc))
    )
