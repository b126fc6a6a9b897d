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

import linecache
import os
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from stepgrad import events as ev
from stepgrad.debug import rules
from stepgrad.debug.breakpoint_table import BreakpointTable
from stepgrad.debug.breakpoints import Breakpoint
from stepgrad.debug.cursor import CursorMoves
from stepgrad.debug.frames import FrameStack
from stepgrad.debug.history import DEFAULT_LIMIT, History, format_size
from stepgrad.debug.interrupt import LineInterrupter
from stepgrad.debug.namespace import Inspection
from stepgrad.debug.naming import LeafNamer
from stepgrad.debug.program import script, user_frame, user_traceback
from stepgrad.debug.progress import TRACKED, Progress
from stepgrad.debug.state import LineState, NodeView, State, snapshot  # noqa: F401
from stepgrad.debug.stepinto import LineStepper
from stepgrad.function import reset_names
from stepgrad.recording import fewer_collections

__all__ = ["LineState", "NodeView", "Session", "State"]

Listener = Callable[["State"], None]


_PROGRESS = (ev.Iteration, ev.Epoch)  # events that tell front ends about progress


#: Seconds an interrupt waits for an event before pausing at the next line of user code.
INTERRUPT_GRACE = 0.2


class _Abort(BaseException):
    """Raised inside the program's thread to stop it (quit, restart, close)."""


