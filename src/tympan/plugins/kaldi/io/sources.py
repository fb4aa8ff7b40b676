"""Byte sources the archive parser reads from: regular files by offset, and forward-only streams (pipes, stdin).

Both offer the same three calls at absolute byte offsets: :meth:`~FileSource.view` (up to ``n`` bytes, for
headers and keys), :meth:`~FileSource.read_into` (fill a caller's array exactly: the data of a matrix goes
straight from the kernel into the tensor that is returned) and :meth:`~FileSource.read_bytes`. A file is
read with ``pread``/``preadv`` on one descriptor, so readers at different offsets never disturb each other
and random access needs no seek. A file also offers :meth:`~FileSource.mapped`: an array that views a
private, copy-on-write map of the whole file (made on first use, one per open file), for readers that
asked for no copy; a stream offers none. A stream keeps only the bytes not yet consumed; it grows its
buffer with the data that actually arrives, so a header that declares gigabytes cannot make it allocate
them.

:class:`FileCache` keeps a bounded number of files open for random access through scp files.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
    >>> _ = path.write_bytes(b"hello world")
    >>> with FileSource(path) as source:
    ...     source.view(6, 100), source.size
    (b'world', 11)
"""

from __future__ import annotations

import collections
import contextlib
import errno
import math
import mmap
import os
import stat
import threading
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

__all__ = ["ByteSource", "FileCache", "FileSource", "StreamSource", "TruncatedError"]

#: A stream grows its buffer by at most this much per read, so memory follows the data that arrives.
STREAM_CHUNK = 1 << 20
#: The largest single ``pread`` Linux performs; longer reads are split.
_MAX_READ = 0x7FFFF000


class TruncatedError(Exception):
    """The source ended before ``needed`` bytes at ``offset`` (an internal signal, turned into a typed error)."""

    def __init__(self, offset: int, needed: int, available: int) -> None:
        super().__init__(offset, needed, available)
        self.offset, self.needed, self.available = offset, needed, available


