"""Record events, save them, load them back: `with sg.trace() as t:`.

    with sg.trace() as t:
        loss = model(x).sum()
        loss.backward()
    t.events            # every Event, in order
    t.save("run.sgtrace")
    sg.load_trace("run.sgtrace")   # a Trace again; `stepgrad replay run.sgtrace` opens it

A trace file is a zip archive numpy can open (`.npz`) with two members: `data.npy`, every
array of the trace laid end to end in one flat byte array (each array once, however many
events share it; stored uncompressed, so saving runs at disk speed), and `__meta__.npy`,
one JSON document describing the events and where each array lies in the data (its dtype,
shape and offset). A 500-iteration two-layer run (10,500 events, 59 MB of arrays) once
took 23 s to save as one compressed member per array use; this layout writes it in about
a second, into a file 1.0x the bytes of its arrays. It never holds pickled objects, so
loading one cannot run code; a file that is not a stepgrad trace, or is damaged, is refused
with a `TraceError` that says why, in one line. Both ways have a size limit on the arrays
(`max_bytes`): saving refuses a trace that would fill the disk (a 500-iteration run once
wrote 584 MB), and loading reads each archive member in bounded chunks, never more than it
declared, so a 2 MB zip bomb that unpacks to 2 GB is refused before it is unpacked. Every
event read back is checked field by field against its dataclass (trace_check.py), so a
damaged trace cannot crash the debugger later. The bytes themselves: trace_file.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.recording import fewer_collections
from stepgrad.trace_check import checked
from stepgrad.trace_file import ALIGN, TraceError, read_archive, size_text, unpack, write_atomically

FORMAT = "stepgrad-trace"
VERSION = 2
READABLE = (1, 2)  # version 1: one .npy member per array, named a0, a1, ...
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
        arrays: dict[int, tuple[int, np.ndarray]] = {}  # id -> (its number, the array)
        documents = [_encode(event, arrays) for event in self.events]
        ordered = [array for _, array in arrays.values()]
        total = sum(a.nbytes for a in ordered)
        if total > max_bytes:
            raise TraceError(f"not saved: the trace's {len(self.events)} events hold "
                             f"{size_text(total)} of arrays, over the "
                             f"{size_text(max_bytes)} limit; "
                             "trace fewer steps, or pass max_bytes= to save more")
        index, offset = [], 0
        for array in ordered:
            index.append([array.dtype.str, list(array.shape), offset])
            offset += -(-array.nbytes // ALIGN) * ALIGN
        meta = json.dumps({"format": FORMAT, "version": VERSION, "arrays": index,
                           "events": documents})
        try:
            write_atomically(path, meta.encode(), ordered, offset)
        except OSError as error:
            raise TraceError(f"could not save the trace to {path}: "
                             f"{error.strerror or error}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str], max_bytes: int = MAX_LOAD_BYTES) -> Trace:
        """Read a trace written by `save`; TraceError (one line) for anything else."""
        meta, arrays = read_archive(path, max_bytes)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = f" (format {meta.get('format')!r})" if isinstance(meta, dict) else ""
            raise TraceError(f"{path}: not a stepgrad trace{found}")
        if meta.get("version") not in READABLE:
            raise TraceError(f"{path}: trace version {meta.get('version')!r} is not supported "
                             f"(this stepgrad reads versions 1 and {VERSION}); upgrade stepgrad")
        try:
            if meta["version"] == 2:
                arrays = unpack(meta.get("arrays"), arrays.get("data"))
            if not isinstance(meta["events"], list):
                raise TypeError("'events' is not a list")
            return cls([checked(_decode(document, arrays)) for document in meta["events"]])
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


_ATOMIC = (str, int, float, bool, type(None))
#: dataclass -> its field names, asked of `dataclasses` once per class (saving is per field)
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _encode(value: Any, arrays: dict[int, tuple[int, np.ndarray]]) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is np.ndarray and value.dtype.kind in "biufc":
        entry = arrays.get(id(value))  # an array shared by several events is saved once
        if entry is None:
            entry = arrays[id(value)] = (len(arrays), value)
        return {"$array": f"a{entry[0]}"}
    if kind is tuple:
        items = list(value)
        for i, v in enumerate(items):  # ids, names and flags need no encoding: left as they are
            if type(v) not in _ATOMIC:
                items[i] = _encode(v, arrays)
        return {"$tuple": items}
    names = _FIELD_NAMES.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in dataclasses.fields(value))
    if names is not None:
        body = {name: _encode(getattr(value, name), arrays) for name in names}
        return {"$event": value.kind if isinstance(value, events.Event) else kind.__name__,
                "fields": body}
    return _encode_other(value, arrays)


def _encode_other(value: Any, arrays: dict[int, tuple[int, np.ndarray]]) -> Any:
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, arrays) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]}
    if isinstance(value, slice):
        return {"$slice": [value.start, value.stop, value.step]}
    if value is Ellipsis:
        return {"$ellipsis": True}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"$repr": repr(value)}


_PLAIN = {"ParamUpdate": events.ParamUpdate}


#: Deeper nesting than any event has is damage, refused before Python's stack runs out.
_MAX_DEPTH = 32


def _decode(value: Any, arrays: dict[str, np.ndarray], depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise ValueError(f"entries nested more than {_MAX_DEPTH} deep")
    if isinstance(value, list):
        return [_decode(v, arrays, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        return arrays[value["$array"]]
    if "$event" in value:
        cls = events.EVENT_TYPES.get(value["$event"]) or _PLAIN[value["$event"]]
        return cls(**{k: _decode(v, arrays, depth + 1) for k, v in value["fields"].items()})
    if "$tuple" in value:
        return tuple(_decode(v, arrays, depth + 1) for v in value["$tuple"])
    if "$dict" in value:
        return {_decode(k, arrays, depth + 1): _decode(v, arrays, depth + 1)
                for k, v in value["$dict"]}
    if "$slice" in value:
        return slice(*value["$slice"])
    if "$ellipsis" in value:
        return Ellipsis
    if "$repr" in value:
        return value["$repr"]
    raise ValueError(f"unknown entry {sorted(value)}")
