"""The bytes of a trace file: writing them atomically, reading them back safely.

Layout (version 2): a zip archive numpy can open (`.npz`) with two members, `__meta__.npy`
(the JSON description, deflated) and `data.npy` (every array laid end to end, each starting
at a multiple of ALIGN bytes, stored uncompressed). trace.py turns events into that JSON
and back; this module only moves bytes, and refuses anything it cannot trust with a
TraceError (one line): reading never unpacks more than a member declares, never more than
`max_bytes` in all, and never builds an array from a pickle or outside the data.
"""

from __future__ import annotations

import glob
import io
import json
import math
import os
import tempfile
import time
import typing
import zipfile
import zlib
from typing import Any

import numpy as np
import numpy.lib.format as npy

ALIGN = 64  # each array starts at a multiple of this in the data (aligned for numpy)
_ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 2**20
#: What reading a damaged archive can raise, besides TraceError: a bad zip, an unsupported
#: compression or zip version, a broken deflate stream, a truncated file, bad JSON or UTF-8.
_DAMAGED = (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError,
            RuntimeError, zlib.error, OverflowError, MemoryError, IndexError)


class TraceError(ValueError):
    """A trace file that cannot be read: not a trace, from a newer version, or damaged."""


def write_atomically(path: str | os.PathLike[str], meta: bytes, arrays: list[np.ndarray],
                     total: int) -> None:
    """A temporary file in the same folder, then os.replace; a killed save leaves the old
    file whole, and its temporary file is removed by the next save there after a minute."""
    folder = os.path.dirname(os.path.abspath(path))
    for stale in glob.glob(os.path.join(glob.escape(folder), ".trace-*.tmp")):
        try:
            if time.time() - os.path.getmtime(stale) > 60:
                os.unlink(stale)
        except OSError:
            pass  # another save's, or already gone
    fd, tmp = tempfile.mkstemp(prefix=".trace-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            _write_members(handle, meta, arrays, total)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_members(handle: typing.BinaryIO, meta: bytes, arrays: list[np.ndarray],
                   total: int) -> None:
    """The JSON (deflated: text shrinks well) and every array's bytes in one stored member."""
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr("__meta__.npy", _npy_header(len(meta)) + meta,
                         compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        with archive.open("data.npy", "w", force_zip64=True) as member:
            member.write(_npy_header(total))
            # small arrays gathered into 1 MB writes (a call per array cost 80 ms of 300 for
            # a 16,000-array trace)
            pending: list[bytes | memoryview] = []
            size = 0
            for array in arrays:
                flat = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
                if flat.nbytes >= _CHUNK:  # a big one goes straight to the file
                    member.write(b"".join(pending))
                    member.write(flat.data)
                    pending, size = [], 0
                else:
                    pending.append(flat.data)
                    size += flat.nbytes
                pending.append(bytes(-array.nbytes % ALIGN))
                if size >= _CHUNK:
                    member.write(b"".join(pending))
                    pending, size = [], 0
            member.write(b"".join(pending))


def _npy_header(count: int) -> bytes:
    """The .npy header of a flat array of `count` bytes."""
    stream = io.BytesIO()
    npy.write_array_header_1_0(stream, {"descr": "|u1", "fortran_order": False,
                                        "shape": (count,)})
    return stream.getvalue()


def unpack(index: Any, data: np.ndarray | None) -> dict[str, np.ndarray]:
    """The arrays `a0, a1, ...` as views into the flat data, each entry checked: a plain
    number dtype, a shape of non-negative ints, and bytes that lie inside the data."""
    if not isinstance(index, list):
        raise TypeError("'arrays' is not a list")
    if data is None or data.dtype != np.uint8 or data.ndim != 1:
        raise ValueError("no flat data member")
    arrays = {}
    for number, entry in enumerate(index):
        descr, shape, offset = entry
        if not isinstance(descr, str) or not isinstance(shape, list) or not all(
                type(n) is int and n >= 0 for n in [*shape, offset]):
            raise TypeError(f"array {number} is described as {str(entry)[:60]}")
        dtype = np.dtype(descr)
        if dtype.kind not in "biufc":
            raise TypeError(f"array {number} has dtype {descr[:20]}, not numbers")
        count = math.prod(shape)
        if offset + count * dtype.itemsize > data.size:
            raise ValueError(f"array {number} lies outside the data")
        arrays[f"a{number}"] = np.frombuffer(data, dtype, count, offset).reshape(shape) \
            if count else np.zeros(shape, dtype)
    return arrays


def read_archive(path: str | os.PathLike[str],
                 max_bytes: int) -> tuple[Any, dict[str, np.ndarray]]:
    """The JSON description and the arrays of a trace file, or a TraceError saying why not."""
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != _ZIP_MAGIC:  # np.load would also take .npy and pickles
                raise TraceError(f"{path}: not a stepgrad trace (not a .npz archive)")
            with zipfile.ZipFile(handle) as archive:
                arrays = _read_members(archive, max_bytes)
        if "__meta__" not in arrays:
            raise TraceError(f"{path}: not a stepgrad trace (no event description inside); "
                             f"make one with `with sg.trace() as t: ...` then t.save(path)")
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
        return meta, arrays
    except TraceError as error:
        if str(error).startswith(f"{path}: "):
            raise
        raise TraceError(f"{path}: not a readable stepgrad trace ({error})") from None
    except FileNotFoundError:
        raise TraceError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise TraceError(f"{path}: a folder, not a trace file") from None
    except RecursionError:
        raise TraceError(f"{path}: the trace is damaged (nested too deeply)") from None
    except _DAMAGED as error:
        reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise TraceError(f"{path}: not a readable stepgrad trace ({reason})") from None


def _read_members(archive: zipfile.ZipFile, max_bytes: int) -> dict[str, np.ndarray]:
    """Every `name.npy` member as an array, unpacking at most `max_bytes` in all."""
    arrays: dict[str, np.ndarray] = {}
    budget = max_bytes
    for info in archive.infolist():
        if info.file_size > budget:
            raise TraceError(f"member {info.filename[:80]!r} unpacks to "
                             f"{size_text(info.file_size)}, over the {size_text(max_bytes)} "
                             f"limit (load_trace(max_bytes=...))")
        budget -= info.file_size
        with archive.open(info) as member:
            data = _read_exactly(member, info.file_size)
        arrays[info.filename.removesuffix(".npy")] = _array(data)
    return arrays


def _read_exactly(member: typing.IO[bytes], size: int) -> bytearray:
    """`size` bytes in chunks of a megabyte; never reads more than the member declared."""
    data = bytearray(size)
    view, done = memoryview(data), 0
    while done < size:
        chunk = member.read(min(_CHUNK, size - done))
        if not chunk:
            raise TraceError("a member is shorter than it declares (truncated)")
        view[done:done + len(chunk)] = chunk
        done += len(chunk)
    if member.read(1):
        raise TraceError("a member is longer than it declares")
    return data


def _array(data: bytearray) -> np.ndarray:
    """A `.npy` payload as an array, without pickles and without trusting its header's shape."""
    stream = io.BytesIO(data)
    version = npy.read_magic(stream)
    readers = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}
    if version not in readers:
        raise TraceError(f"unsupported .npy version {version}")
    shape, fortran, dtype = readers[version](stream)
    if dtype.hasobject:
        raise TraceError("an array holds Python objects (traces never do)")
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if count * dtype.itemsize != len(data) - stream.tell():
        raise TraceError(f"an array's data does not match its shape {shape}")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=stream.tell())
    return flat.reshape(shape, order="F" if fortran else "C")


def size_text(n: int) -> str:
    from stepgrad.debug.history import format_size

    return format_size(n)
