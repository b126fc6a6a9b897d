"""The bytes of a trace file: writing them atomically, reading them back safely.

Layout (version 3): a 32-byte header, the JSON index, then the data.

    offset 0   b"\\x93SGTRACE"              8 bytes: not text, not a zip, not an .npy
           8   index length in bytes       little-endian unsigned 64-bit
          16   data length in bytes        little-endian unsigned 64-bit
          24   CRC-32 of the index bytes   little-endian unsigned 32-bit (zlib.crc32), then
               followed by the data bytes  4 zero bytes
          32   the index                   UTF-8 JSON (trace_columns.py: the events as
                                           columns; "arrays": each array's dtype and shape)
           D   the data                    D = 32 + index length, rounded up to ALIGN

The data is every array laid end to end in the order the index lists them, each in C order
and starting at a multiple of ALIGN bytes from D (zero bytes in between), so an array's
offset follows from the ones before it and is never stored. The file ends where the data
ends: the header's two lengths must account for every byte of it.

Why not the zip of versions 1 and 2 (`__meta__.npy`, `data.npy`): the arrays had to pass
through zipfile one write at a time, copied into its buffers. Here the arrays go to the file with
`os.writev` straight from their own memory (no copy; a system call per 256 arrays, each
followed by its padding). The CRC-32 is kept, as a zip member had one: a flipped bit in an
array is refused at load rather than shown as a value (zlib's crc32 runs at about 7 GB/s
here, 9 ms for a 59 MB trace). Versions 1 and 2 are still read, through zipfile.

Reading refuses anything it cannot trust with a TraceError (one line): never more than the
file holds or `max_bytes` in all, never an array from a pickle or outside the data; a zip
member never unpacks more than it declares.
"""

from __future__ import annotations

import glob
import io
import itertools
import json
import math
import operator
import os
import struct
import tempfile
import time
import typing
import zipfile
import zlib
from typing import Any

import numpy as np
import numpy.lib.format as npy

ALIGN = 64  # each array starts at a multiple of this in the data (aligned for numpy)
MAGIC = b"\x93SGTRACE"
_HEADER = struct.Struct("<8sQQI4x")  # magic, index length, data length, CRC-32, reserved
_ZIP_MAGIC = b"PK\x03\x04"
_PADDING = [bytes(n) for n in range(ALIGN)]


def _iov_max() -> int:
    """Buffers per os.writev: 512, or fewer where the system allows fewer (Linux and macOS
    allow 1024; POSIX promises 16)."""
    try:
        limit = os.sysconf("SC_IOV_MAX")
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows), or no such name
        return 16
    return min(512, limit) if limit >= 16 else 16


_IOV_MAX = _iov_max()
_CHUNK = 2**20
#: What reading a damaged archive can raise, besides TraceError: a bad zip, an unsupported
#: compression or zip version, a broken deflate stream, a truncated file, bad JSON or UTF-8.
_DAMAGED = (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError,
            RuntimeError, zlib.error, OverflowError, MemoryError, IndexError)


class TraceError(ValueError):
    """A trace file that cannot be read: not a trace, from a newer version, or damaged."""


