"""The program's own output (print, warnings, logging) while the full-screen app runs.

While Textual runs it replaces `sys.stdout` and `sys.stderr` with its own capture, and
what the program prints is lost: the terminal belongs to the screen. `ProgramOutput`
goes in front of Textual's capture and takes what any thread other than the app's own
writes (the program's thread, and the command worker evaluating `p print(x)`, which is
also the program's code running); the app's own writes pass on to Textual untouched.

Logging handlers made before the app started (`logging.basicConfig` at the top of a
script the debugger started first) hold the real terminal streams, not `sys.stderr`:
they are pointed at the proxies while the app runs, and back afterwards.

What is taken is kept in a transcript, so it can be printed on the real terminal once the
app has exited, and handed to the app in batches: the first write after the app took the
last batch calls `notify()` once, so a loop that prints a line per iteration posts a
message per screen refresh, not one per `print`.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

#: The transcript keeps at most this many characters (the newest); older output is cut.
TRANSCRIPT_LIMIT = 1_000_000


class StreamProxy:
    """A file-like object that sends the program's writes to a `ProgramOutput`."""

    def __init__(self, output: ProgramOutput, name: str, behind: TextIO) -> None:
        self.output, self.name, self.behind = output, name, behind

    def write(self, text: str) -> int:
        if threading.get_ident() == self.output.ui_thread:
            return self.behind.write(text)
        self.output.add(text, self.name)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() == self.output.ui_thread:
            self.behind.flush()

    def isatty(self) -> bool:
        return False      # the program's output is not a terminal: no colour codes in it

    def __getattr__(self, name: str) -> Any:   # encoding, errors, ... as the stream behind
        return getattr(self.behind, name)


class ProgramOutput:
    """Captures the program's stdout and stderr between `install()` and `uninstall()`."""

    def __init__(self, notify: Callable[[], Any]) -> None:
        self.notify = notify                  # called (from the writing thread) on new text
        self.ui_thread = threading.get_ident()
        self.transcript: list[str] = []
        self.cut = 0                          # characters dropped from the transcript
        self._size = 0
        self._batch: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._saved: tuple[Any, Any] | None = None
        self._proxies: tuple[StreamProxy, StreamProxy] | None = None
        self._handlers: list[tuple[logging.StreamHandler[Any], Any]] = []

    def install(self) -> None:
        """Put the proxies in front of the current streams (call from the UI thread)."""
        self.ui_thread = threading.get_ident()
        self._saved = (sys.stdout, sys.stderr)
        self._proxies = (StreamProxy(self, "stdout", sys.stdout),
                         StreamProxy(self, "stderr", sys.stderr))
        sys.stdout, sys.stderr = self._proxies
        self._retarget_logging()

    def _retarget_logging(self) -> None:
        """Point handlers that write to the real terminal at the proxies."""
        assert self._proxies is not None
        terminal = {id(sys.__stdout__): self._proxies[0], id(sys.__stderr__): self._proxies[1]}
        loggers = [logging.getLogger()] + [logger for logger in
                                           logging.Logger.manager.loggerDict.values()
                                           if isinstance(logger, logging.Logger)]
        for logger in loggers:
            for handler in logger.handlers:
                proxy = terminal.get(id(getattr(handler, "stream", None)))
                if isinstance(handler, logging.StreamHandler) and proxy is not None:
                    self._handlers.append((handler, handler.setStream(proxy)))

    def uninstall(self) -> None:
        """Put the streams back, unless someone already did (Textual restores its own when
        the app ends: putting its capture back after that would swallow every later print)."""
        if self._saved is None or self._proxies is None:
            return
        if sys.stdout is self._proxies[0]:
            sys.stdout = self._saved[0]
        if sys.stderr is self._proxies[1]:
            sys.stderr = self._saved[1]
        for handler, stream in self._handlers:
            if handler.stream in self._proxies:
                handler.setStream(stream)
        self._handlers = []
        self._saved = self._proxies = None

    def add(self, text: str, stream: str) -> None:
        if not text:
            return
        with self._lock:
            first = not self._batch
            self._batch.append((text, stream))
            self.transcript.append(text)
            self._size += len(text)
            while self._size > TRANSCRIPT_LIMIT and len(self.transcript) > 1:
                dropped = self.transcript.pop(0)
                self._size -= len(dropped)
                self.cut += len(dropped)
        if first:
            self.notify()

    def take(self) -> list[tuple[str, str]]:
        """The (text, stream) pieces written since the last call, oldest first."""
        with self._lock:
            batch, self._batch = self._batch, []
        return batch

    def text(self) -> str:
        """Everything kept, for printing on the terminal after the app."""
        with self._lock:
            return "".join(self.transcript)