class ByteSource:
    """What the parser needs from a source of bytes; see :class:`FileSource` and :class:`StreamSource`.

    Example:
        >>> isinstance(StreamSource.__mro__[1], type)
        True
    """

    name: str
    #: The total size in bytes when known (a regular file), else ``None``.
    size: int | None = None

    def view(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``offset``; fewer only at the end of the source."""
        raise NotImplementedError

    def read_into(self, offset: int, out: np.ndarray) -> None:
        """Fill the contiguous array ``out`` with the bytes at ``offset``; :class:`TruncatedError` if they run out."""
        raise NotImplementedError

    def mapped(self, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray | None:
        """A writable array of ``shape`` viewing the bytes at ``offset`` in a private map; ``None`` if unmappable."""
        return None

    def read_bytes(self, offset: int, n: int) -> bytes:
        """Exactly ``n`` bytes at ``offset``; :class:`TruncatedError` if they run out."""
        data = self.view(offset, n)
        if len(data) < n:
            raise TruncatedError(offset, n, len(data))
        return data

    def close(self) -> None:
        """Release the source."""

    def __enter__(self) -> ByteSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FileSource(ByteSource):
    """A regular file read by offset with ``pread``; its size is known, so sizes are checked before allocating.

    Example:
        >>> import numpy as np, pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.bin"
        >>> _ = path.write_bytes(np.arange(4, dtype="<f4").tobytes())
        >>> out = np.empty(2, dtype=np.float32)
        >>> with FileSource(path) as source:
        ...     source.read_into(8, out)
        >>> out.tolist()
        [2.0, 3.0]
        >>> with FileSource(path) as source:
        ...     view = source.mapped(4, np.dtype("<f4"), (3,))
        >>> view[0] = -1.0  # a private copy: the file keeps its bytes, and the view outlives the source
        >>> view.tolist(), np.frombuffer(path.read_bytes(), "<f4").tolist()
        ([-1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.name = os.fspath(path)
        self._map: mmap.mmap | None = None
        self._map_lock = threading.Lock()  # a cached source is shared by threads: one map, never after close
        if "\0" in self.name:
            raise FileNotFoundError(errno.ENOENT, "a filename cannot hold a NUL byte", self.name)
        self._fd = os.open(self.name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            status = os.fstat(self._fd)
            if stat.S_ISDIR(status.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", self.name)
            self.size = status.st_size
        except OSError:
            os.close(self._fd)
            raise

    def view(self, offset: int, n: int) -> bytes:
        return os.pread(self._fd, min(n, _MAX_READ), offset)

    def read_into(self, offset: int, out: np.ndarray) -> None:
        if not out.size:
            return
        if out.nbytes <= _MAX_READ and os.preadv(self._fd, [out], offset) == out.nbytes:
            return  # the usual case: one call fills it
        target = memoryview(out).cast("B")
        done = 0
        while done < len(target):
            got = os.preadv(self._fd, [target[done : done + _MAX_READ]], offset + done)
            if got == 0:
                raise TruncatedError(offset, len(target), done)
            done += got

    def mapped(self, offset: int, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        """A view of the map (see :meth:`ByteSource.mapped`); the array keeps the map alive after :meth:`close`.

        The map covers the file as it is on first use; :class:`TruncatedError` when the bytes lie past it.
        Writing to the array changes this process's copy of the page only, never the file.
        """
        count = math.prod(shape)
        if not count:
            return np.empty(shape, dtype)
        whole = self._whole_map()
        available = max(0, len(whole) - offset)
        if count * dtype.itemsize > available:
            raise TruncatedError(offset, count * dtype.itemsize, available)
        return np.frombuffer(whole, dtype, count, offset).reshape(shape)

    def _whole_map(self) -> mmap.mmap | bytes:
        whole = self._map
        if whole is not None:
            return whole
        with self._map_lock:
            if self._map is None:
                size = os.fstat(self._fd).st_size
                if not size:  # an empty file cannot be mapped, and holds nothing to view
                    return b""
                self._map = mmap.mmap(self._fd, size, access=mmap.ACCESS_COPY)
            return self._map

    def read_bytes(self, offset: int, n: int) -> bytes:
        if self.size is not None and offset + n > self.size:
            raise TruncatedError(offset, n, max(0, self.size - offset))
        out = np.empty(n, dtype=np.uint8)
        self.read_into(offset, out)
        return out.tobytes()

    def close(self) -> None:
        with self._map_lock:  # no map made of a closed descriptor, whose number another file may reuse
            self._map = None  # unmapped once no array views it
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


class StreamSource(ByteSource):
    """A forward-only binary stream (a pipe, stdin): offsets only move forward, consumed bytes are dropped.

    Example:
        >>> import io
        >>> source = StreamSource(io.BytesIO(b"0123456789"), "<bytes>")
        >>> source.view(2, 3), source.read_bytes(5, 5)
        (b'234', b'56789')
    """

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.name = name
        self._stream = stream
        self._buffer = bytearray()
        self._start = 0  # the absolute offset of self._buffer[0]
        self._eof = False

    def _fill(self, offset: int, n: int) -> None:
        if offset < self._start:
            raise ValueError(f"{self.name}: a stream cannot go back to byte {offset}")
        skip = offset - self._start
        while skip > len(self._buffer) and not self._eof:  # skip bytes never buffered (forward seeks)
            chunk = self._stream.read(min(skip - len(self._buffer), STREAM_CHUNK))
            self._eof = not chunk
            skip -= len(chunk)
        del self._buffer[:skip]
        self._start = offset
        while len(self._buffer) < n and not self._eof:
            chunk = self._stream.read(min(max(n - len(self._buffer), 65536), STREAM_CHUNK))
            if not chunk:
                self._eof = True
            self._buffer += chunk

    def view(self, offset: int, n: int) -> bytes:
        self._fill(offset, n)
        return bytes(self._buffer[:n])

    def read_bytes(self, offset: int, n: int) -> bytes:
        self._fill(offset, n)
        if len(self._buffer) < n:
            raise TruncatedError(offset, n, len(self._buffer))
        return bytes(self._buffer[:n])

    def read_into(self, offset: int, out: np.ndarray) -> None:
        data = self.read_bytes(offset, out.nbytes)
        memoryview(out.reshape(-1).view(np.uint8))[:] = data

    def close(self) -> None:
        self._buffer = bytearray()


class FileCache:
    """Open :class:`FileSource` objects by path, at most ``capacity`` kept open between uses (the least
    recently used closed first), each lent to callers by :meth:`borrow`.

    Used for random access through scp files, where many entries point into the same few archives. A source
    is never closed while a caller (another thread, say) still reads from it: one pushed out of the cache
    meanwhile is closed when its last borrower returns it.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.ark"
        >>> _ = path.write_bytes(b"x")
        >>> cache = FileCache(capacity=2)
        >>> with cache.borrow(str(path)) as first, cache.borrow(str(path)) as second:
        ...     first is second, first.read_bytes(0, 1)
        (True, b'x')
        >>> cache.close()
    """

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._open: collections.OrderedDict[str, FileSource] = collections.OrderedDict()
        self._borrowers: dict[FileSource, int] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def borrow(self, path: str) -> Iterator[FileSource]:
        """The source for ``path`` while the ``with`` lasts, opening it when needed (and retiring the least
        recently used beyond ``capacity``)."""
        with self._lock:
            source = self._open.get(path)
            if source is None:
                source = self._open[path] = FileSource(path)
            self._open.move_to_end(path)
            self._borrowers[source] = self._borrowers.get(source, 0) + 1
            while len(self._open) > self.capacity:
                self._retire(self._open.popitem(last=False)[1])
        try:
            yield source
        finally:
            with self._lock:
                self._borrowers[source] -= 1
                if not self._borrowers[source]:
                    del self._borrowers[source]
                    if self._open.get(path) is not source:  # pushed out (or the cache closed) meanwhile
                        source.close()

    def _retire(self, source: FileSource) -> None:
        """Close ``source`` (already out of the cache) now if nobody reads from it, else its last borrower will."""
        if source not in self._borrowers:
            source.close()

    def close(self) -> None:
        """Close every open file (one still borrowed, once it is returned)."""
        with self._lock:
            for source in self._open.values():
                self._retire(source)
            self._open.clear()
