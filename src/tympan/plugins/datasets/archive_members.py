"""Tar (any compression) and zip archives read as one sequence of members, each checked for safety.

:func:`read_members` yields :class:`Member` records in archive order, streaming: a tar is read once,
front to back, whatever its compression. Each member's name has been checked (no absolute path, no drive
letter, no ``..``, no NUL), and its type is a regular file, a directory, a symlink or a hardlink; devices,
FIFOs, sockets, sparse and unknown members are refused with :class:`~tympan.core.errors.UnsafeArchiveError`.
An archive that cannot be read (truncated, corrupt, encrypted) is an
:class:`~tympan.core.errors.IntegrityError`.

Example:
    >>> import io, pathlib, tarfile, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.tar.gz"
    >>> with tarfile.open(path, "w:gz") as tar:
    ...     info = tarfile.TarInfo("corpus/readme.txt"); info.size = 3
    ...     tar.addfile(info, io.BytesIO(b"hi\\n"))
    >>> with open(path, "rb") as raw:
    ...     [(m.kind, m.path) for m in read_members(path, raw)]
    [('file', 'corpus/readme.txt')]
"""

from __future__ import annotations

import itertools
import posixpath
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from tympan.core.errors import IntegrityError, UnsafeArchiveError

__all__ = ["Member", "read_members", "safe_member_path"]

_DRIVE = re.compile(r"^[A-Za-z]:")
_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, OSError)
_MAX_LINK_TARGET = 4096


@dataclass(frozen=True)
class Member:
    """One archive member: its checked relative ``path``, ``kind`` and, for links, ``target``.

    ``size`` is the uncompressed size, ``packed_size`` the compressed size where the format records it
    (zip; ``None`` for tar), ``open`` returns a reader of the member's bytes (files only).

    Example:
        >>> Member("file", "a/b.txt", 3, None, 0o644, 0.0, None, None).kind
        'file'
    """

    kind: Literal["file", "dir", "symlink", "hardlink"]
    path: str
    size: int
    target: str | None
    mode: int
    mtime: float
    packed_size: int | None
    open: Callable[[], IO[bytes]] | None


def safe_member_path(archive: object, name: str) -> str:
    """The member's relative POSIX path; raise ``UnsafeArchiveError`` for an absolute path, ``..`` or NUL.

    Backslashes count as separators (archives made on Windows), so they cannot hide a ``..``.

    Example:
        >>> safe_member_path("a.tar", "./corpus//x.wav")
        'corpus/x.wav'
        >>> safe_member_path("a.tar", "x/../../etc/passwd")
        Traceback (most recent call last):
        ...
        tympan.core.errors.UnsafeArchiveError: unsafe archive a.tar: member 'x/../../etc/passwd' has a '..' component
    """
    if "\x00" in name:
        raise UnsafeArchiveError(archive, f"member {name!r} has a NUL character in its name")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or _DRIVE.match(unified):
        raise UnsafeArchiveError(archive, f"member {name!r} has an absolute path")
    parts = [part for part in unified.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(archive, f"member {name!r} has a '..' component")
    return "/".join(parts)


def _link_target(archive: object, member: str, target: str) -> str:
    """A symlink's target, refused when absolute or when it leaves the archive's root lexically."""
    unified = target.replace("\\", "/")
    if not unified or unified.startswith("/") or _DRIVE.match(unified) or "\x00" in unified:
        raise UnsafeArchiveError(archive, f"symlink {member!r} points to {target!r}, outside the archive")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member), unified))
    if resolved == ".." or resolved.startswith("../"):
        raise UnsafeArchiveError(archive, f"symlink {member!r} points to {target!r}, outside the archive")
    return unified


def _tar_members(archive: Path, raw: IO[bytes]) -> Iterator[Member]:
    with tarfile.open(fileobj=raw, mode="r|*") as tar:
        for info in tar:
            path = safe_member_path(archive, info.name)
            mode, mtime = info.mode & 0o7777, float(max(info.mtime, 0))
            if info.isdir():
                yield Member("dir", path, 0, None, mode, mtime, None, None)
            elif info.issym():
                target = _link_target(archive, path, info.linkname)
                yield Member("symlink", path, 0, target, mode, mtime, None, None)
            elif info.islnk():
                target = safe_member_path(archive, info.linkname)
                yield Member("hardlink", path, 0, target, mode, mtime, None, None)
            elif info.isreg() and not info.issparse():
                opener = _tar_opener(tar, info)
                yield Member("file", path, info.size, None, mode, mtime, None, opener)
            else:
                what = "device" if info.isdev() else "sparse file" if info.issparse() else "special file"
                raise UnsafeArchiveError(archive, f"member {info.name!r} is a {what}")


