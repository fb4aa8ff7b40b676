"""The text files of a Kaldi data directory: each line ``KEY REST``, read with line numbers, written sorted.

Kaldi sorts these files with ``LC_ALL=C``: by the bytes of the key, which for UTF-8 is the order of
Python's string comparison. Reading keeps each entry's 1-based line number, so every later complaint can
say which line of which file is wrong.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "utt2spk"
    >>> write_table(path, {"b-2": "b", "a-1": "a"})
    >>> path.read_text()
    'a-1 a\\nb-2 b\\n'
    >>> read_table(path)
    {'a-1': Line(value='a', number=1), 'b-2': Line(value='b', number=2)}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

from tympan.core.errors import KaldiFormatError
from tympan.core.files import atomic_write
from tympan.plugins.kaldi.io.archive import decode_lines

__all__ = ["Line", "read_lines", "read_table", "write_table"]


class Line(NamedTuple):
    """The value of one entry (everything after the key) and its 1-based line number."""

    value: str
    number: int


def read_lines(path: str | os.PathLike[str]) -> list[str]:
    """The lines of a UTF-8 text file; a file that is not UTF-8 raises ``KaldiFormatError`` naming the line.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "text"
        >>> _ = path.write_bytes(b"a ok\\nb \\xff\\n")
        >>> read_lines(path)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tympan.core.errors.KaldiFormatError: malformed Kaldi file ...text: line 2: not UTF-8 text
    """
    with open(path, "rb") as handle:
        return decode_lines(handle.read(), os.fspath(path))


def read_table(path: str | os.PathLike[str], fields: int | None = None, allow_empty: bool = False) -> dict[str, Line]:
    """Read ``KEY REST`` lines into ``{key: Line(rest, line_number)}``.

    ``fields`` requires that many whitespace-separated fields after the key; ``allow_empty`` lets the rest
    be empty (a ``text`` line with no words). Raises :class:`~tympan.core.errors.KaldiFormatError` naming
    the file and line for an empty line, a missing value, a wrong number of fields or a repeated key.
    """
    name = os.fspath(path)
    table: dict[str, Line] = {}
    for number, line in enumerate(read_lines(path), start=1):
        key, _, rest = line.strip().partition(" ")
        if "\t" in key:
            key, _, tail = key.partition("\t")
            rest = f"{tail} {rest}"
        rest = rest.strip()
        if not key:
            raise KaldiFormatError(name, "empty line", line=number)
        if not rest and not allow_empty:
            raise KaldiFormatError(name, f"no value after the key {key!r}", line=number)
        if fields is not None and len(rest.split()) != fields:
            raise KaldiFormatError(name, f"expected {fields} field(s) after the key, found {rest!r}", line=number)
        if key in table:
            first = table[key].number
            raise KaldiFormatError(name, f"key {key!r} repeats the key of line {first}", line=number)
        table[key] = Line(rest, number)
    return table


def write_table(path: str | os.PathLike[str], table: Mapping[str, object]) -> None:
    """Write ``{key: value}`` as ``KEY VALUE`` lines sorted by key (``LC_ALL=C`` order), atomically."""
    with atomic_write(path) as handle:
        handle.write("".join(f"{key} {table[key]}\n".replace(" \n", "\n") for key in sorted(table)).encode())
