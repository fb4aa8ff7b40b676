"""Atomic file writing: a temporary file beside the target, then ``os.replace``; nothing else is touched.

- A failed write leaves the old file intact and no partial or temporary file behind, also when the process
  is ended by ``SIGTERM`` or ``SIGHUP`` during the write (the temporary file is removed, then the signal
  does what it did before; this needs the write to run in the main thread, where signals are handled).
- A symbolic link is written through: its final target is replaced (atomically, in the target's folder)
  and the link stays a link; a dangling link creates its target. A destination that is not a regular file
  (a device, a FIFO, a socket) is refused with :class:`~tympan.core.errors.UnsafeDestinationError`, and a
  directory with ``IsADirectoryError``.
- The temporary name is short (``.`` + at most 32 characters of the name + a random part + ``.tmp``), so a
  target name at the file system's length limit can still be written.
- The new file gets the mode the file it replaces had, or, for a new file, the usual ``0o666`` less the
  process's umask (not the owner-only mode of the temporary file).
- A writer of a large file may call :func:`start_writeback` on the part written so far: the disk then
  takes that data while the program computes the rest, and the final ``fsync`` waits only for the tail.

Example:
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_write(target) as handle:
    ...     _ = handle.write(b"hello")
    >>> target.read_bytes()
    b'hello'
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast

from tympan.core.errors import UnsafeDestinationError

__all__ = ["atomic_write", "start_writeback", "writable_destination"]

#: Signals that end a process during a write; its temporary file is removed first.
_TERMINATING = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))
#: Characters of the target's name kept in the temporary name.
_NAME_KEPT = 32


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Read once at import: ``os.umask`` can only be read by setting it, which is not thread-safe later.
_UMASK = _process_umask()

#: Linux's ``SYNC_FILE_RANGE_WRITE``: start writing the dirty pages of a range, without waiting.
_SYNC_FILE_RANGE_WRITE = 2


@functools.cache
def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    """libc's ``sync_file_range`` (Linux only), loaded on first use; ``None`` where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return cast("Callable[[int, int, int, int], int]", function)


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Ask the kernel to start writing ``length`` bytes at ``offset`` of ``fd`` to disk, without waiting.

    Data written earlier goes to the disk while the program goes on, so a later ``fsync`` has less left
    to wait for; nothing about what is written or when it is durable changes (only ``fsync`` makes it
    durable). Flush any Python-level buffer first: only bytes the kernel holds are written. Returns whether
    the request was made (on Linux, with ``sync_file_range``); elsewhere, or if the kernel refuses, it does
    nothing and returns ``False``.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "big.bin"
        >>> with open(path, "wb") as handle:
        ...     _ = handle.write(bytes(1 << 16))
        ...     handle.flush()
        ...     _ = start_writeback(handle.fileno(), 0, 1 << 16)
        >>> path.stat().st_size
        65536
    """
    function = _sync_file_range()
    if function is None or length <= 0:
        return False
    return function(fd, offset, length, _SYNC_FILE_RANGE_WRITE) == 0


def _final_mode(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_UMASK


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def writable_destination(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the final target of the link it is.

    Raises :class:`~tympan.core.errors.UnsafeDestinationError` for a device, FIFO or socket,
    ``IsADirectoryError`` for a directory and ``OSError`` (``ELOOP``) for a loop of links.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> (folder / "link.wav").symlink_to("take.wav")
        >>> writable_destination(folder / "link.wav").name
        'take.wav'
        >>> try:
        ...     writable_destination("/dev/null")
        ... except UnsafeDestinationError as err:
        ...     print(err.reason)
        it is a character device, not a regular file
    """
    given = Path(path)
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    try:
        mode = target.lstat().st_mode
    except FileNotFoundError:
        return target
    if stat.S_ISLNK(mode):  # realpath stopped at a link: a loop
        raise OSError(errno.ELOOP, "a loop of symbolic links", os.fspath(given))
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "a directory, not a file to replace", os.fspath(given))
    if not stat.S_ISREG(mode):
        shown = os.fspath(given) if target == given else f"{given} (a link to {target})"
        raise UnsafeDestinationError(shown, f"it is {_kind(mode)}, not a regular file")
    return target


@contextlib.contextmanager
def _removed_on_termination(temporary: str) -> Iterator[None]:
    """While the block runs, a terminating signal removes ``temporary`` before it takes effect."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def remove_then_terminate(signum: int, frame: FrameType | None) -> None:
        before = previous[signum]
        if callable(before):  # the program's own handler decides; an exception it raises cleans up below
            before(signum, frame)
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        signal.signal(signum, before)
        os.kill(os.getpid(), signum)

    for signum in _TERMINATING:
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN and handler is not None:
            previous[signum] = handler
            signal.signal(signum, remove_then_terminate)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a temporary binary file beside ``path``'s target; on success it replaces that target, on error
    (or a terminating signal) it vanishes. See the module docstring.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> try:
        ...     with atomic_write(target) as handle:
        ...         _ = handle.write(b"partial")
        ...         raise RuntimeError("disk full")
        ... except RuntimeError:
        ...     pass
        >>> target.exists(), list(target.parent.iterdir())
        (False, [])
    """
    target = writable_destination(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name[:_NAME_KEPT]}.", suffix=".tmp", dir=target.parent)
    try:
        with _removed_on_termination(temporary):
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fchmod(handle.fileno(), _final_mode(target))
                os.fsync(handle.fileno())
            os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
