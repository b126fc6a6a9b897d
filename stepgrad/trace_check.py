"""Checking events read back from a trace file, field by field against their dataclasses.

A damaged or hostile trace may put a number where an array belongs or a string where a
tuple does; `checked(event)` refuses it with a TypeError naming the first wrong field, so a
bad trace fails when it is loaded, not later inside the debugger.

Each annotation (`np.ndarray`, `int | None`, `tuple[str, ...]`) is turned into a small
checking function once per event class: loading a 10,500-event trace asked `typing` about
every field of every event and spent 3 s there; compiled checkers take a fraction of that.

A version 3 trace is read a field at a time (trace_columns.py), and `check_column` checks a
whole field at once: for plain annotations (`int`, `str | None`, `np.ndarray`, tuples of
them) the set of the values' exact types, made in C by `set(map(type, column))`, must lie
inside the allowed set; anything else is checked value by value as above.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import types
import typing
from collections.abc import Callable
from typing import Any

import numpy as np

from stepgrad import events

Check = Callable[[Any], bool]

#: event class -> [(field name, annotation, its checker)], made on first use
_CHECKS: dict[type, list[tuple[str, Any, Check]]] = {}


def checked(event: Any) -> events.Event:
    """`event` if it is an Event whose every field has its declared type; TypeError naming
    the first field that does not (a number where an array belongs, a string for a tuple)."""
    if not isinstance(event, events.Event):
        raise TypeError(f"an entry is {type(event).__name__}, not an event")
    for name, hint, fits in _checks(type(event)):
        value = getattr(event, name)
        if not fits(value):
            raise mismatch(type(event), name, value, hint)
    return event


def mismatch(cls: type, name: str, value: Any, hint: Any) -> TypeError:
    """The error for field `name` of `cls` holding `value`, which is not a `hint`."""
    kind = getattr(cls, "kind", cls.__name__)
    return TypeError(f"{kind}.{name} is {type(value).__name__} {repr(value)[:40]}, not {hint}")


@functools.cache
def field_hints(cls: type) -> tuple[tuple[str, Any], ...]:
    """(name, annotation) of each field of the dataclass `cls`, in order, asked of `typing`
    once per class (the checks here and the columns of trace_columns.py build on it)."""
    hints = typing.get_type_hints(cls, vars(events))
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def _checks(cls: type) -> list[tuple[str, Any, Check]]:
    found = _CHECKS.get(cls)
    if found is None:
        found = _CHECKS[cls] = [(name, hint, checker(hint)) for name, hint in field_hints(cls)]
    return found


def checker(hint: Any) -> Check:
    """A function telling whether a value matches the annotation `hint`."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return lambda value: True
    if origin in (typing.Union, types.UnionType):
        options = [checker(arg) for arg in args]
        return lambda value: any(fits(value) for fits in options)
    if origin is tuple:
        return _tuple_checker(args)
    if origin is dict:
        key, item = checker(args[0]), checker(args[1])
        return lambda value: isinstance(value, dict) and all(
            key(k) and item(v) for k, v in value.items())
    if origin is list:
        item = checker(args[0])
        return lambda value: isinstance(value, list) and all(map(item, value))
    if hint is float:
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return lambda value: isinstance(value, hint) and all(
            fits(getattr(value, name)) for name, _, fits in _checks(hint))
    kind = hint if isinstance(hint, type) else object
    return lambda value: isinstance(value, kind)


def _tuple_checker(args: tuple[Any, ...]) -> Check:
    if len(args) == 2 and args[1] is Ellipsis:
        item = checker(args[0])
        return lambda value: isinstance(value, tuple) and all(map(item, value))
    items = [checker(arg) for arg in args]
    return lambda value: isinstance(value, tuple) and len(value) == len(items) and all(
        fits(v) for fits, v in zip(items, value))


#: The exact types JSON and the array table give back, for each plain annotation.
_EXACT: dict[Any, frozenset[type]] = {
    int: frozenset({int}), float: frozenset({int, float}), str: frozenset({str}),
    bool: frozenset({bool}), types.NoneType: frozenset({types.NoneType}),
    np.ndarray: frozenset({np.ndarray})}
#: annotation -> the checker of a whole column of values, made on first use
_COLUMN_CHECKS: dict[Any, Check] = {}


def check_column(cls: type, name: str, hint: Any, column: list[Any]) -> None:
    """TypeError naming the first value of field `name` of `cls` that does not match `hint`,
    said as `checked` says it (`forward.output is int 5, not <class 'numpy.ndarray'>`)."""
    fits_all = _COLUMN_CHECKS.get(hint)
    if fits_all is None:
        fits_all = _COLUMN_CHECKS[hint] = column_checker(hint)
    if fits_all(column):
        return
    fits = checker(hint)
    for value in column:
        if not fits(value):
            raise mismatch(cls, name, value, hint)


def column_checker(hint: Any) -> Check:
    """A function telling whether every value of a column matches `hint`.

    A dataclass annotation is matched by exact type only: trace_columns reads a dataclass
    column as a table of its own and checks each of its fields there."""
    allowed = _exact_types(hint)
    if allowed is not None:
        return lambda column: set(map(type, column)) <= allowed
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[1:] == (Ellipsis,):
        items = column_checker(typing.get_args(hint)[0])
        return lambda column: set(map(type, column)) <= {tuple} and items(
            list(itertools.chain.from_iterable(column)))
    fits = checker(hint)
    return lambda column: all(map(fits, column))


def _exact_types(hint: Any) -> frozenset[type] | None:
    """The exact types a plain annotation allows, or None when it is not plain."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (
        typing.Union, types.UnionType) else (hint,)
    if all(option in _EXACT for option in options):
        return frozenset().union(*(_EXACT[option] for option in options))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return frozenset({hint})
    return None
