"""One safe extractor for tar (any compression) and zip: nothing is written outside the root, ever.

:func:`extract` unpacks into a temporary folder inside ``root``, checking every member on the way
(:mod:`~tympan.plugins.datasets.archive_members`: no absolute paths, no ``..``, no devices or FIFOs), every
link (a symlink or hardlink, tar or zip, must resolve inside the archive's tree) and the limits of
:class:`ExtractionLimits` (compression ratio per member and overall, total size, member count: zip and tar
bombs stop early). Only a complete, checked tree is moved into ``root``, and the completion marker
``root/.tympan-complete`` records the archive last: an archive it lists is not extracted again, and a
folder it does not list is a half-extracted tree that is redone, never skipped because it exists. On any
error the temporary folder is removed and ``root`` is as it was.

Example:
    >>> import io, pathlib, tarfile, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with tarfile.open(folder / "yesno.tar.gz", "w:gz") as tar:
    ...     info = tarfile.TarInfo("waves_yesno/README"); info.size = 3
    ...     tar.addfile(info, io.BytesIO(b"hi\\n"))
    >>> root = extract(folder / "yesno.tar.gz", folder / "data", progress=False)
    >>> sorted(p.name for p in root.iterdir())
    ['.tympan-complete', 'waves_yesno']
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tympan.core.errors import IntegrityError, UnsafeArchiveError
from tympan.core.files import atomic_write
from tympan.plugins.datasets.archive_members import _READ_ERRORS, Member, read_members
from tympan.plugins.datasets.locking import file_lock
from tympan.plugins.datasets.progress import ByteProgress

__all__ = ["COMPLETE_MARKER", "ExtractionLimits", "extract", "is_extracted"]

#: The file in an extraction root that lists the archives extracted there completely.
COMPLETE_MARKER = ".tympan-complete"
_TEMPORARY_PREFIX = ".tympan-extract-"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExtractionLimits:
    """What one archive may expand to; past any limit, extraction stops with ``UnsafeArchiveError``.

    The ratio limits apply once a member (or the whole archive) has expanded past ``ratio_floor_bytes``,
    so small, very compressible files (transcripts, silence) pass. For a tar, a member's compressed size
    is the compressed input read while it was extracted.

    Example:
        >>> ExtractionLimits(max_ratio=20).max_ratio
        20.0
    """

    max_ratio: float = 100.0
    max_total_bytes: int = 1 << 40
    max_members: int = 10_000_000
    ratio_floor_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        for name in ("max_ratio", "max_total_bytes", "max_members", "ratio_floor_bytes"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"ExtractionLimits.{name} must be positive, got {value!r}")
        object.__setattr__(self, "max_ratio", float(self.max_ratio))


def _marker_entries(root: Path) -> dict[str, dict[str, int]]:
    try:
        entries = json.loads((root / COMPLETE_MARKER).read_text())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def is_extracted(archive: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """Whether ``root``'s completion marker lists ``archive`` (by name and size) as completely extracted.

    Example:
        >>> import pathlib, tempfile
        >>> is_extracted("corpus.tar.gz", tempfile.mkdtemp())
        False
    """
    archive = Path(archive)
    recorded = _marker_entries(Path(root)).get(archive.name)
    return isinstance(recorded, dict) and archive.exists() and recorded.get("size") == archive.stat().st_size


class _Extraction:
    """The state of one extraction into ``scratch``: counts against the limits, links made last."""

    def __init__(self, archive: Path, raw: IO[bytes], scratch: Path, limits: ExtractionLimits) -> None:
        self.archive, self.raw, self.scratch, self.limits = archive, raw, scratch, limits
        self.scratch_real = os.path.realpath(scratch)
        self.archive_bytes = max(archive.stat().st_size, 1)
        self.members = 0
        self.written = 0
        self.made_dirs: set[str] = {""}
        self.links: list[Member] = []
        self.files: set[str] = set()

    def refuse(self, reason: str) -> UnsafeArchiveError:
        return UnsafeArchiveError(self.archive, reason)

    def inside(self, path: str) -> bool:
        return path == self.scratch_real or path.startswith(self.scratch_real + os.sep)

    def directory(self, relative: str) -> Path:
        """The folder ``relative`` under scratch, created (through real folders only) if missing."""
        if relative not in self.made_dirs:
            target = self.scratch / relative
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                raise self.refuse(f"member {relative!r} would write through a link or over a file")
            target.mkdir(parents=True, exist_ok=True)
            if not self.inside(os.path.realpath(target)):
                raise self.refuse(f"member {relative!r} resolves outside the root")
            self.made_dirs.add(relative)
        return self.scratch / relative

    def count(self, member: Member) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise self.refuse(f"more than {self.limits.max_members} members (ExtractionLimits.max_members)")
        if self.written + member.size > self.limits.max_total_bytes:
            limit = self.limits.max_total_bytes
            raise self.refuse(f"expands past {limit} bytes at {member.path!r} (ExtractionLimits.max_total_bytes)")
        ratio, floor = self.limits.max_ratio, self.limits.ratio_floor_bytes
        if member.packed_size is not None and member.size > floor and member.size > ratio * max(member.packed_size, 1):
            raise self.refuse(f"member {member.path!r} expands more than {ratio:g}:1 (ExtractionLimits.max_ratio)")

    def check_ratio(self, member: Member, member_written: int, member_start: int) -> None:
        ratio, floor = self.limits.max_ratio, self.limits.ratio_floor_bytes
        consumed = self.archive_bytes if member.packed_size is not None else self.raw.tell()
        if self.written > floor and self.written > ratio * max(consumed, 1):
            raise self.refuse(f"the archive expands more than {ratio:g}:1 (ExtractionLimits.max_ratio)")
        if (
            member.packed_size is None
            and member_written > floor
            and member_written > ratio * max(consumed - member_start, 1)
        ):
            raise self.refuse(f"member {member.path!r} expands more than {ratio:g}:1 (ExtractionLimits.max_ratio)")

    def write_file(self, member: Member) -> None:
        parent, _, name = member.path.rpartition("/")
        target = self.directory(parent) / name
        if member.path in self.files or target.exists() or target.is_symlink():
            raise self.refuse(f"member {member.path!r} appears twice")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        mode = 0o755 if member.mode & 0o111 else 0o644
        member_start, member_written = self.raw.tell(), 0
        with self.open_member(member) as reader, os.fdopen(os.open(target, flags, mode), "wb") as writer:
            for block in iter(lambda: self.read(member, reader), b""):
                member_written += len(block)
                self.written += len(block)
                if member_written > member.size:
                    raise self.refuse(f"member {member.path!r} holds more than its declared {member.size} bytes")
                writer.write(block)
                self.check_ratio(member, member_written, member_start)
        if member_written != member.size:
            raise IntegrityError(self.archive, f"member {member.path!r} is truncated")
        self.files.add(member.path)
        os.utime(target, (member.mtime, member.mtime))

    def open_member(self, member: Member) -> IO[bytes]:
        if member.open is None:
            raise IntegrityError(self.archive, f"member {member.path!r} has no data")
        try:
            return member.open()
        except _READ_ERRORS as err:
            raise IntegrityError(self.archive, f"member {member.path!r}: {type(err).__name__}: {err}") from None

    def read(self, member: Member, reader: IO[bytes]) -> bytes:
        try:
            return reader.read(_CHUNK)
        except _READ_ERRORS as err:
            raise IntegrityError(
                self.archive, f"member {member.path!r} is corrupt ({type(err).__name__}: {err})"
            ) from None

    def add(self, member: Member) -> None:
        self.count(member)
        if member.kind == "dir":
            self.directory(member.path)
        elif member.kind == "file":
            self.write_file(member)
        else:
            self.links.append(member)

    def make_links(self) -> None:
        """Create the links after every file, so no member is ever written through one, then check each."""
        for link in self.links:
            parent, _, name = link.path.rpartition("/")
            target = self.directory(parent) / name
            if target.exists() or target.is_symlink():
                raise self.refuse(f"member {link.path!r} appears twice")
            if link.kind == "symlink":
                os.symlink(str(link.target), target)
                continue
            source = self.scratch / str(link.target)
            if link.target not in self.files or source.is_symlink():
                raise self.refuse(f"hardlink {link.path!r} points to {link.target!r}, not a file of the archive")
            os.link(source, target)
        for link in self.links:
            if not self.inside(os.path.realpath(self.scratch / link.path)):
                raise self.refuse(f"link {link.path!r} resolves outside the root")


def _merge(source: Path, destination: Path) -> None:
    """Move the tree ``source`` into ``destination``, replacing what is there entry by entry."""
    for entry in os.scandir(source):
        target = destination / entry.name
        if entry.is_dir(follow_symlinks=False) and target.is_dir() and not target.is_symlink():
            _merge(Path(entry.path), target)
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(entry.path, target)


def _record(root: Path, archive: Path, members: int) -> None:
    entries = _marker_entries(root)
    entries[archive.name] = {"size": archive.stat().st_size, "members": members}
    with atomic_write(root / COMPLETE_MARKER) as handle:
        handle.write(json.dumps(entries, indent=1, sort_keys=True).encode())


def extract(
    archive: str | os.PathLike[str],
    root: str | os.PathLike[str],
    *,
    limits: ExtractionLimits | None = None,
    progress: bool = True,
) -> Path:
    """Unpack the tar or zip ``archive`` into ``root`` safely and return ``root``; see the module docs.

    An archive already recorded in ``root``'s completion marker is not unpacked again.

    Example:
        >>> import pathlib, tempfile, zipfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with zipfile.ZipFile(folder / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as zipped:
        ...     zipped.writestr("zeros.bin", bytes(50 << 20))
        >>> try:
        ...     extract(folder / "bomb.zip", folder / "data", progress=False)
        ... except UnsafeArchiveError as err:
        ...     print(err.reason)
        member 'zeros.bin' expands more than 100:1 (ExtractionLimits.max_ratio)
        >>> sorted(p.name for p in (folder / "data").iterdir())
        []
    """
    archive, root = Path(archive), Path(root)
    limits = limits or ExtractionLimits()
    if not archive.is_file():
        raise IntegrityError(archive, "no such archive")
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / ".tympan-extract"):
        if is_extracted(archive, root):
            return root
        for stale in root.glob(f"{_TEMPORARY_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        scratch = Path(tempfile.mkdtemp(prefix=_TEMPORARY_PREFIX, dir=root))
        bar = ByteProgress(f"extracting {archive.name}", progress)
        try:
            with open(archive, "rb") as raw:
                bar.start(archive.stat().st_size)
                state = _Extraction(archive, raw, scratch, limits)
                position = 0
                for member in read_members(archive, raw):
                    state.add(member)
                    bar.update(raw.tell() - position)
                    position = raw.tell()
                state.make_links()
            _merge(scratch, root)
            _record(root, archive, state.members)
        finally:
            bar.close()
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(scratch)
    return root
