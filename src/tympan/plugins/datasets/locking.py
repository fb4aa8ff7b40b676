"""An inter-process file lock that leaves no lock file behind.

Two processes downloading or extracting the same thing take turns: the second waits, then finds the work
done. The lock is ``flock`` on a ``NAME.lock`` file beside the target; the holder removes that file when it
releases, and a waiter that finds its file replaced meanwhile locks the new one, so the lock file never
outlives the work and no two holders ever overlap.

Example:
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "corpus.tar.gz"
    >>> with file_lock(target):
    ...     (target.parent / "corpus.tar.gz.lock").exists()
    True
    >>> (target.parent / "corpus.tar.gz.lock").exists()
    False
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["file_lock"]


def _lock_fd(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                time.sleep(0.1)
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)


def _unlock_fd(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def file_lock(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold an exclusive lock on ``target`` (any path, existing or not) across processes; yields the lock path.

    Example:
        >>> import pathlib, tempfile
        >>> with file_lock(pathlib.Path(tempfile.mkdtemp()) / "x") as lock:
        ...     lock.name
        'x.lock'
    """
    lock_path = Path(f"{os.fspath(target)}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock_fd(fd)
            # the previous holder may have removed the file after we opened it: then lock the new one
            if os.path.exists(lock_path) and os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield lock_path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        _unlock_fd(fd)
        os.close(fd)
