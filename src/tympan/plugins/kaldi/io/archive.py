"""Archives (ark) and script files (scp) taken apart: keys and object headers; scp lines and their targets.

An archive is a sequence of ``KEY OBJECT``: the key (no whitespace or control characters), one space (Kaldi
also accepts a tab, or a newline that it leaves to the object), then the object (:mod:`.objects`). A
script file has one ``KEY RXFILENAME`` per line, where the rxfilename is ``ark:OFFSET``-style
(``feats.ark:1234``), a whole-object file, a pipe, with an optional ``[range]``.

Example:
    >>> import io, numpy as np
    >>> from tympan.plugins.kaldi.io.objects import encode
    >>> from tympan.plugins.kaldi.io.sources import StreamSource
    >>> blob = b"a " + b"".join(encode(np.zeros(2, np.float32), text=False)) + b"b 1 2 \\n"
    >>> [(key, info.kind) for key, info in iter_archive(StreamSource(io.BytesIO(blob), "<bytes>"))]
    [('a', 'FV'), ('b', 'text')]
    >>> parse_script(["utt1 feats.ark:12[0:4]"], "feats.scp")[0].target.offset
    12
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tympan.core.errors import KaldiFormatError
from tympan.plugins.kaldi.io.objects import ObjectInfo, describe
from tympan.plugins.kaldi.io.sources import ByteSource
from tympan.plugins.kaldi.io.specifiers import ExtendedFilename, parse_extended_filename

__all__ = ["ScriptEntry", "check_key", "decode_lines", "iter_archive", "parse_script"]

#: Keys longer than this are taken for a damaged archive.
MAX_KEY_BYTES = 4096
#: Bytes read at once for a key and the header after it (more only for a longer key).
_PEEK = 256
_WHITESPACE = re.compile(rb"[ \t\n\r\v\f]")
_BAD_KEY = re.compile(r"[\x00-\x20\x7f]")


def check_key(key: object, where: str) -> str:
    """``key`` when it is a valid Kaldi key (a non-empty string without whitespace or control characters).

    Example:
        >>> check_key("utt-001", "a.ark")
        'utt-001'
    """
    if not isinstance(key, str) or not key or _BAD_KEY.search(key):
        raise KaldiFormatError(where, f"invalid key {key!r}: keys are non-empty strings without whitespace")
    return key


def iter_archive(source: ByteSource, offset: int = 0) -> Iterator[tuple[str, ObjectInfo]]:
    """The ``(key, object header)`` pairs of an archive, in order, from byte ``offset``.

    The caller reads each object's data (or not) before asking for the next; a forward-only source skips
    data that was not read. Raises :class:`~tympan.core.errors.KaldiFormatError` naming the file, key and
    byte offset at the first malformed entry.
    """
    position = offset
    while True:
        head = source.view(position, _PEEK)
        stripped = head.lstrip(b" \t\n\r\v\f")
        if not stripped:
            if len(head) < _PEEK:
                return
            position += len(head)
            continue
        position += len(head) - len(stripped)
        found = _WHITESPACE.search(stripped)
        if found is None and len(head) == _PEEK:  # a long key: look further
            stripped = source.view(position, MAX_KEY_BYTES + 1)
            found = _WHITESPACE.search(stripped)
        if found is None:
            what = "ends after a key with no object" if len(stripped) <= MAX_KEY_BYTES else "has a key over 4 KiB"
            raise KaldiFormatError(source.name, f"the archive {what}", offset=position)
        raw_key, separator = stripped[: found.start()], stripped[found.start() : found.end()]
        try:
            key = raw_key.decode("utf-8")
        except UnicodeDecodeError:
            raise KaldiFormatError(source.name, f"a key that is not UTF-8: {raw_key[:40]!r}", offset=position) from None
        if _BAD_KEY.search(key) or separator not in (b" ", b"\t", b"\n"):
            raise KaldiFormatError(
                source.name, f"expected 'KEY OBJECT', found {stripped[:24]!r} (a damaged archive?)", offset=position
            )
        skip = len(raw_key) + (0 if separator == b"\n" else 1)
        info = describe(source, position + skip, key, stripped[skip:])
        yield key, info
        position = info.end


def decode_lines(raw: bytes, name: str) -> list[str]:
    """The lines of UTF-8 text (a final newline ends the last line); ``KaldiFormatError`` names a bad line.

    Example:
        >>> decode_lines(b"a 1\\nb 2\\n", "x.scp")
        ['a 1', 'b 2']
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:  # a newline is never inside a multi-byte character
        raise KaldiFormatError(name, "not UTF-8 text", line=raw.count(b"\n", 0, error.start) + 1) from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


@dataclass(frozen=True)
class ScriptEntry:
    """One line of a script file: the key, what it points to, and the 1-based line number.

    Example:
        >>> ScriptEntry("utt1", parse_extended_filename("a.ark:5"), 3).target.path
        'a.ark'
    """

    key: str
    target: ExtendedFilename
    line: int


def parse_script(lines: Iterable[str], name: str) -> list[ScriptEntry]:
    """Parse the lines of a script file (``KEY RXFILENAME`` each), as Kaldi's ``ReadScriptFile`` does.

    Raises :class:`~tympan.core.errors.KaldiFormatError` naming ``name`` and the line for an empty line,
    a line without a filename, or a filename Kaldi refuses.

    Example:
        >>> parse_script(["a x.ark:1", "b"], "feats.scp")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        tympan.core.errors.KaldiFormatError: malformed Kaldi file feats.scp: line 2: expected 'KEY RXFILENAME', ...
    """
    return [_parse_script_line(raw, number, name) for number, raw in enumerate(lines, start=1)]


def _parse_script_line(raw: str, number: int, name: str) -> ScriptEntry:
    line = raw.rstrip("\r\n")
    key, _, rest = line.strip().partition(" ")
    if "\t" in key:
        key, _, tail = key.partition("\t")
        rest = f"{tail} {rest}".strip()
    rest = rest.strip()
    if not key or not rest:
        raise KaldiFormatError(name, f"expected 'KEY RXFILENAME', found {line!r}", line=number)
    try:
        target = parse_extended_filename(rest)
    except KaldiFormatError as error:
        raise KaldiFormatError(name, error.reason, key=key, line=number) from None
    if target.kind == "stdin":
        raise KaldiFormatError(name, "a script entry cannot read standard input", key=key, line=number)
    return ScriptEntry(key, target, number)