def write_atomically(path: str | os.PathLike[str], index: bytes,
                     arrays: list[np.ndarray]) -> None:
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
        with os.fdopen(fd, "wb", buffering=0) as handle:
            _write_trace(handle, index, arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_trace(handle: typing.BinaryIO, index: bytes, arrays: list[np.ndarray]) -> None:
    """The header, the index, and every array's bytes straight from its memory."""
    sizes = list(map(operator.attrgetter("nbytes"), arrays))
    gaps = [-size % ALIGN for size in sizes]
    contiguous = [a if a.flags.c_contiguous else np.ascontiguousarray(a) for a in arrays]
    crc = zlib.crc32(index)
    for array, gap in zip(contiguous, gaps):
        crc = zlib.crc32(_PADDING[gap], zlib.crc32(array.data, crc))  # C-contiguous
    head = _HEADER.pack(MAGIC, len(index), sum(sizes) + sum(gaps), crc) + index
    head += _PADDING[-len(head) % ALIGN]
    buffers = [head, *itertools.chain.from_iterable(
        zip(contiguous, map(_PADDING.__getitem__, gaps)))]
    lengths = [len(head), *itertools.chain.from_iterable(zip(sizes, gaps))]
    for start in range(0, len(buffers), _IOV_MAX):
        chunk = slice(start, start + _IOV_MAX)
        _write_all(handle, buffers[chunk], sum(lengths[chunk]))


def _write_all(handle: typing.BinaryIO, buffers: list[Any], total: int) -> None:
    """The `total` bytes of `buffers`, in one os.writev where the system has it."""
    written = os.writev(handle.fileno(), buffers) if hasattr(os, "writev") else 0
    if written < total:  # no writev (Windows), or a short write (a full disk, a signal)
        rest = memoryview(b"".join(buffers))[written:]
        while rest:
            rest = rest[handle.write(rest) or 0:]


def describe(arrays: list[np.ndarray]) -> dict[str, list[Any]]:
    """The index's "arrays": each array's dtype and shape, in the order of the data;
    TypeError for an array of anything but numbers (a trace holds no objects)."""
    dtypes = list(map(operator.attrgetter("dtype"), arrays))
    names = {dtype: dtype.str for dtype in set(dtypes)}
    for dtype in names:
        if dtype.kind not in "biufc":
            raise TypeError(f"an array of dtype {dtype} (a trace holds arrays of numbers)")
    return {"dtype": list(map(names.__getitem__, dtypes)),
            "shape": list(map(operator.attrgetter("shape"), arrays))}


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
            magic = handle.read(len(MAGIC))
            if magic == MAGIC:
                return _read_version_3(handle, max_bytes)
            if magic[:4] != _ZIP_MAGIC:  # np.load would also take .npy and pickles
                raise TraceError(f"{path}: not a stepgrad trace (neither a version 3 trace "
                                 "nor a .npz archive)")
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


def _read_version_3(handle: typing.BinaryIO, max_bytes: int) -> tuple[Any, dict[str, Any]]:
    """The index and the flat data of a version 3 file, after checking that the header's
    lengths account for exactly the file's bytes (so nothing read is bigger than the file)."""
    header = handle.read(_HEADER.size - len(MAGIC))
    if len(header) < _HEADER.size - len(MAGIC):
        raise TraceError("the file ends inside its header (truncated)")
    _, index_size, data_size, crc = _HEADER.unpack(MAGIC + header)
    start = _HEADER.size + index_size
    start += -start % ALIGN
    size = os.fstat(handle.fileno()).st_size
    if start + data_size != size:
        raise TraceError(f"the header describes {start + data_size} bytes, the file holds "
                         f"{size} ({'truncated' if size < start + data_size else 'damaged'})")
    if index_size + data_size > max_bytes:
        raise TraceError(f"the trace holds {size_text(index_size + data_size)}, over the "
                         f"{size_text(max_bytes)} limit (load_trace(max_bytes=...))")
    index = bytearray(index_size)
    _read_into(handle, memoryview(index))
    handle.seek(start)
    data = np.empty(data_size, np.uint8)
    _read_into(handle, data.data)
    if zlib.crc32(data.data, zlib.crc32(index)) != crc:
        raise TraceError("the file is damaged: its bytes do not match the checksum saved "
                         "with them")
    return json.loads(index), {"data": data}


def _read_into(handle: typing.BinaryIO, view: memoryview) -> None:
    """Fill `view` from the file (straight into its memory, no copy in between)."""
    done = 0
    while done < view.nbytes:
        count = handle.readinto(view[done:])  # type: ignore[attr-defined]
        if not count:
            raise TraceError("the file is shorter than its header says (truncated)")
        done += count


def unpack_columns(index: Any, data: np.ndarray | None) -> dict[Any, np.ndarray | None]:
    """The arrays of a version 3 trace by number, as views into the data (and None: None,
    for the gradients nobody needed); each dtype a plain number type, each shape a list of
    non-negative ints, and together exactly the bytes of the data."""
    if not isinstance(index, dict) or sorted(index) != ["dtype", "shape"]:
        raise TypeError("'arrays' is not a mapping of dtype and shape")
    dtypes, shapes = index["dtype"], index["shape"]
    if not (isinstance(dtypes, list) and isinstance(shapes, list) and len(dtypes) == len(
            shapes) and set(map(type, dtypes)) <= {str} and set(map(type, shapes)) <= {list}):
        raise TypeError("'arrays' needs a dtype and a shape for each array")
    sides = list(itertools.chain.from_iterable(shapes))
    if not set(map(type, sides)) <= {int} or min(sides, default=0) < 0:
        raise TypeError("an array's shape is not a list of sizes")
    kinds = {name: np.dtype(name) for name in set(dtypes)}
    for name, dtype in kinds.items():
        if dtype.kind not in "biufc":
            raise TypeError(f"an array has dtype {name[:20]}, not numbers")
    sizes = [math.prod(shape) * kinds[name].itemsize for name, shape in zip(dtypes, shapes)]
    ends = list(itertools.accumulate(size + -size % ALIGN for size in sizes))
    if data is None or (ends[-1] if ends else 0) != data.size:
        raise ValueError(f"the arrays take {ends[-1] if ends else 0} bytes, the data holds "
                         f"{None if data is None else data.size}")
    arrays: dict[Any, np.ndarray | None] = {None: None}
    starts = itertools.chain((0,), ends)
    for number, (name, shape, start) in enumerate(zip(dtypes, shapes, starts)):
        arrays[number] = np.ndarray(shape, kinds[name], data, start)
    return arrays


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
