"""Damaged and hostile trace files are refused with one line; saving has a size limit.

The corpus is made here from a real trace (no binary blobs): broken deflate streams, an
unsupported zip version and compression method, fields of the wrong type, nesting deep
enough to overflow a recursive reader, a member that declares 2 GB, and a zip bomb that
declares a few bytes and would unpack to 64 MB.
"""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import stepgrad as sg
from stepgrad.debug.history import History
from stepgrad.trace import TraceError, load_trace, save

CENTRAL = b"PK\x01\x02"


def _recorded() -> sg.Trace:
    with sg.trace() as recorded:
        x = sg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        (x.relu() * 2).sum().backward()
    return recorded


def _members(good: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _meta_member(meta: object) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    return buffer.getvalue()


def _with_meta(good: bytes, change: Callable[[dict], object]) -> bytes:
    members = _members(good)
    meta = json.loads(np.load(io.BytesIO(members["__meta__.npy"])).tobytes())
    members["__meta__.npy"] = _meta_member(change(meta))
    return _zip(members)


def _field(name: str, value: object) -> Callable[[dict], dict]:
    def change(meta: dict) -> dict:
        forward = next(e for e in meta["events"] if e.get("$event") == "forward")
        forward["fields"][name] = value
        return meta
    return change


def _patch_central(good: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Change one field of every central-directory record (offsets from the signature)."""
    data, start = bytearray(good), 0
    while (start := data.find(CENTRAL, start)) >= 0:
        struct.pack_into(fmt, data, start + offset, value)
        start += 4
    return bytes(data)


def _broken_deflate(good: bytes) -> bytes:
    data = bytearray(good)
    local = data.find(b"__meta__") - 30  # the meta member's local header
    body = local + 30 + sum(struct.unpack_from("<HH", data, local + 26))  # name, extra
    data[body:body + 8] = b"\xff" * 8
    return bytes(data)


def _nested(depth: int) -> Callable[[dict], dict]:
    return _field("attrs", json.loads('{"$tuple": [' * depth + "1" + "]}" * depth))


DAMAGED: dict[str, Callable[[bytes], bytes]] = {
    "zlib error": _broken_deflate,
    "zip version 10.0": lambda good: _patch_central(good, 6, "<H", 100),
    "compression method 99": lambda good: _patch_central(good, 10, "<H", 99),
    "output is a number": lambda good: _with_meta(good, _field("output", 5)),
    "node id is text": lambda good: _with_meta(good, _field("node_id", "x")),
    "inputs hold text": lambda good: _with_meta(good, _field("inputs", {"$tuple": ["a"]})),
    "line is true": lambda good: _with_meta(good, _field("line", True)),
    "fields is a list": lambda good: _with_meta(good, lambda m: {
        **m, "events": [{"$event": "forward", "fields": []}]}),
    "events is a mapping": lambda good: _with_meta(good, lambda m: {**m, "events": {}}),
    "an event is a number": lambda good: _with_meta(good, lambda m: {**m, "events": [3]}),
    "slice of five": lambda good: _with_meta(good, _field("attrs", {"$slice": [1, 2, 3, 4, 5]})),
    "nested 200 deep": lambda good: _with_meta(good, _nested(200)),
    "nested 100000 deep": lambda good: _zip({**_members(good), "__meta__.npy": _raw_meta(
        b'{"format": "stepgrad-trace", "version": 1, "events": '
        + b"[" * 100_000 + b"]" * 100_000 + b"}")}),
    "array of objects": lambda good: _zip({**_members(good), "a0.npy": _object_npy()}),
    "array shorter than its shape": lambda good: _zip({**_members(good), "a0.npy": _short_npy()}),
    "member is not npy": lambda good: _zip({**_members(good), "a0.npy": b"hello"}),
    "meta is not utf-8": lambda good: _zip({**_members(good), "__meta__.npy": _raw_meta(b"\xff")}),
}


def _raw_meta(raw: bytes) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(raw, dtype=np.uint8))
    return buffer.getvalue()


def _object_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _short_npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((10, 10)))
    return buffer.getvalue()[:-80]


@pytest.fixture(params=sorted(DAMAGED), ids=sorted(DAMAGED))
def damaged_trace(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """One damaged trace from the corpus, made from a real trace's bytes."""
    good = tmp_path / "good.sgtrace"
    _recorded().save(good)
    path = tmp_path / "damaged.sgtrace"
    path.write_bytes(DAMAGED[request.param](good.read_bytes()))
    return path


def test_a_damaged_trace_is_refused_with_one_line(damaged_trace: Path) -> None:
    with pytest.raises(TraceError) as refusal:
        load_trace(damaged_trace)
    message = str(refusal.value)
    assert message.startswith(f"{damaged_trace}: ") and "\n" not in message
    assert len(message) < 400 + len(str(damaged_trace))


def test_replay_refuses_a_damaged_trace_with_exit_2(
    damaged_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from stepgrad import cli

    assert cli.main(["replay", str(damaged_trace), "--repl"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_good_trace_round_trips(tmp_path: Path) -> None:
    recorded = _recorded()
    recorded.save(tmp_path / "good.sgtrace")
    loaded = load_trace(tmp_path / "good.sgtrace")
    assert [e.kind for e in loaded] == [e.kind for e in recorded]
    forward = loaded.of_kind("forward")[0]
    assert np.array_equal(forward.output, recorded.of_kind("forward")[0].output)


def _unpacking_peak(path: Path) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(TraceError):
            load_trace(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_member_that_declares_2gb_is_refused_before_unpacking(tmp_path: Path) -> None:
    good = tmp_path / "good.sgtrace"
    _recorded().save(good)
    path = tmp_path / "big.sgtrace"
    path.write_bytes(_patch_central(good.read_bytes(), 24, "<I", 2**31))
    assert _unpacking_peak(path) < 10 * 2**20
    with pytest.raises(TraceError, match="over the 1.0 GB limit"):
        load_trace(path)


def test_a_zip_bomb_that_lies_about_its_size_stops_at_what_it_declared(tmp_path: Path) -> None:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = b"".join(squeeze.compress(bytes(2**20)) for _ in range(64)) + squeeze.flush()
    honest = _zip({"__meta__.npy": _meta_member({"format": "stepgrad-trace", "version": 1,
                                                  "events": []}), "a0.npy": b"x" * 1000})
    data = bytearray(honest)
    local = data.rfind(b"PK\x03\x04")
    body = local + 30 + sum(struct.unpack_from("<HH", data, local + 26))
    compressed = struct.unpack_from("<I", data, local + 18)[0]
    data[body:body + compressed] = bomb  # declared: 1000 bytes; inside: 64 MB of zeros
    for start in (local, data.rfind(CENTRAL)):
        offset = 18 if start == local else 20
        struct.pack_into("<I", data, start + offset, len(bomb))
    fixed = data.rfind(CENTRAL)
    end = data.find(b"PK\x05\x06")
    struct.pack_into("<I", data, end + 16, fixed)  # the central directory moved
    path = tmp_path / "bomb.sgtrace"
    path.write_bytes(bytes(data))
    assert len(bomb) < 2**20 and _unpacking_peak(path) < 10 * 2**20


def test_saving_over_the_limit_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    recorded = _recorded()
    path = tmp_path / "run.sgtrace"
    with pytest.raises(TraceError, match=r"^not saved: .* over the 100 B limit"):
        recorded.save(path, max_bytes=100)
    assert list(tmp_path.iterdir()) == []
    recorded.save(path)  # the default limit holds it
    assert len(load_trace(path)) == len(recorded)


def test_save_takes_a_history_or_a_list(tmp_path: Path) -> None:
    history = History()
    for event in _recorded():
        history.append(event)
    save(history, tmp_path / "history.sgtrace")
    save(list(history)[:3], tmp_path / "three.sgtrace")
    assert len(load_trace(tmp_path / "history.sgtrace")) == len(list(history))
    assert len(load_trace(tmp_path / "three.sgtrace")) == 3


def test_saving_where_nothing_can_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(TraceError, match="could not save the trace"):
        save(_recorded(), tmp_path / "file" / "run.sgtrace")


def test_a_killed_save_leaves_a_temporary_that_the_next_save_removes(tmp_path: Path) -> None:
    import os
    import time

    stale, fresh = tmp_path / ".trace-killed.tmp", tmp_path / ".trace-busy.tmp"
    for temporary in (stale, fresh):
        temporary.write_bytes(b"PK half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    save(_recorded(), tmp_path / "run.sgtrace")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".trace-busy.tmp", "run.sgtrace"]
