"""Events as columns: the JSON index of a version 3 trace, written and read a field at a time.

Version 2 described each event as a JSON object of its own; for a 10,500-event trace building
and reading those objects took most of the saving time (and of the loading time). Version 3
keeps the events of each kind as a table, one list per field, in the order those events
happened, plus `order`, the kind of every event in turn:

    {"kinds": ["forward", "backward"], "order": [0, 0, 1],
     "events": {"forward": {"seq": [1, 2], "output": [0, 2], "inputs": [[5], [0, 1]], ...},
                "backward": {"seq": [3], "grads": [[7, null]], ...}}}

Saving takes one field from every event at once (`operator.attrgetter`, in C) and `json` turns
whole lists into text; loading checks a whole column at a time (trace_check.check_column) and
builds the events with one call each. How a field is written follows its annotation in
events.py, so both sides agree without tags:

- numbers, text, flags and None as themselves, a tuple of them as a list (`_PLAIN`);
- an array as its number in the trace's data (`ArrayTable` numbers each array the first time
  it meets one, so an array shared by several events is stored once), None as null;
- a dataclass (an optimizer step's ParamUpdates) as a table of its own, with `lengths`
  saying how many belong to each event;
- anything else (`attrs`, `metrics`: any value) tagged, as versions 1 and 2 wrote every value:
  {"$tuple": [...]}, {"$array": n}, {"$dict": [[key, value], ...]}, {"$slice": [...]}.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import operator
import types
import typing
from typing import Any

import numpy as np

from stepgrad import events
from stepgrad.trace_check import check_column, field_hints

_PLAIN = (int, float, str, bool, types.NoneType)
#: The arrays of a trace by number (and None: None, the gradient an input did not need)
Arrays = typing.Mapping[Any, "np.ndarray | None"]
_ARRAY = (np.ndarray, types.NoneType)


class ArrayTable:
    """Every array met while encoding, numbered in the order first met (each object once)."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        # id -> number; the table holds each array, so no other object can take its id
        self._numbers: dict[int, int | None] = {id(None): None}

    def number(self, value: np.ndarray | None) -> int | None:
        """`value`'s number in the data (None stays None: a gradient nobody needs)."""
        return self.numbers([value])[0]

    def numbers(self, values: typing.Sequence[np.ndarray | None]) -> list[int | None]:
        """The number of each value of a column. Looked up with map, in C: a Python call
        per array was a fifth of the time to save a 10,500-event trace."""
        known = self._numbers
        keys = list(map(id, values))
        new: dict[int, Any] = {k: v for k, v in zip(keys, values) if k not in known}  # once each
        if new:
            if set(map(type, new.values())) != {np.ndarray}:
                new = {k: _array(v) for k, v in new.items()}
            known.update(zip(new, range(len(self.arrays), len(self.arrays) + len(new))))
            self.arrays.extend(new.values())
        return list(map(known.__getitem__, keys))


