"""Sources and destinations as every backend can use them, checked before any backend is asked.

- A path to something other than a regular file or a directory (a pipe such as ``/dev/fd/3`` from a
  shell's ``<(...)``, a character device) is read once, into memory: backends probe and seek, which a pipe
  cannot do twice. Its first bytes must be something a backend reads (``/dev/zero``'s are not), and it may
  hold at most :func:`~tympan.core.budget.max_buffer_bytes` bytes.
- A memoryview that is strided or not of bytes is copied to bytes; a read-only or other buffer is kept.
- A binary file object must be open and readable; it is wrapped so that every read returns as many bytes
  as asked for unless the data ends (pipes, sockets and raw streams return short reads), and an ``OSError``
  of its own (a failing disk) is raised as it is, never mistaken for the end of the data.
- A destination file object must be open, binary and writable.

Problems are :class:`~tympan.core.errors.InvalidParameterError` (an unusable object),
:class:`~tympan.core.errors.AudioDecodeError` (a pipe's bytes that are no audio) or the ``OSError`` the
operating system reported.

Example:
    >>> import io
    >>> readable_source(memoryview(b"RIFF....WAVE")[::2], "load of <bytes>")
    b'RF..WV'
    >>> readable_source(io.StringIO("text"), "load of <StringIO>")
    Traceback (most recent call last):
    ...
    tympan.core.errors.InvalidParameterError: invalid parameters for load of <StringIO>:
      src: a text file object; open the file in binary mode ('rb')
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from typing import IO, Any

from tympan.core.backend import Destination, Source
from tympan.core.budget import format_bytes, max_buffer_bytes
from tympan.core.errors import AudioDecodeError, InvalidParameterError

__all__ = ["FullReads", "check_writable", "readable_source", "write_all"]

#: Bytes read from a pipe or device before its header decides whether the rest is read.
_PROBE = 1 << 16


class FullReads:
    """A binary file object whose ``read(n)`` and ``readinto`` return all that was asked for unless the
    data ends, however many reads of the wrapped object that takes; everything else passes through.

    Example:
        >>> import io
        >>> class Trickle(io.RawIOBase):
        ...     def __init__(self):
        ...         self.data = io.BytesIO(b"abcdef")
        ...     def readable(self):
        ...         return True
        ...     def readinto(self, buffer):
        ...         chunk = self.data.read(min(2, len(buffer)))
        ...         buffer[: len(chunk)] = chunk
        ...         return len(chunk)
        >>> FullReads(Trickle()).read(5)
        b'abcde'
    """

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes (all that is left when negative or None), fewer only at the end of the data."""
        if size is None or size < 0:
            parts = []
            while True:
                part = self._handle.read(1 << 20)
                if not part:
                    return b"".join(parts)
                parts.append(bytes(part))
        parts, wanted = [], size
        while wanted > 0:
            part = self._handle.read(wanted)
            if not part:
                break
            parts.append(bytes(part))
            wanted -= len(part)
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` (fewer bytes only at the end of the data); how many bytes were read."""
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def _unusable(context: str, reason: str) -> InvalidParameterError:
    return InvalidParameterError(context, [reason])


def _check_open(handle: Any, context: str, role: str) -> None:
    if getattr(handle, "closed", False):
        raise _unusable(context, f"{role}: the file object is closed")
    if isinstance(handle, io.TextIOBase):
        mode = "'rb'" if role == "src" else "'wb'"
        raise _unusable(context, f"{role}: a text file object; open the file in binary mode ({mode})")


def _probe(handle: Any, context: str) -> None:
    """Read (and put back) the first bytes: an unreadable object or a failing read is known now."""
    try:
        position = handle.tell()
        head = handle.read(16)
        handle.seek(position)
    except io.UnsupportedOperation as exc:
        raise _unusable(context, f"src: the file object cannot be read and repositioned ({exc})") from None
    if head is not None and not isinstance(head, (bytes, bytearray, memoryview)):
        raise _unusable(context, "src: a text file object; open the file in binary mode ('rb')")


def _special_file(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _read_special(path: str, readable: Callable[[bytes], bool]) -> bytes:
    """The bytes of a pipe or device, if its first bytes are ``readable`` and the rest fits the budget."""
    limit = max_buffer_bytes()
    with open(path, "rb", buffering=0) as handle:
        reader = FullReads(handle)  # type: ignore[arg-type]
        head = reader.read(_PROBE)
        if head and not readable(head):
            raise AudioDecodeError(path, "not a regular file, and its first bytes are no audio a backend reads")
        rest = reader.read(limit - len(head) + 1)
    if len(head) + len(rest) > limit:
        raise AudioDecodeError(path, f"a pipe or device holding more than {format_bytes(limit)}; save it to a file")
    return head + rest


def readable_source(src: Source, context: str, readable: Callable[[bytes], bool] = bool) -> Source:
    """``src`` as every backend reads it (see the module docstring); ``readable(first_bytes)`` says whether
    a pipe's or device's first bytes are audio some backend reads.

    Example:
        >>> readable_source(b"RIFF", "load of <4 bytes>")
        b'RIFF'
    """
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        return _read_special(path, readable) if _special_file(path) else src
    if isinstance(src, memoryview):
        return src if src.c_contiguous and src.format in ("B", "b", "c") else src.tobytes()
    if isinstance(src, (bytes, bytearray)) or src is None:
        return src
    _check_open(src, context, "src")
    if not hasattr(src, "read"):
        return src
    _probe(src, context)
    return FullReads(src)  # type: ignore[return-value]


def check_writable(dst: Destination, context: str) -> None:
    """Refuse a destination file object that is closed, in text mode or not writable.

    Example:
        >>> import io
        >>> check_writable(io.BytesIO(), "save to <BytesIO>")
    """
    if isinstance(dst, (str, os.PathLike)) or not hasattr(dst, "write"):
        return
    _check_open(dst, context, "dst")
    writable = getattr(dst, "writable", None)
    try:
        allowed = writable() if callable(writable) else True
    except ValueError:  # asked of a closed object
        allowed = False
    if not allowed:
        raise _unusable(context, "dst: the file object is not writable")


def write_all(dst: IO[bytes], data: bytes, context: str) -> None:
    """Write ``data`` to the file object ``dst``, however many calls it takes; an object that refuses is an
    ``InvalidParameterError``, an ``OSError`` with an ``errno`` (a full disk) is raised as it is.

    Example:
        >>> import io
        >>> target = io.BytesIO()
        >>> write_all(target, b"RIFF", "save to <BytesIO>")
        >>> target.getvalue()
        b'RIFF'
    """
    view = memoryview(data)
    done = 0
    try:
        while done < len(view):
            written = dst.write(view[done:])
            if written == 0:
                raise _unusable(context, f"dst: the file object stopped taking data after {done} bytes")
            done += len(view) - done if written is None else written
    except (io.UnsupportedOperation, TypeError, ValueError) as exc:
        raise _unusable(context, f"dst: the file object cannot be written ({type(exc).__name__}: {exc})") from None
