"""The trace file layout (version 3): a header, the events as columns in a JSON index, and
the data holding each array once; a wrong index entry is refused with one line; files of
versions 1 and 2 still load."""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from trace_bytes import ALIGN, HEADER, read_v3, rewrite_v3, v2_bytes

import stepgrad as sg
from stepgrad.trace import TraceError, load_trace


def _recorded(size: int = 1000) -> sg.Trace:
    with sg.trace() as recorded:
        x = sg.tensor(np.linspace(-1, 1, size), requires_grad=True)
        (x.exp() * 2.0).sum().backward()
    return recorded


def _arrays(trace: sg.Trace) -> list[np.ndarray]:
    """Every array of every event, at each use."""
    found = []
    for event in trace:
        if event.kind == "forward":
            found += [*event.inputs, event.output]
        elif event.kind == "backward":
            found += [a for a in (event.upstream, *event.grads) if a is not None]
    return found


def test_a_shared_array_is_saved_once_and_the_file_is_near_the_arrays_size(
        tmp_path: Path) -> None:
    recorded = _recorded(20_000)  # exp's output is also mul's input: shared, saved once
    path = tmp_path / "run.sgtrace"
    recorded.save(path)
    held = sum(a.nbytes for a in {id(a): a for a in _arrays(recorded)}.values())
    assert path.stat().st_size <= 1.1 * held < sum(a.nbytes for a in _arrays(recorded))
    index, data = read_v3(path)
    assert (index["format"], index["version"]) == ("stepgrad-trace", 3)
    assert len(data) == sum(-(-a.nbytes // ALIGN) * ALIGN for a in _distinct(recorded))
    loaded = load_trace(path)
    forward = loaded.of_kind("forward")
    assert forward[1].inputs[0] is forward[0].output  # shared again after loading
    np.testing.assert_array_equal(forward[0].output, recorded.of_kind("forward")[0].output)


def _distinct(trace: sg.Trace) -> list[np.ndarray]:
    return list({id(a): a for a in _arrays(trace)}.values())


def test_the_index_holds_each_kind_of_event_as_columns(tmp_path: Path) -> None:
    recorded = _recorded(3)
    path = tmp_path / "run.sgtrace"
    recorded.save(path)
    index, data = read_v3(path)
    kinds = [index["kinds"][n] for n in index["order"]]
    assert kinds == [e.kind for e in recorded]
    forward = index["events"]["forward"]
    assert forward["op"] == [e.op for e in recorded.of_kind("forward")]
    first = recorded.of_kind("forward")[0]
    number = forward["output"][0]  # the first forward's output: array `number` in the data
    offset = sum(-(-int(np.prod(s)) * np.dtype(d).itemsize // ALIGN) * ALIGN for d, s in zip(
        index["arrays"]["dtype"][:number], index["arrays"]["shape"][:number]))
    assert data[offset:offset + first.output.nbytes] == first.output.tobytes()
    assert index["arrays"]["dtype"][number] == first.output.dtype.str


def _entry(field: str, value: object) -> Callable[[dict], None]:
    def change(index: dict) -> None:
        index["arrays"][field][0] = value
    return change


BAD_INDEX = {
    "shape past the data": (_entry("shape", [10**9]), "the arrays take"),
    "negative shape": (_entry("shape", [-3]), "not a list of sizes"),
    "shape of text": (_entry("shape", ["3"]), "not a list of sizes"),
    "object dtype": (_entry("dtype", "|O"), "not numbers"),
    "text dtype": (_entry("dtype", "<U3"), "not numbers"),
    "dtype is a list": (_entry("dtype", ["<f8"]), "a dtype and a shape"),
    "no such dtype": (_entry("dtype", "<q99"), "damaged"),
    "index is a list": (lambda index: index.update(arrays=[]), "not a mapping"),
}


@pytest.mark.parametrize("damage", sorted(BAD_INDEX))
def test_a_wrong_index_entry_is_refused_with_one_line(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "run.sgtrace"
    _recorded().save(path)
    change, words = BAD_INDEX[damage]
    rewrite_v3(path, change)
    with pytest.raises(TraceError, match=words) as refusal:
        load_trace(path)
    assert str(refusal.value).startswith(f"{path}: ") and "\n" not in str(refusal.value)


def test_a_version_2_trace_still_loads(tmp_path: Path) -> None:
    recorded = _recorded(50)
    path = tmp_path / "v2.sgtrace"
    path.write_bytes(v2_bytes(recorded))
    loaded = load_trace(path)
    assert [e.summary() for e in loaded] == [e.summary() for e in recorded]
    for mine, read in zip(_arrays(recorded), _arrays(loaded)):
        np.testing.assert_array_equal(mine, read)


def test_a_version_1_trace_still_loads(tmp_path: Path) -> None:
    output = np.array([1.0, 4.0])
    event = {"$event": "forward", "fields": {
        "seq": 1, "depth": 0, "node_id": 7, "op": "mul", "name": "mul_1",
        "inputs": {"$tuple": [{"$array": "a0"}]}, "input_ids": {"$tuple": [3]},
        "input_names": {"$tuple": ["x"]}, "input_requires_grad": {"$tuple": [True]},
        "output": {"$array": "a1"}, "attrs": {"$dict": []}, "module_path": "", "file": "",
        "line": 0, "requires_grad": True}}
    meta = json.dumps({"format": "stepgrad-trace", "version": 1, "events": [event]})
    path = tmp_path / "old.sgtrace"
    with open(path, "wb") as handle:
        np.savez_compressed(handle, a0=np.array([1.0, 2.0]), a1=output,
                            __meta__=np.frombuffer(meta.encode(), dtype=np.uint8))
    (loaded,) = load_trace(path)
    np.testing.assert_array_equal(loaded.output, output)
    assert loaded.name == "mul_1"


def _mixed() -> sg.Trace:
    """Big and small arrays, three dtypes, a transposed (not C-ordered) output, an empty one."""
    rng = np.random.default_rng(0)
    with sg.trace() as recorded:
        big = sg.tensor(rng.standard_normal((600, 400)), requires_grad=True)
        small = sg.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
        flags = sg.tensor(np.array([True, False, True]))
        empty = sg.tensor(np.zeros((0, 3)), requires_grad=True)
        ((big.tanh().T * 2.0).sum() + (small * flags).sum() + empty.sum()).backward()
    return recorded


def _assert_same_arrays(recorded: sg.Trace, loaded: sg.Trace) -> None:
    assert [e.summary() for e in loaded] == [e.summary() for e in recorded]
    for ours, theirs in zip(recorded, loaded):
        for mine, read in zip(_arrays(sg.Trace([ours])), _arrays(sg.Trace([theirs]))):
            assert mine.dtype == read.dtype and mine.shape == read.shape
            np.testing.assert_array_equal(mine, read)


def test_big_and_small_arrays_round_trip_exactly(tmp_path: Path) -> None:
    recorded = _mixed()
    assert any(not a.flags.c_contiguous for a in _arrays(recorded))  # the transpose's output
    path = tmp_path / "mixed.sgtrace"
    recorded.save(path)
    _assert_same_arrays(recorded, load_trace(path))


def test_a_short_write_is_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.writev may write less than asked (a signal, a nearly full disk): the rest follows."""
    writev = os.writev

    def short(fd: int, buffers: list[Any]) -> int:
        return writev(fd, buffers[:2])  # at most the first two buffers

    monkeypatch.setattr(os, "writev", short)
    recorded, path = _mixed(), tmp_path / "short.sgtrace"
    recorded.save(path)
    _assert_same_arrays(recorded, load_trace(path))


def test_saving_without_writev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "writev", raising=False)  # as on Windows
    recorded, path = _mixed(), tmp_path / "plain.sgtrace"
    recorded.save(path)
    _assert_same_arrays(recorded, load_trace(path))


def test_an_event_holding_an_array_of_objects_is_not_saved(tmp_path: Path) -> None:
    recorded = _recorded(3)
    forward = recorded.of_kind("forward")[0]
    odd = dataclasses.replace(forward, output=np.array([{"a": 1}], dtype=object))
    with pytest.raises(TraceError, match=r"^not saved: an array of dtype object"):
        sg.Trace([odd]).save(tmp_path / "odd.sgtrace")
    assert not list(tmp_path.iterdir())


def test_the_header_counts_every_byte(tmp_path: Path) -> None:
    path = tmp_path / "run.sgtrace"
    _recorded(10).save(path)
    raw = path.read_bytes()
    _, index_size, data_size, crc = HEADER.unpack_from(raw)
    start = HEADER.size + index_size
    assert start + -start % ALIGN + data_size == len(raw)
    assert json.loads(raw[HEADER.size:start])["version"] == 3
    assert crc == zlib.crc32(raw[start + -start % ALIGN:], zlib.crc32(raw[HEADER.size:start]))


class _Marked(np.ndarray):
    """An ndarray subclass, as np.memmap is: saved as the plain array of its bytes."""


def test_an_array_subclass_is_saved_as_its_values(tmp_path: Path) -> None:
    recorded = _recorded(3)
    forward = recorded.of_kind("forward")[0]
    marked = dataclasses.replace(forward, output=np.arange(3.0).view(_Marked))
    sg.Trace([marked]).save(tmp_path / "marked.sgtrace")
    (loaded,) = load_trace(tmp_path / "marked.sgtrace")
    assert type(loaded.output) is np.ndarray
    np.testing.assert_array_equal(loaded.output, [0.0, 1.0, 2.0])
