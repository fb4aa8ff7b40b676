"""Kaldi's rspecifiers, wspecifiers, extended filenames and range specifiers, parsed as Kaldi parses them.

- An rspecifier is ``[options,]ark:RXFILENAME`` or ``[options,]scp:RXFILENAME``; options are ``o`` / ``no``
  (each key is read once), ``p`` / ``np`` (permissive: skip what cannot be read), ``s`` / ``ns`` (keys are
  sorted), ``cs`` / ``ncs`` (lookups come sorted), ``bg`` (read ahead) and the ignored ``b`` and ``t``.
- A wspecifier is ``ark[,options]:WXFILENAME``, ``scp[,options]:WXFILENAME`` or
  ``ark,scp[,options]:ARK,SCP``; options are ``t`` (text), ``b`` (binary, the default), ``f`` / ``nf``
  (flush after each object or not) and ``p`` (permissive: keys an output scp lacks are skipped).
- An rxfilename is ``-`` (standard input), ``command |`` (a pipe), ``path:OFFSET`` or a path; a wxfilename
  is ``-``, ``| command`` or a path. Script (scp) entries may end in a range, ``[r1:r2]``, ``[r1:r2,c1:c2]``,
  ``[:,c1:c2]``, inclusive at both ends as in Kaldi.

Example:
    >>> spec = parse_rspecifier("p,scp:feats.scp")
    >>> spec.kind, spec.path, spec.permissive, spec.sorted
    ('scp', 'feats.scp', True, False)
    >>> parse_wspecifier("ark,scp,t:feats.ark,feats.scp").text
    True
    >>> parse_extended_filename("raw_fbank.1.ark:1234[0:50]")
    ExtendedFilename(kind='offset', path='raw_fbank.1.ark', offset=1234, range=ObjectRange(rows=(0, 50), cols=None))
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from tympan.core.errors import KaldiFormatError

__all__ = [
    "ExtendedFilename",
    "ObjectRange",
    "Rspecifier",
    "Wspecifier",
    "parse_extended_filename",
    "parse_range",
    "parse_rspecifier",
    "parse_wspecifier",
]

_READ_OPTIONS = {
    "o": ("once", True),
    "no": ("once", False),
    "p": ("permissive", True),
    "np": ("permissive", False),
    "s": ("sorted", True),
    "ns": ("sorted", False),
    "cs": ("called_sorted", True),
    "ncs": ("called_sorted", False),
    "bg": ("background", True),
}
_WRITE_OPTIONS = {"t": ("text", True), "b": ("text", False), "f": ("flush", True), "nf": ("flush", False)}
_WRITE_OPTIONS["p"] = ("permissive", True)
#: Kaldi accepts a range this many rows past the end (frame-count rounding of segments) and clamps it.
RANGE_TOLERANCE = 3


@dataclass(frozen=True)
class Rspecifier:
    """A parsed rspecifier: ``kind`` is ``"ark"`` or ``"scp"``, ``path`` the rxfilename, and the options.

    Example:
        >>> parse_rspecifier("ark,s,cs:-").sorted
        True
    """

    kind: str
    path: str
    permissive: bool = False
    once: bool = False
    sorted: bool = False
    called_sorted: bool = False
    background: bool = False


@dataclass(frozen=True)
class Wspecifier:
    """A parsed wspecifier: ``ark`` and/or ``scp`` wxfilenames and the options.

    For ``scp:`` alone, ``scp`` names an existing script whose entries say where each key is written.

    Example:
        >>> spec = parse_wspecifier("ark,scp:a.ark,a.scp")
        >>> spec.ark, spec.scp, spec.text
        ('a.ark', 'a.scp', False)
    """

    ark: str | None
    scp: str | None
    text: bool = False
    flush: bool | None = None
    permissive: bool = False


def _as_text(specifier: str | os.PathLike[str]) -> str:
    return os.fspath(specifier) if not isinstance(specifier, str) else specifier


def _split_options(specifier: str, what: str) -> tuple[list[str], str]:
    head, colon, tail = specifier.partition(":")
    if not colon or not specifier or specifier[-1].isspace():
        raise KaldiFormatError(specifier, f"not a Kaldi {what} (expected e.g. 'ark:feats.ark' or 'scp:feats.scp')")
    return [part.strip() for part in re.split(r"[ ,]", head)], tail


def parse_rspecifier(specifier: str | os.PathLike[str]) -> Rspecifier:
    """Parse ``[options,]ark:...`` or ``[options,]scp:...``; a path ending in ``.ark`` or ``.scp`` is taken as such.

    Raises :class:`~tympan.core.errors.KaldiFormatError` naming the specifier when it is malformed.

    Example:
        >>> parse_rspecifier("ark:-").path, parse_rspecifier("data/feats.scp").kind
        ('-', 'scp')
    """
    text = _as_text(specifier)
    suffix = os.path.splitext(text)[1]
    if suffix in (".ark", ".scp") and not re.match(r"^[a-z, ]*(ark|scp)[a-z, ]*:", text):
        return Rspecifier(kind=suffix[1:], path=text)
    parts, path = _split_options(text, "rspecifier")
    kind, options = None, {}
    for part in parts:
        if part in ("ark", "scp") and kind is None:
            kind = part
        elif part in _READ_OPTIONS:
            field, value = _READ_OPTIONS[part]
            options[field] = value
        elif part not in ("b", "t"):
            raise KaldiFormatError(text, f"not a Kaldi rspecifier: unknown or repeated option {part!r}")
    if kind is None:
        raise KaldiFormatError(text, "not a Kaldi rspecifier: it names neither 'ark' nor 'scp'")
    return Rspecifier(kind=kind, path=path, **options)


def parse_wspecifier(specifier: str | os.PathLike[str]) -> Wspecifier:
    """Parse ``ark[,t]:...``, ``scp:...`` or ``ark,scp[,t]:ARK,SCP`` (options anywhere before the colon).

    Raises :class:`~tympan.core.errors.KaldiFormatError` naming the specifier when it is malformed.

    Example:
        >>> parse_wspecifier("ark,t:-")
        Wspecifier(ark='-', scp=None, text=True, flush=None, permissive=False)
    """
    text = _as_text(specifier)
    parts, path = _split_options(text, "wspecifier")
    kinds: list[str] = []
    options = {}
    for part in parts:
        if part in ("ark", "scp") and part not in kinds and (part == "scp" or not kinds):
            kinds.append(part)
        elif part in _WRITE_OPTIONS:
            field, value = _WRITE_OPTIONS[part]
            options[field] = value
        else:
            raise KaldiFormatError(text, f"not a Kaldi wspecifier: unknown or misplaced option {part!r}")
    if kinds == ["ark"]:
        return Wspecifier(ark=path, scp=None, **options)
    if kinds == ["scp"]:
        return Wspecifier(ark=None, scp=path, **options)
    if kinds == ["ark", "scp"]:
        ark, comma, scp = path.partition(",")
        if comma and ark and scp:
            return Wspecifier(ark=ark, scp=scp, **options)
        raise KaldiFormatError(text, "'ark,scp:' needs two filenames: 'ark,scp:feats.ark,feats.scp'")
    raise KaldiFormatError(text, "not a Kaldi wspecifier: it names neither 'ark' nor 'scp'")


@dataclass(frozen=True)
class ObjectRange:
    """An inclusive row range and column range (``None``: all), as written in ``[r1:r2,c1:c2]``.

    Example:
        >>> parse_range("0:9").resolve(12, 4, "f.ark")
        (slice(0, 10, None), slice(0, 4, None))
    """

    rows: tuple[int, int] | None
    cols: tuple[int, int] | None

    def resolve(self, rows: int, cols: int | None, where: str) -> tuple[slice, slice]:
        """Slices for an object of ``rows`` x ``cols`` (``cols`` is ``None`` for a vector, which takes one range).

        Rows may run up to :data:`RANGE_TOLERANCE` past the end (clamped), as Kaldi allows; anything else
        outside raises :class:`~tympan.core.errors.KaldiFormatError` naming ``where``.
        """
        if cols is None and self.cols is not None:
            raise KaldiFormatError(where, f"range {self} has columns but the object is a vector")
        first, last = self.rows if self.rows is not None else (0, rows - 1)
        if not (0 <= first <= last < rows + RANGE_TOLERANCE):
            raise KaldiFormatError(where, f"row range {first}:{last} is outside an object of {rows} rows")
        row_slice = slice(first, min(last, rows - 1) + 1)
        if cols is None:
            return row_slice, slice(None)
        c_first, c_last = self.cols if self.cols is not None else (0, cols - 1)
        if not (0 <= c_first <= c_last < cols):
            raise KaldiFormatError(where, f"column range {c_first}:{c_last} is outside a matrix of {cols} columns")
        return row_slice, slice(c_first, c_last + 1)

    def __str__(self) -> str:
        def part(span: tuple[int, int] | None) -> str:
            return ":" if span is None else f"{span[0]}:{span[1]}"

        return f"[{part(self.rows)}{',' + part(self.cols) if self.cols is not None else ''}]"


def _span(text: str, specifier: str) -> tuple[int, int] | None:
    if text == ":":
        return None
    match = re.fullmatch(r"\s*(-?\d+)\s*:\s*(-?\d+)\s*", text)
    if match is None:
        raise KaldiFormatError(specifier, f"range {text!r} is not 'first:last' (inclusive, as in Kaldi)")
    return int(match.group(1)), int(match.group(2))


def parse_range(text: str) -> ObjectRange:
    """Parse the inside of ``[...]``: ``r1:r2``, ``r1:r2,c1:c2``, ``:,c1:c2`` or ``r1:r2,:``.

    Example:
        >>> parse_range(":,3:7")
        ObjectRange(rows=None, cols=(3, 7))
    """
    parts = text.split(",")
    if len(parts) not in (1, 2) or any(not p for p in parts):
        raise KaldiFormatError(f"[{text}]", "a range is 'r1:r2' or 'r1:r2,c1:c2' ('[0:49]', '[:,3:7]')")
    rows = _span(parts[0], f"[{text}]")
    cols = _span(parts[1], f"[{text}]") if len(parts) == 2 else None
    return ObjectRange(rows, cols)


@dataclass(frozen=True)
class ExtendedFilename:
    """An rxfilename taken apart: ``kind`` is ``"file"``, ``"offset"``, ``"pipe"`` or ``"stdin"``.

    ``path`` is the file (or the command of a pipe), ``offset`` the byte offset of ``path:OFFSET``, and
    ``range`` the range of a script entry.

    Example:
        >>> parse_extended_filename("gunzip -c feats.ark.gz |")
        ExtendedFilename(kind='pipe', path='gunzip -c feats.ark.gz', offset=None, range=None)
    """

    kind: str
    path: str
    offset: int | None = None
    range: ObjectRange | None = None


def parse_extended_filename(text: str, allow_range: bool = True) -> ExtendedFilename:
    """Classify an rxfilename as Kaldi does, splitting off a trailing ``[range]`` when ``allow_range``.

    Raises :class:`~tympan.core.errors.KaldiFormatError` for a filename Kaldi refuses (an output pipe
    ``| cmd`` for reading, leading or trailing space, a ``|`` in the middle).

    Example:
        >>> parse_extended_filename("-").kind, parse_extended_filename("a.mat").kind
        ('stdin', 'file')
    """
    object_range = None
    if allow_range and text.endswith("]") and "[" in text:
        head, _, inside = text[:-1].rpartition("[")
        if head and inside:
            object_range = parse_range(inside)
            text = head
    if text in ("", "-"):
        return ExtendedFilename("stdin", "-", None, object_range)
    if text.startswith("|"):
        raise KaldiFormatError(text, "'| command' is an output pipe; an input pipe is 'command |'")
    if text.endswith("|"):
        return ExtendedFilename("pipe", text[:-1].strip(), None, object_range)
    if text[0].isspace() or text[-1].isspace():
        raise KaldiFormatError(text, "a filename may not begin or end with a space")
    path, colon, offset = text.rpartition(":")
    if colon and path and offset.isdecimal():  # 'PATH:OFFSET' (decimal digits, as a regex's \d takes them)
        return ExtendedFilename("offset", path, int(offset), object_range)
    if "|" in text:
        raise KaldiFormatError(text, "a '|' in the middle of a filename (a pipe needs '|' at the end)")
    return ExtendedFilename("file", text, None, object_range)