def _array(value: Any) -> np.ndarray:
    """An ndarray subclass (np.memmap) as a plain array of its bytes; TypeError for others."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{type(value).__name__} where an array belongs")
    return np.asarray(value)


# -- a field's form, from its annotation ---------------------------------------------------------
def _form(hint: Any) -> Any:
    """How a field with annotation `hint` is written: "plain", "array", "tagged",
    ("tuple", form of an item) or ("table", dataclass)."""
    options = set(typing.get_args(hint)) if typing.get_origin(hint) in (
        typing.Union, types.UnionType) else {hint}
    if options <= set(_PLAIN):
        return "plain"
    if np.ndarray in options and options <= set(_ARRAY):
        return "array"
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[1:] == (Ellipsis,):
        return ("tuple", _form(typing.get_args(hint)[0]))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return ("table", hint)
    return "tagged"


def _native(form: Any) -> bool:
    """Whether json writes a field of this form as it is: plain values and tuples of them."""
    return form == "plain" or (form[0] == "tuple" and _native(form[1]))


#: dataclass -> [(field name, annotation, form)], worked out once per class
_FIELDS: dict[type, list[tuple[str, Any, Any]]] = {}


def _fields(cls: type) -> list[tuple[str, Any, Any]]:
    found = _FIELDS.get(cls)
    if found is None:
        found = _FIELDS[cls] = [(name, hint, _form(hint)) for name, hint in field_hints(cls)]
    return found


# -- saving ---------------------------------------------------------------------------------------
def encode_events(recorded: list[events.Event], table: ArrayTable) -> dict[str, Any]:
    """The `kinds`, `order` and `events` of the index; arrays go into `table`."""
    groups: dict[type[events.Event], list[events.Event]] = {}
    for event in recorded:
        groups.setdefault(type(event), []).append(event)
    for cls in groups:
        if events.EVENT_TYPES.get(cls.kind) is not cls:
            raise TypeError(f"{cls.__name__} is not an event a trace can hold")
    number = {cls: n for n, cls in enumerate(groups)}
    return {"kinds": [cls.kind for cls in groups],
            "order": list(map(number.__getitem__, map(type, recorded))),
            "events": {cls.kind: _encode_table(cls, rows, table) for cls, rows in groups.items()}}


def _encode_table(cls: type, rows: typing.Sequence[Any], table: ArrayTable) -> dict[str, Any]:
    fields = _fields(cls)
    take = operator.attrgetter(*[name for name, _, _ in fields])  # a tuple of every field
    rows = [(value,) for value in map(take, rows)] if len(fields) == 1 else list(map(take, rows))
    columns = list(zip(*rows)) or [()] * len(fields)  # zip makes nothing of no rows
    return {name: _encode_column(form, column, table)
            for (name, _, form), column in zip(fields, columns)}


def _encode_column(form: Any, column: typing.Sequence[Any], table: ArrayTable) -> Any:
    if _native(form):
        return column  # json writes tuples as lists
    if form == "array":
        return table.numbers(column)
    if form == "tagged":
        return [encode_value(value, table) for value in column]
    if form[0] == "table":
        return _encode_table(form[1], column, table)
    if form[1] == "array":  # a tuple of arrays (an op's inputs, the grads it sends)
        numbers = iter(table.numbers(list(itertools.chain.from_iterable(column))))
        return [list(itertools.islice(numbers, n)) for n in map(len, column)]
    return {"lengths": list(map(len, column)),  # a tuple of dataclasses: one table for all
            "items": _encode_column(form[1], list(itertools.chain.from_iterable(column)),
                                    table)}


_ATOMIC = (str, int, float, bool, type(None))


def encode_value(value: Any, table: ArrayTable) -> Any:
    """Any value as tagged JSON: what versions 1 and 2 wrote for every field."""
    if type(value) in _ATOMIC:
        return value
    if type(value) is np.ndarray and value.dtype.kind in "biufc":
        return {"$array": table.number(value)}
    if isinstance(value, tuple):
        return {"$tuple": [encode_value(v, table) for v in value]}
    if isinstance(value, list):
        return [encode_value(v, table) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[encode_value(k, table), encode_value(v, table)]
                          for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$event": value.kind if isinstance(value, events.Event) else type(value).__name__,
                "fields": {f.name: encode_value(getattr(value, f.name), table)
                           for f in dataclasses.fields(value)}}
    if isinstance(value, slice):
        return {"$slice": [value.start, value.stop, value.step]}
    if value is Ellipsis:
        return {"$ellipsis": True}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    return {"$repr": repr(value)}


def plain_json(value: Any) -> Any:
    """json's `default` hook for plain fields: a numpy number as a Python one, nothing else."""
    if isinstance(value, np.generic) and not isinstance(value, np.void):
        return value.item()
    raise TypeError(f"{type(value).__name__} {repr(value)[:40]} cannot be saved in a trace")


# -- loading ---------------------------------------------------------------------------------------
def decode_events(index: dict[str, Any], arrays: Arrays) -> list[events.Event]:
    """The events an index describes, every field checked; arrays by number (and None: None)."""
    kinds, order, tables = index["kinds"], index["order"], index["events"]
    _expect(kinds, str, "kinds")
    _expect(order, int, "order")
    if not isinstance(tables, dict) or sorted(tables) != sorted(kinds) or len(set(kinds)) < len(
            kinds):
        raise ValueError("the event tables do not match the kinds")
    counts = collections.Counter(order)
    if counts and not (min(counts) >= 0 and max(counts) < len(kinds)):
        raise ValueError("an event's kind number is not one of the kinds")
    made = []
    for number, kind in enumerate(kinds):
        if kind not in events.EVENT_TYPES:
            raise ValueError(f"no event kind {kind[:40]!r}")
        made.append(iter(_decode_table(events.EVENT_TYPES[kind], tables[kind], counts[number],
                                       arrays)))
    # each kind has exactly as many events as `order` names it, so `next` never runs out
    return list(map(next, map(made.__getitem__, order)))


