"""Trace files taken apart and put back together by hand, for the tests that damage them.

Written from the layouts the docstrings of stepgrad/trace_file.py describe (not with its
code), so these tests also pin the layout: version 3 is a 32-byte header (magic, index
length, data length, CRC-32 of the index then the data, 4 zero bytes), the JSON index,
zeros up to a multiple of 64, the data; version 2 is a zip of `__meta__.npy` (the JSON) and
`data.npy` (the arrays end to end, 64-byte aligned).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

import stepgrad as sg
from stepgrad.trace_columns import ArrayTable, encode_value

MAGIC = b"\x93SGTRACE"
HEADER = struct.Struct("<8sQQI4x")
ALIGN = 64


def read_v3(path: Path) -> tuple[dict[str, Any], bytes]:
    """The index and the data of a version 3 file."""
    raw = path.read_bytes()
    magic, index_size, data_size, _ = HEADER.unpack_from(raw)
    assert magic == MAGIC
    start = HEADER.size + index_size
    start += -start % ALIGN
    assert len(raw) == start + data_size
    return json.loads(raw[HEADER.size:HEADER.size + index_size]), raw[start:]


def v3_bytes(index: Any, data: bytes, raw_index: bytes | None = None) -> bytes:
    """A version 3 file holding `index` (or the bytes `raw_index`) and `data`."""
    text = json.dumps(index).encode() if raw_index is None else raw_index
    head = HEADER.pack(MAGIC, len(text), len(data), zlib.crc32(data, zlib.crc32(text))) + text
    return head + bytes(-len(head) % ALIGN) + data


def rewrite_v3(path: Path, change: Any) -> None:
    """Let `change(index)` edit a saved trace's index (or return a new one), in place."""
    index, data = read_v3(path)
    changed = change(index)
    path.write_bytes(v3_bytes(index if changed is None else changed, data))


def v2_bytes(trace: sg.Trace) -> bytes:
    """The trace as version 2 wrote it: an event per JSON object, arrays named a0, a1, ..."""
    table = ArrayTable()
    documents = _renamed([encode_value(event, table) for event in trace])
    index, chunks, offset = [], [], 0
    for array in table.arrays:
        raw = np.ascontiguousarray(array).tobytes()
        index.append([array.dtype.str, list(array.shape), offset])
        chunks.append(raw + bytes(-len(raw) % ALIGN))
        offset += len(chunks[-1])
    meta = {"format": "stepgrad-trace", "version": 2, "arrays": index, "events": documents}
    return zip_bytes({"__meta__.npy": npy_bytes(json.dumps(meta).encode()),
                      "data.npy": npy_bytes(b"".join(chunks))})


def _renamed(value: Any) -> Any:
    """Array numbers as version 2 wrote them ({"$array": "a3"})."""
    if isinstance(value, list):
        return [_renamed(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$array"}:
            return {"$array": f"a{value['$array']}"}
        return {k: _renamed(v) for k, v in value.items()}
    return value


def npy_bytes(raw: bytes) -> bytes:
    """An .npy file of the bytes `raw` as a flat uint8 array."""
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(raw, dtype=np.uint8))
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()
