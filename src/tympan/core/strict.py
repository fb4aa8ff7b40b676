"""Exact scalar types for parameters: what lax coercion would silently misread is refused instead.

pydantic's lax mode turns ``True`` into the integer 1 (a sample rate of 1 Hz), ``"no"`` into ``False`` and
``"13"`` into 13. :func:`scalar_problem` says why a value does not have one of the scalar types an
annotation names exactly, so a model can refuse it before lax validation runs:

- an ``int`` field takes an ``int`` (not a ``bool``, a ``float`` or a string);
- a ``float`` field takes an ``int`` or a ``float`` (not a ``bool`` or a string);
- a ``bool`` field takes ``True`` or ``False``; a ``str`` field a string;
- a ``Literal`` takes one of its values, of the same type;
- unions combine their members; lists and tuples are checked item by item.

Annotations that take more than scalars (tensors, callables, paths, dtypes and windows named by strings, a
type with its own validator) are left to their own validation.

Example:
    >>> from typing import Literal, Optional
    >>> scalar_problem(True, int)
    'Input should be an integer, not a bool'
    >>> scalar_problem("no", bool | Literal["window", "frame_length"])
    "Input should be a boolean or one of 'window', 'frame_length', not a str"
    >>> scalar_problem(3, Optional[float]) is None, scalar_problem([1, 2.5], tuple[float, float]) is None
    (True, True)

This module imports neither torch nor pydantic.
"""

from __future__ import annotations

import collections.abc
import functools
import types
import typing
from typing import Any

__all__ = ["scalar_problem"]

_SCALARS = (bool, int, float, str)
_NAMES = {int: "an integer", float: "a number", bool: "a boolean", str: "a string"}
_ARTICLES: dict[type, str] = {int: "an"}
_SEQUENCES = (list, tuple, collections.abc.Sequence, collections.abc.MutableSequence)
_UNIONS = (typing.Union, types.UnionType)


class _Accepted(typing.NamedTuple):
    """The scalar types an annotation accepts, and the values its ``Literal`` members allow."""

    kinds: frozenset[type]
    literals: tuple[Any, ...]


def _parses_its_own(metadata: tuple[Any, ...]) -> bool:
    """Whether ``Annotated`` metadata holds a validator that reads values itself (a dtype or window name)."""
    return any(type(item).__name__ in ("BeforeValidator", "PlainValidator", "WrapValidator") for item in metadata)


def _accepted(annotation: Any) -> _Accepted | None:
    """:func:`_accepted_uncached`, remembered for hashable annotations."""
    try:
        return _accepted_cached(annotation)
    except TypeError:  # an annotation holding a dict (a JSON schema override) cannot be a cache key
        return _accepted_uncached(annotation)


def _accepted_uncached(annotation: Any) -> _Accepted | None:
    """The scalars ``annotation`` accepts, or ``None`` when it accepts more than scalars (then lax validation
    of that type decides)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        return None if _parses_its_own(tuple(metadata)) else _accepted(inner)
    if origin is typing.Literal:
        return _Accepted(frozenset(), typing.get_args(annotation))
    if origin in _UNIONS:
        kinds: set[type] = set()
        literals: list[Any] = []
        for member in typing.get_args(annotation):
            if member is type(None):
                continue
            accepted = _accepted(member)
            if accepted is None:
                return None
            kinds |= accepted.kinds
            literals += accepted.literals
        return _Accepted(frozenset(kinds), tuple(literals))
    if annotation in _SCALARS:
        return _Accepted(frozenset({annotation}), ())
    return None


_accepted_cached = functools.lru_cache(maxsize=4096)(_accepted_uncached)


def _fits(value: Any, accepted: _Accepted) -> bool:
    """Whether ``value`` has a type ``accepted`` takes. A value of a ``Literal``'s type must be one of its
    values when other scalar types are accepted too (lax validation would coerce it to one of those, as
    ``"no"`` to ``False``); for a ``Literal`` alone the model checks it, naming the allowed values."""
    if any(type(value) is type(allowed) and value == allowed for allowed in accepted.literals):
        return True
    if not accepted.kinds and any(type(value) is type(allowed) for allowed in accepted.literals):
        return True
    if type(value) is bool:
        return bool in accepted.kinds
    if isinstance(value, int):
        return int in accepted.kinds or float in accepted.kinds
    if isinstance(value, float):
        return float in accepted.kinds
    return str in accepted.kinds


def _expected(accepted: _Accepted) -> str:
    names = [_NAMES[kind] for kind in (int, float, bool, str) if kind in accepted.kinds]
    if accepted.literals:
        names.append("one of " + ", ".join(repr(value) for value in accepted.literals))
    return " or ".join(names) or "no scalar"


def _items(annotation: Any) -> list[Any] | None:
    """The item annotations of a list or tuple annotation (one per position for a fixed tuple)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _items(typing.get_args(annotation)[0])
    if origin not in _SEQUENCES:
        return None
    arguments = typing.get_args(annotation)
    if not arguments:
        return None
    if origin is tuple and not (len(arguments) == 2 and arguments[1] is Ellipsis):
        return list(arguments)
    return [arguments[0]]


def scalar_problem(value: Any, annotation: Any, depth: int = 0) -> str | None:
    """Why ``value`` lacks the exact scalar type ``annotation`` asks for, or ``None`` when it has it (or
    when ``annotation`` takes more than scalars, or ``value`` is not a scalar).

    Example:
        >>> scalar_problem("8:32", int)
        'Input should be an integer, not a str'
        >>> scalar_problem(["1", 2.0], list[float])
        'item 0: Input should be a number, not a str'
    """
    if isinstance(value, (list, tuple)) and depth < 4:
        items = _items(annotation)
        if items is None:
            return None
        for index, item in enumerate(value):
            problem = scalar_problem(item, items[min(index, len(items) - 1)], depth + 1)
            if problem:
                return f"item {index}: {problem}"
        return None
    if not isinstance(value, _SCALARS):
        return None
    accepted = _accepted(annotation)
    if accepted is None or _fits(value, accepted):
        return None
    return f"Input should be {_expected(accepted)}, not {_ARTICLES.get(type(value), 'a')} {type(value).__name__}"
