"""Damaged and hostile trace files are refused with one line; saving has a size limit.

The corpus is made here from a real trace (no binary blobs), in both layouts that load.
Version 3 (what `save` writes): a header whose lengths do not match the file, an index that
is not JSON or not UTF-8 or nested 100,000 deep, columns of the wrong type or length, array
numbers past the data, a dtype of objects, shapes that do not add up to the data.
Version 2 (a zip): broken deflate streams, an unsupported zip version and compression method,
fields of the wrong type, nesting deep enough to overflow a recursive reader, a member that
declares 2 GB, and a zip bomb that declares a few bytes and would unpack to 64 MB.
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
from typing import Any

import numpy as np
import pytest
from trace_bytes import HEADER, npy_bytes, v2_bytes, v3_bytes, zip_bytes

import stepgrad as sg
from stepgrad.debug.history import History
from stepgrad.trace import TraceError, load_trace, save

CENTRAL = b"PK\x01\x02"


def _recorded() -> sg.Trace:
    with sg.trace() as recorded:
        x = sg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        loss = (x.relu() * 2).sum()
        loss.backward()
        sg.optim.SGD([x], lr=0.1).step()
        sg.mark_iteration(0, loss=loss, accuracy=1.0)
    return recorded


def _members(good: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


_zip = zip_bytes


def _meta_member(meta: object) -> bytes:
    return npy_bytes(json.dumps(meta).encode())


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


V2_DAMAGED: dict[str, Callable[[bytes], bytes]] = {
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


def _index(change: Callable[[dict], Any]) -> Callable[[bytes], bytes]:
    """A version 3 file whose index `change` edited (in place, or by returning a new one)."""
    def damage(good: bytes) -> bytes:
        magic, index_size, data_size, _ = HEADER.unpack_from(good)
        index = json.loads(good[HEADER.size:HEADER.size + index_size])
        changed = change(index)  # a new index, or None (list.pop's value means in place)
        return v3_bytes(changed if isinstance(changed, dict) else index,
                        good[len(good) - data_size:])
    return damage


def _column(kind: str, name: str, value: Any) -> Callable[[bytes], bytes]:
    """The first value of field `name` of the first `kind` event set to `value`."""
    def change(index: dict) -> None:
        index["events"][kind][name][0] = value
    return _index(change)


def _raw_index(raw: bytes) -> Callable[[bytes], bytes]:
    return lambda good: v3_bytes(None, good[len(good) - HEADER.unpack_from(good)[2]:], raw)


def _lengths(good: bytes, index_size: int, data_size: int) -> bytes:
    magic, _, _, crc = HEADER.unpack_from(good)
    return HEADER.pack(magic, index_size, data_size, crc) + good[HEADER.size:]


def _flipped(position: Callable[[bytes], int]) -> Callable[[bytes], bytes]:
    """One bit flipped at `position(good)`: the lengths still fit, only the checksum tells."""
    def damage(good: bytes) -> bytes:
        at = position(good)
        return good[:at] + bytes([good[at] ^ 0x10]) + good[at + 1:]
    return damage


V3_DAMAGED: dict[str, Callable[[bytes], bytes]] = {
    "ends in the header": lambda good: good[:20],
    "ends in the data": lambda good: good[:-10],
    "longer than its header says": lambda good: good + bytes(64),
    "a bit flipped in the last array": _flipped(lambda good: len(good) - 1 - 64),
    "a bit flipped in the index": _flipped(lambda good: HEADER.size + 3),
    "a checksum that does not match": _flipped(lambda good: 24),
    "index length past the end": lambda good: _lengths(good, 2**60, HEADER.unpack_from(good)[2]),
    "data length of 2 GB": lambda good: _lengths(good, HEADER.unpack_from(good)[1], 2**31),
    "index is not json": _raw_index(b"{not json"),
    "index is not utf-8": _raw_index(b"\xff"),
    "index nested 100000 deep": _raw_index(
        b'{"format": "stepgrad-trace", "version": 3, "kinds": '
        + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    "output is text": _column("forward", "output", "a0"),
    "output is a float": _column("forward", "output", 0.0),
    "output is null": _column("forward", "output", None),
    "output past the arrays": _column("forward", "output", 10**6),
    "output is negative": _column("forward", "output", -1),
    "node id is text": _column("forward", "node_id", "x"),
    "inputs hold text": _column("forward", "inputs", ["a"]),
    "inputs is a number": _column("forward", "inputs", 3),
    "line is true": _column("forward", "line", True),
    "summed axes hold text": _column("backward", "summed_axes", [["x"]]),
    "attrs nested 200 deep": _column("forward", "attrs", json.loads(
        '{"$tuple": [' * 200 + "1" + "]}" * 200)),
    "slice of five": _column("forward", "attrs", {"$dict": [["s", {"$slice": [1, 2, 3, 4, 5]}]]}),
    "attrs is a list": _column("forward", "attrs", [1]),
    "metrics hold text": _column("iteration", "metrics", {"$dict": [["accuracy", "high"]]}),
    "a column is short": _index(lambda index: index["events"]["forward"]["seq"].pop()),
    "a field is missing": _index(lambda index: index["events"]["forward"].pop("line")),
    "an extra field": _index(lambda index: index["events"]["forward"].update(
        extra=index["events"]["forward"]["seq"])),
    "a table is a list": _index(lambda index: index["events"].update(forward=[])),
    "events is a list": _index(lambda index: {**index, "events": []}),
    "an unknown kind": _index(lambda index: _renamed_kind(index, "no-such-kind")),
    "kinds do not match the tables": _index(lambda index: index["kinds"].__setitem__(0, "x")),
    "order names no kind": _index(lambda index: index["order"].__setitem__(0, 99)),
    "order is text": _index(lambda index: {**index, "order": "0123"}),
    "one event too many": _index(lambda index: index["order"].append(0)),
    "params past their items": _index(lambda index: index["events"]["optimizer_step"][
        "params"]["lengths"].__setitem__(0, 5)),
    "params without lengths": _index(lambda index: index["events"]["optimizer_step"][
        "params"].pop("lengths")),
    "param grad is text": _index(lambda index: index["events"]["optimizer_step"]["params"][
        "items"]["grad"].__setitem__(0, "g")),
    "dtype is object": _index(lambda index: index["arrays"]["dtype"].__setitem__(0, "|O")),
    "no such dtype": _index(lambda index: index["arrays"]["dtype"].__setitem__(0, "<q99")),
    "dtype is a list": _index(lambda index: index["arrays"]["dtype"].__setitem__(0, ["<f8"])),
    "negative shape": _index(lambda index: index["arrays"]["shape"].__setitem__(0, [-3])),
    "shape past the data": _index(lambda index: index["arrays"]["shape"].__setitem__(0, [10**6])),
    "one shape too few": _index(lambda index: index["arrays"]["shape"].pop()),
    "arrays is a list": _index(lambda index: {**index, "arrays": []}),
}

def _renamed_kind(index: dict, name: str) -> None:
    index["events"][name] = index["events"].pop(index["kinds"][0])
    index["kinds"][0] = name


DAMAGED = {**{f"v2 {name}": damage for name, damage in V2_DAMAGED.items()},
           **{f"v3 {name}": damage for name, damage in V3_DAMAGED.items()}}


def _raw_meta(raw: bytes) -> bytes:
    return npy_bytes(raw)


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
    raw = v2_bytes(load_trace(good)) if request.param.startswith("v2 ") else good.read_bytes()
    path = tmp_path / "damaged.sgtrace"
    path.write_bytes(DAMAGED[request.param](raw))
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


def test_the_good_trace_round_trips_as_version_2(tmp_path: Path) -> None:
    recorded = _recorded()
    (tmp_path / "v2.sgtrace").write_bytes(v2_bytes(recorded))
    loaded = load_trace(tmp_path / "v2.sgtrace")
    assert [e.summary() for e in loaded] == [e.summary() for e in recorded]


def test_a_header_that_declares_2gb_is_refused_before_reading(tmp_path: Path) -> None:
    good = tmp_path / "good.sgtrace"
    _recorded().save(good)
    path = tmp_path / "big.sgtrace"
    path.write_bytes(V3_DAMAGED["data length of 2 GB"](good.read_bytes()))
    assert _unpacking_peak(path) < 10 * 2**20
    with pytest.raises(TraceError, match="truncated"):
        load_trace(path)


def test_loading_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "run.sgtrace"
    _recorded().save(path)
    with pytest.raises(TraceError, match=r"over the 100 B limit \(load_trace\(max_bytes"):
        load_trace(path, max_bytes=100)


def test_a_member_that_declares_2gb_is_refused_before_unpacking(tmp_path: Path) -> None:
    path = tmp_path / "big.sgtrace"
    path.write_bytes(_patch_central(v2_bytes(_recorded()), 24, "<I", 2**31))
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
