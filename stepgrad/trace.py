"""Record events, save them, load them back: `with sg.trace() as t:`.

    with sg.trace() as t:
        loss = model(x).sum()
        loss.backward()
    t.events            # every Event, in order
    t.save("run.sgtrace")
    sg.load_trace("run.sgtrace")   # a Trace again; `stepgrad replay run.sgtrace` opens it

A trace file (version 3) is a short header, a JSON index, and the data: every array of the
trace laid end to end, each once however many events share it, written straight from the
arrays' memory (trace_file.py). The index holds the events as columns, one list per field
of each kind of event, with an array written as its number in the data (trace_columns.py).
A 500-iteration two-layer run (10,500 events, 59 MB of arrays) once took 23 s to save as
one compressed member per array use, and 0.25 s in version 2 (a zip holding the data as
one member and a JSON object per event); version 3 saves it in about the time a program
takes to write the same arrays itself with a `write` each (1.05-1.10x, with a CRC-32 of
every byte; tests/bench/test_speed_bench.py), into a file 1.0x the bytes of its arrays,
and loads it in 0.04 s (0.34 s before), refusing it if a byte does not match its CRC-32.
Versions 1 and 2 still load.

A trace file never holds pickled objects, so loading one cannot run code; a file that is
not a stepgrad trace, or is damaged, is refused with a `TraceError` that says why, in one
line. Both ways have a size limit on the arrays (`max_bytes`): saving refuses a trace that
would fill the disk (a 500-iteration run once wrote 584 MB), and loading never reads more
than the file's header declares and the file holds, nor a zip member (versions 1 and 2)
more than it declared, so a 2 MB zip bomb that unpacks to 2 GB is refused before it is
unpacked. Every event read back is checked field by field against its dataclass
(trace_check.py), so a damaged trace cannot crash the debugger later.
"""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Iterable, Iterator
from typing import Any

from stepgrad import events
from stepgrad.recording import fewer_collections
from stepgrad.trace_check import checked
from stepgrad.trace_columns import (
    ArrayTable,
    decode_events,
    decode_value,
    encode_events,
    plain_json,
)
from stepgrad.trace_file import (
    TraceError,
    describe,
    read_archive,
    size_text,
    unpack,
    unpack_columns,
    write_atomically,
)

FORMAT = "stepgrad-trace"
VERSION = 3
#: version 1: a zip of one .npy member per array (a0, a1, ...) and a JSON object per event;
#: version 2: a zip of one flat data member and the same JSON with an index of the arrays
READABLE = (1, 2, 3)
#: Default limits on the bytes of a trace's arrays: what `save` writes (the debugger's own
#: default history) and what `load` unpacks.
MAX_SAVE_BYTES = 256 * 2**20
MAX_LOAD_BYTES = 2**30


class Trace:
    """A list of events, filled while the `with` block runs (or loaded from a file)."""

    def __init__(self, recorded: list[events.Event] | None = None) -> None:
        self.events: list[events.Event] = list(recorded or [])
        self._unsubscribe: Any = None
        self._collections: Any = None

    def __enter__(self) -> Trace:
        self._unsubscribe = events.subscribe(self.events.append)
        self._collections = fewer_collections()  # the trace keeps every event alive
        self._collections.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._collections is not None:
            self._collections.__exit__(None, None, None)
            self._collections = None

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[events.Event]:
        return iter(self.events)

    def __getitem__(self, index: int) -> events.Event:
        return self.events[index]

    def of_kind(self, kind: str) -> list[events.Event]:
        """The events of one kind ("forward", "backward", "optimizer_step", ...)."""
        return [e for e in self.events if e.kind == kind]

    def save(self, path: str | os.PathLike[str], max_bytes: int = MAX_SAVE_BYTES) -> None:
        """Write the trace to `path` (atomically: a crash never leaves half a file).

        TraceError (one line) when its arrays hold more than `max_bytes` or the file cannot
        be written; nothing is written then."""
        table = ArrayTable()
        try:
            with fewer_collections():  # thousands of lists, none in a cycle
                index = encode_events(self.events, table)
            arrays = describe(table.arrays)
        except TypeError as error:
            raise TraceError(f"not saved: {error}") from None
        total = sum(map(operator.attrgetter("nbytes"), table.arrays))
        if total > max_bytes:
            raise TraceError(f"not saved: the trace's {len(self.events)} events hold "
                             f"{size_text(total)} of arrays, over the "
                             f"{size_text(max_bytes)} limit; "
                             "trace fewer steps, or pass max_bytes= to save more")
        try:
            text = json.dumps({"format": FORMAT, "version": VERSION, "arrays": arrays, **index},
                              default=plain_json, check_circular=False, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise TraceError(f"not saved: {error}") from None
        try:
            write_atomically(path, text.encode(), table.arrays)
        except OSError as error:
            raise TraceError(f"could not save the trace to {path}: "
                             f"{error.strerror or error}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str], max_bytes: int = MAX_LOAD_BYTES) -> Trace:
        """Read a trace written by `save`; TraceError (one line) for anything else."""
        # tens of thousands of new objects with no cycles: a full collection in the middle
        # cost 0.18 s of a 0.26 s load of the 10,500-event trace (test_speed_bench.py)
        with fewer_collections():
            return cls._load(path, max_bytes)

    @classmethod
    def _load(cls, path: str | os.PathLike[str], max_bytes: int) -> Trace:
        meta, arrays = read_archive(path, max_bytes)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = f" (format {meta.get('format')!r})" if isinstance(meta, dict) else ""
            raise TraceError(f"{path}: not a stepgrad trace{found}")
        if meta.get("version") not in READABLE:
            raise TraceError(f"{path}: trace version {meta.get('version')!r} is not supported "
                             f"(this stepgrad reads versions 1 to {VERSION}); upgrade stepgrad")
        try:
            if meta["version"] == 3:
                return cls(decode_events(meta, unpack_columns(meta["arrays"],
                                                              arrays.get("data"))))
            if meta["version"] == 2:
                arrays = unpack(meta.get("arrays"), arrays.get("data"))
            if not isinstance(meta["events"], list):
                raise TypeError("'events' is not a list")
            return cls([checked(decode_value(document, arrays)) for document in meta["events"]])
        except RecursionError:
            raise TraceError(f"{path}: the trace is damaged (nested too deeply)") from None
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            raise TraceError(f"{path}: the trace is damaged "
                             f"({type(error).__name__}: {error})"[:300]) from None


def save(source: Iterable[events.Event], path: str | os.PathLike[str],
         max_bytes: int = MAX_SAVE_BYTES) -> None:
    """Save events to a trace file: a Trace, the debugger's History, or any list of events.
    `stepgrad replay path` opens it; TraceError (one line) when it is too big or unwritable."""
    Trace(list(source)).save(path, max_bytes)


def trace() -> Trace:
    """Record every event inside a `with` block: `with sg.trace() as t: ...`."""
    return Trace()


def load_trace(path: str | os.PathLike[str], max_bytes: int = MAX_LOAD_BYTES) -> Trace:
    """Load a trace saved with `Trace.save`; TraceError (one line) for a damaged file."""
    return Trace.load(path, max_bytes)
