"""A binary file object seen from where it was handed over: position 0 is the caller's position then.

Decoders seek to absolute offsets inside a file object; audio that starts at the object's current position
(a container's member, a file read from a stream that already consumed a header) needs those offsets moved
by that start.

Example:
    >>> import io
    >>> handle = io.BytesIO(b"junkRIFF....")
    >>> reader = OffsetReader(handle, handle.seek(4))
    >>> reader.read(4), reader.tell(), reader.seek(0), reader.read(2)
    (b'RIFF', 4, 0, b'RI')
"""

from __future__ import annotations

import io
from typing import IO

__all__ = ["OffsetReader"]


class OffsetReader:
    """``handle`` with positions counted from ``start`` (see the module docstring); reads pass through.

    Example:
        >>> import io
        >>> reader = OffsetReader(io.BytesIO(b"..abc"), 2)
        >>> reader.seek(-1, io.SEEK_END), reader.read()
        (2, b'c')
    """

    def __init__(self, handle: IO[bytes], start: int) -> None:
        self._handle = handle
        self._start = start

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left when negative)."""
        return self._handle.read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer`` from the current position; how many bytes were read."""
        data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def tell(self) -> int:
        """The position, counted from the start."""
        return self._handle.tell() - self._start

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move as a file object does, ``SEEK_SET`` offsets counted from the start; the new position."""
        if whence == io.SEEK_SET:
            return self._handle.seek(self._start + offset) - self._start
        return self._handle.seek(offset, whence) - self._start

    def seekable(self) -> bool:
        """Whether the underlying object seeks."""
        probe = getattr(self._handle, "seekable", None)
        return bool(probe()) if callable(probe) else True
