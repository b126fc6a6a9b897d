"""The trace file layout (version 2): one flat data member holding each array once, and an
index in the JSON; a wrong index entry is refused with one line; version 1 files still load."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

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
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["__meta__.npy", "data.npy"]
        assert archive.getinfo("data.npy").compress_type == zipfile.ZIP_STORED
    loaded = load_trace(path)
    forward = loaded.of_kind("forward")
    assert forward[1].inputs[0] is forward[0].output  # shared again after loading
    np.testing.assert_array_equal(forward[0].output, recorded.of_kind("forward")[0].output)


def _rewrite(path: Path, change: Callable[[dict, dict[str, bytes]], None]) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    meta = json.loads(np.load(io.BytesIO(members["__meta__.npy"])).tobytes())
    change(meta, members)
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    members["__meta__.npy"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _entry(position: int, value: object) -> Callable[[dict, dict], None]:
    def change(meta: dict, members: dict) -> None:
        meta["arrays"][0][position] = value
    return change


def _drop_data(meta: dict, members: dict) -> None:
    del members["data.npy"]


BAD_INDEX = {
    "offset past the data": (_entry(2, 10**9), "lies outside the data"),
    "negative shape": (_entry(1, [-3]), "described as"),
    "object dtype": (_entry(0, "|O"), "not numbers"),
    "dtype is a list": (_entry(0, ["<f8"]), "described as"),
    "no such dtype": (_entry(0, "<q99"), "damaged"),
    "index is a mapping": (lambda meta, members: meta.update(arrays={}), "not a list"),
    "no data member": (_drop_data, "no flat data member"),
}


@pytest.mark.parametrize("damage", sorted(BAD_INDEX))
def test_a_wrong_index_entry_is_refused_with_one_line(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "run.sgtrace"
    _recorded().save(path)
    change, words = BAD_INDEX[damage]
    _rewrite(path, change)
    with pytest.raises(TraceError, match=words) as refusal:
        load_trace(path)
    assert str(refusal.value).startswith(f"{path}: ") and "\n" not in str(refusal.value)


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


def test_big_and_small_arrays_round_trip_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    with sg.trace() as recorded:  # 2.9 MB arrays (written straight) and small ones (gathered)
        big = sg.tensor(rng.standard_normal((600, 600)), requires_grad=True)
        small = sg.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
        flags = sg.tensor(np.array([True, False, True]))
        ((big.tanh() * 2.0).sum() + (small * flags).sum()).backward()
    path = tmp_path / "mixed.sgtrace"
    recorded.save(path)
    loaded = load_trace(path)
    for ours, theirs in zip(recorded, loaded):
        for mine, read in zip(_arrays(sg.Trace([ours])), _arrays(sg.Trace([theirs]))):
            assert mine.dtype == read.dtype and mine.shape == read.shape
            np.testing.assert_array_equal(mine, read)