def _tar_opener(tar: tarfile.TarFile, info: tarfile.TarInfo) -> Callable[[], IO[bytes]]:
    def open_member() -> IO[bytes]:
        reader = tar.extractfile(info)
        if reader is None:  # pragma: no cover - regular members always have a reader
            raise IntegrityError(tar.name, f"member {info.name!r} has no data")
        return reader

    return open_member


def _zip_kind(info: zipfile.ZipInfo) -> int:
    return (info.external_attr >> 16) & 0xFFFF if info.create_system == 3 else 0


def _check_zip_layout(archive: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse overlapping members (one compressed stream counted many times, the classic zip bomb)."""
    spans = sorted((info.header_offset, info.compress_size, info.filename) for info in infos)
    for (offset, size, name), (next_offset, _, next_name) in itertools.pairwise(spans):
        if offset + 30 + size > next_offset:
            raise UnsafeArchiveError(archive, f"members {name!r} and {next_name!r} overlap")


def _zip_members(archive: Path, zipped: zipfile.ZipFile) -> Iterator[Member]:
    infos = zipped.infolist()
    _check_zip_layout(archive, infos)
    for info in infos:
        path = safe_member_path(archive, info.filename)
        if info.flag_bits & 0x1:
            raise IntegrityError(archive, f"member {info.filename!r} is encrypted")
        mode_bits = _zip_kind(info)
        mode = stat.S_IMODE(mode_bits) or 0o644
        mtime = float(zipfile_time(info))
        file_type = stat.S_IFMT(mode_bits)
        if info.is_dir() or file_type == stat.S_IFDIR:
            yield Member("dir", path, 0, None, mode, mtime, None, None)
        elif file_type == stat.S_IFLNK:
            if info.file_size > _MAX_LINK_TARGET:
                raise UnsafeArchiveError(archive, f"symlink {info.filename!r} has a {info.file_size}-byte target")
            raw_target = zipped.read(info).decode("utf-8", errors="replace")
            target = _link_target(archive, path, raw_target)
            yield Member("symlink", path, 0, target, mode, mtime, info.compress_size, None)
        elif file_type in (0, stat.S_IFREG):
            opener = _zip_opener(zipped, info)
            yield Member("file", path, info.file_size, None, mode, mtime, info.compress_size, opener)
        else:
            raise UnsafeArchiveError(archive, f"member {info.filename!r} is a device or special file")


def zipfile_time(info: zipfile.ZipInfo) -> float:
    """A zip member's modification time as a POSIX timestamp (local time, as zip stores it).

    Example:
        >>> zipfile_time(zipfile.ZipInfo("a", date_time=(2020, 1, 1, 0, 0, 0))) > 0
        True
    """
    import time

    try:
        return time.mktime((*info.date_time, 0, 0, -1))
    except (OverflowError, ValueError):
        return 0.0


def _zip_opener(zipped: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: zipped.open(info)


def read_members(archive: str | Path, raw: IO[bytes]) -> Iterator[Member]:
    """The members of the tar or zip archive at ``archive`` (``raw`` is it, opened for reading), in order.

    Example:
        >>> import pathlib, tempfile, zipfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.zip"
        >>> with zipfile.ZipFile(path, "w") as zipped:
        ...     zipped.writestr("../evil.txt", b"x")
        >>> with open(path, "rb") as raw:
        ...     list(read_members("a.zip", raw))
        Traceback (most recent call last):
        ...
        tympan.core.errors.UnsafeArchiveError: unsafe archive a.zip: member '../evil.txt' has a '..' component
    """
    archive = Path(archive)
    try:
        if zipfile.is_zipfile(raw):
            raw.seek(0)
            with zipfile.ZipFile(raw) as zipped:
                yield from _zip_members(archive, zipped)
            return
        raw.seek(0)
        yield from _tar_members(archive, raw)
    except (UnsafeArchiveError, IntegrityError):
        raise
    except _READ_ERRORS as err:
        raise IntegrityError(archive, f"not a readable tar or zip archive ({type(err).__name__}: {err})") from None