def _decode_table(cls: type, table: Any, count: int, arrays: Arrays) -> list[Any]:
    fields = _fields(cls)
    if not isinstance(table, dict) or sorted(table) != sorted(name for name, _, _ in fields):
        raise ValueError(f"the {cls.__name__} table does not have its {len(fields)} fields")
    columns = []
    for name, hint, form in fields:
        where = f"{getattr(cls, 'kind', cls.__name__)}.{name}"
        try:
            column = _decode_column(form, table[name], count, arrays)
        except KeyError as error:  # a number the data does not have
            raise ValueError(f"{where}: no array {error}") from None
        except (TypeError, ValueError) as error:
            raise type(error)(f"{where}: {error}") from None
        if len(column) != count:
            raise ValueError(f"{where} has {len(column)} values where {count} belong")
        check_column(cls, name, hint, column)
        columns.append(column)
    make = getattr(cls, "make", None)
    if make is not None:  # the fast positional constructor (events._positional)
        return list(map(make, *columns))
    names = [name for name, _, _ in fields]
    return [cls(**dict(zip(names, row))) for row in zip(*columns)]


def _decode_column(form: Any, column: Any, count: int,
                   arrays: Arrays) -> list[Any]:
    """A column back as the values its fields hold (not yet checked: check_column does)."""
    if form == "plain":
        _expect(column, object, "a column")
        return column
    if form == "tagged":
        _expect(column, object, "a column")
        return [decode_value(value, arrays) for value in column]
    if form == "array":
        _expect(column, (int, types.NoneType), "array numbers")
        return list(map(arrays.__getitem__, column))
    if form[0] == "table":
        return _decode_table(form[1], column, count, arrays)
    item = form[1]
    if item == "plain":
        _expect(column, list, "tuples")
        return list(map(tuple, column))
    if _native(item) or item == "array":
        _expect(column, list, "tuples")
        lengths: list[int] = list(map(len, column))
        flat = list(itertools.chain.from_iterable(column))
    elif isinstance(column, dict) and sorted(column) == ["items", "lengths"]:
        lengths, flat = column["lengths"], column["items"]
        _expect(lengths, int, "lengths")
        if min(lengths, default=0) < 0:
            raise ValueError("a tuple column has a negative length")
    else:
        raise ValueError("a tuple column has no lengths and items")
    decoded = _decode_column(item, flat, sum(lengths), arrays)
    if len(decoded) != sum(lengths):
        raise ValueError("a tuple column's lengths do not match its items")
    items = iter(decoded)
    return [tuple(itertools.islice(items, n)) for n in lengths]


def _expect(column: Any, kinds: Any, what: str) -> None:
    """TypeError unless `column` is a list whose values are all of type `kinds` (exactly)."""
    if not isinstance(column, list):
        raise TypeError(f"{what} is {type(column).__name__}, not a list")
    if kinds is object:
        return
    allowed = set(kinds) if isinstance(kinds, tuple) else {kinds}
    found = set(map(type, column)) - allowed
    if found:
        raise TypeError(f"{what} hold {', '.join(sorted(t.__name__ for t in found))}")


#: Deeper nesting than any event has is damage, refused before Python's stack runs out.
_MAX_DEPTH = 32
_PLAIN_CLASSES = {"ParamUpdate": events.ParamUpdate}


def decode_value(value: Any, arrays: Arrays, depth: int = 0) -> Any:
    """A tagged value back (versions 1 and 2 wrote every field this way)."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"entries nested more than {_MAX_DEPTH} deep")
    if isinstance(value, list):
        return [decode_value(v, arrays, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "$array" in value:
        if type(value["$array"]) not in (str, int):  # a name (versions 1, 2) or a number (3)
            raise TypeError(f"an array is named {str(value['$array'])[:20]}")
        return arrays[value["$array"]]
    if "$event" in value:
        cls = events.EVENT_TYPES.get(value["$event"]) or _PLAIN_CLASSES[value["$event"]]
        return cls(**{k: decode_value(v, arrays, depth + 1) for k, v in value["fields"].items()})
    if "$tuple" in value:
        return tuple(decode_value(v, arrays, depth + 1) for v in value["$tuple"])
    if "$dict" in value:
        return {decode_value(k, arrays, depth + 1): decode_value(v, arrays, depth + 1)
                for k, v in value["$dict"]}
    if "$slice" in value:
        return slice(*value["$slice"])
    if "$ellipsis" in value:
        return Ellipsis
    if "$repr" in value:
        return value["$repr"]
    raise ValueError(f"unknown entry {sorted(value)}")
