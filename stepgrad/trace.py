"""Record events, save them, load them back: `with sg.trace() as t:`.

    with sg.trace() as t:
        loss = model(x).sum()
        loss.backward()
    t.events            # every Event, in order
    t.save("run.sgtrace")
    sg.load_trace("run.sgtrace")   # a Trace again; `stepgrad replay run.sgtrace` opens it

A trace file is a numpy `.npz` archive: the arrays, and one JSON document describing the
events. It never holds pickled objects, so loading one cannot run code; a file that is
not a stepgrad trace, or is damaged, is refused with a `TraceError` that says why.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from stepgrad import events

FORMAT = "stepgrad-trace"
VERSION = 1
_ZIP_MAGIC = b"PK\x03\x04"


class TraceError(ValueError):
    """A trace file that cannot be read: not a trace, from a newer version, or damaged."""


class Trace:
    """A list of events, filled while the `with` block runs (or loaded from a file)."""

    def __init__(self, recorded: list[events.Event] | None = None) -> None:
        self.events: list[events.Event] = list(recorded or [])
        self._unsubscribe: Any = None

    def __enter__(self) -> Trace:
        self._unsubscribe = events.subscribe(self.events.append)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def __len__(self) -> int:
        return len(self.events)

    def __iter__(self) -> Iterator[events.Event]:
        return iter(self.events)

    def __getitem__(self, index: int) -> events.Event:
        return self.events[index]

    def of_kind(self, kind: str) -> list[events.Event]:
        """The events of one kind ("forward", "backward", "optimizer_step", ...)."""
        return [e for e in self.events if e.kind == kind]

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the trace to `path` (atomically: a crash never leaves half a file)."""
        arrays: dict[str, np.ndarray] = {}
        documents = [_encode(event, arrays) for event in self.events]
        meta = json.dumps({"format": FORMAT, "version": VERSION, "events": documents})
        arrays["__meta__"] = np.frombuffer(meta.encode(), dtype=np.uint8)
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".trace-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                np.savez_compressed(handle, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Trace:
        """Read a trace written by `save`."""
        meta, arrays = _read_archive(path)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            found = f" (format {meta.get('format')!r})" if isinstance(meta, dict) else ""
            raise TraceError(f"{path}: not a stepgrad trace{found}")
        if meta.get("version") != VERSION:
            raise TraceError(f"{path}: trace version {meta.get('version')} is not supported "
                             f"(this stepgrad reads version {VERSION}); upgrade stepgrad")
        try:
            return cls([_decode(document, arrays) for document in meta["events"]])
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise TraceError(f"{path}: the trace is damaged "
                             f"({type(error).__name__}: {error})") from None


def _read_archive(path: str | os.PathLike[str]) -> tuple[Any, dict[str, np.ndarray]]:
    """The JSON description and the arrays of a trace file, or a TraceError saying why not."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != _ZIP_MAGIC:  # np.load would also take .npy and pickles
                raise TraceError(f"{path}: not a stepgrad trace (not a .npz archive)")
        with np.load(path, allow_pickle=False) as archive:
            if "__meta__" not in archive.files:
                raise TraceError(f"{path}: not a stepgrad trace (no event description inside); "
                                 f"make one with `with sg.trace() as t: ...` then t.save(path)")
            meta = json.loads(archive["__meta__"].tobytes().decode())
            return meta, {key: archive[key] for key in archive.files if key != "__meta__"}
    except TraceError:
        raise
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, UnicodeDecodeError) as error:
        raise TraceError(f"{path}: not a readable stepgrad trace ({error})") from None


def trace() -> Trace:
    """Record every event inside a `with` block: `with sg.trace() as t: ...`."""
    return Trace()


def load_trace(path: str | os.PathLike[str]) -> Trace:
    """Load a trace saved with `Trace.save`."""
    return Trace.load(path)


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"$array": key}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        body = {f.name: _encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}
        kind = value.kind if isinstance(value, events.Event) else type(value).__name__
        return {"$event": kind, "fields": body}
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


def _decode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        return arrays[value["$array"]]
    if "$event" in value:
        cls = events.EVENT_TYPES.get(value["$event"]) or _PLAIN[value["$event"]]
        return cls(**{k: _decode(v, arrays) for k, v in value["fields"].items()})
    if "$tuple" in value:
        return tuple(_decode(v, arrays) for v in value["$tuple"])
    if "$dict" in value:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in value["$dict"]}
    if "$slice" in value:
        return slice(*value["$slice"])
    if "$ellipsis" in value:
        return Ellipsis
    if "$repr" in value:
        return value["$repr"]
    raise ValueError(f"unknown entry {sorted(value)}")