class Session(CursorMoves, BreakpointTable, Inspection):
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
        self.stepper = LineStepper()  # `step into`: the one owner of the line state
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
        self._deaf = False  # the debugger's own tensor work (an expression) is not the program's
        self._thread: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self.frames: FrameStack | None = None  # the user's frames where it paused or died
        self._end_reason = "the program has ended"
        self._inline: Callable[[], None] | None = None
        self._interrupter = LineInterrupter(self._pause_at_line)
        self._namer = LeafNamer()  # W1 = sg.randn(...) is recorded as W1, not t7
        self._told_dropped = False
        self._last_progress = 0.0
        self.progress = Progress()
        if replay is not None:
            for event in replay:
                self.history.append(event)
                self.progress.track(event)
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
        return cls(script(path, argv), name=os.path.basename(path), **options)

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
    def line(self) -> LineState | None:
        """Where `step into` is (None when stepping nodes); owned by `stepper`."""
        return self.stepper.line

    @property
    def live(self) -> bool:
        """True while the program thread is alive (paused or running)."""
        return self._status in ("paused", "running")

    @property
    def state(self) -> State:
        """A snapshot for front ends (see state.py)."""
        return snapshot(self)

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
        session = self

        def listener(event: ev.Event) -> None:
            if get_ident() == ident and not session._deaf:
                on_event(event)

        return listener

    def _run(self) -> None:
        unsubscribe = ev.subscribe(self._listener_for_this_thread())
        status, reason, error = "finished", "the program finished", None
        reset_names()
        self._interrupter.enter()
        try:
            with fewer_collections():  # the history keeps many objects alive: see recording.py
                self.result = self.program()  # type: ignore[misc]
        except _Abort:
            status, reason = "closed", "the program was stopped"
        except SystemExit as exit_:
            reason = f"the program exited with status {exit_.code}"
        except BaseException as exc:  # noqa: BLE001 (post-mortem: any error of the program,
            # KeyboardInterrupt and GeneratorExit too: the debugger must not hang on them)
            status, reason = "crashed", f"{type(exc).__name__}: {exc}"
            error = user_traceback(exc)
            self.frames = FrameStack.from_traceback(exc.__traceback__)  # post-mortem
        finally:
            for implied in self.progress.implied_iterations(at_end=True):
                self.history.append(implied)
                self.progress.track(implied)
            self._interrupter.leave()
            sys.settrace(None)  # an interrupt armed just before the end leaves no tracing
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
        if type(event) is ev.ForwardStep:
            event = self._namer(event)
        elif type(event) is ev.BackwardStep:
            event = self._namer.backward(event)
        number = history.append(event)
        if type(event) in TRACKED:
            self.progress.track(event, history)
        if history.dropped and not self._told_dropped:
            self._told_dropped = True
            self.messages.append(
                f"history reached its {format_size(history.limit)} limit: "
                f"the oldest events are being dropped ('set history 1GB' keeps more)"
            )
        if type(self._rule) is rules.Rule and not self.breakpoints and not self._interrupt:
            reason = None  # `continue` with no breakpoint: nothing to ask (the common case)
        else:
            self._deaf = True  # a condition may compute with tensors: not program events
            try:
                reason = self._stop_reason(number, event)
            except Exception as error:  # noqa: BLE001 (never raise into the user's program)
                self.messages.append(f"the debugger failed at #{number}: {error!r}")
                reason = "debugger error"
            finally:
                self._deaf = False
        if reason is not None:
            self._pause(number, reason)
        elif type(event) in _PROGRESS:
            self._progress()
        if type(event) is ev.OptimizerStep and not self.progress.marked:
            for implied in self.progress.implied_iterations():
                self._on_event(implied)

    def _stop_reason(self, number: int, event: ev.Event) -> str | None:
        if self._interrupt:
            self._interrupt = False
            return "interrupted"
        reason = self._rule(number, event) if self._rule is not None else None
        return reason or self._breakpoint_hit(number, event)

    def _pause(self, number: int, reason: str) -> None:
        self._capture_frame()
        with self._cond:
            self._cursor, self._reason, self._status = number, reason, "paused"
            self._cond.notify_all()
        self._notify()
        if self._inline is not None:
            self._deaf = True  # the commands run in the program's thread (set_trace)
            try:
                self._inline()
            finally:
                self._deaf = False
            if self._status == "paused":
                self.detach()
            return
        with self._cond:
            while self._status == "paused" and not self._abort:
                self._cond.wait()
        if self._abort:
            raise _Abort()

    def _capture_frame(self) -> None:
        self.frames = FrameStack.from_frame(user_frame(sys._getframe(1)))
        self.frames.name_tensors()

    def _wait(self) -> None:
        """Block the caller until the program pauses or ends (Ctrl-C pauses it)."""
        with self._cond:
            while self._status == "running":
                try:
                    self._cond.wait(0.1)
                except KeyboardInterrupt:
                    self.interrupt()

    def _resume(self, rule: rules.Rule) -> None:
        with self._cond:
            self._rule, self._status, self._reason = rule, "running", ""
            self.frames = None
            self._cond.notify_all()
        if self._inline is None:
            self._wait()

    def interrupt(self) -> None:
        """Pause at the next event, or at the next line of the user's code when that comes
        first (Ctrl-C, the pause key): a program busy in plain Python pauses too."""
        self._interrupt = True
        if self._status == "running" and self._inline is None:
            # Events come often in most programs: give them a moment before tracing lines.
            timer = threading.Timer(INTERRUPT_GRACE, self._interrupt_between_events)
            timer.daemon = True
            timer.start()

    def _interrupt_between_events(self) -> None:
        if self._interrupt and self._status == "running":
            self._interrupter.arm()

    def _pause_at_line(self, frame: FrameType) -> None:
        """In the program's thread, at a line of the user's code after `interrupt`."""
        if self._abort:
            raise _Abort()
        if not self._interrupt:
            return  # an event paused it first
        self._interrupt = False
        code = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
        where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}  {code}"
        self._pause(self.history.last, f"interrupted between events, at {where}".rstrip())

    def close(self) -> None:
        """Stop the program (if it runs) and wait for its thread to end. A session attached
        to the calling thread (set_trace) detaches instead: the program runs on."""
        if self._inline is not None:
            self.detach()
            return
        self._abort = True
        running = self._status == "running"
        with self._cond:
            if self._status in ("paused", "running"):
                self._status = "closed"
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            if running:  # a program between events stops at its next line
                self._interrupter.arm()
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
        self._thread, self._cursor, self._error, self.frames = None, -1, None, None
        self.stepper.leave()
        self._told_dropped = False
        for bp in self.breakpoints:
            bp.hits = 0
            getattr(bp.matcher, "aliases", set()).clear()  # last run's tensors are gone
        self.progress = Progress()
        return self.start()

    def _progress(self) -> None:
        now = time.monotonic()
        if now - self._last_progress >= 0.05:
            self._last_progress = now
            self._notify()
            if self._listeners:
                # A front end's thread needs the GIL to draw this: a CPU-bound program
                # thread would keep it for most of every switch interval, and the app
                # took seconds to answer a key. One millisecond in fifty costs 2%.
                time.sleep(0.001)

    def _notify(self) -> None:
        if not self._listeners:
            return
        state = self.state
        for listener in tuple(self._listeners):
            try:
                listener(state)
            except Exception:  # noqa: BLE001 (a broken front end must not kill the program)
                pass
