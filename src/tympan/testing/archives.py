"""A corpus of crafted archives for testing extractors: every known way out of the root, and bombs.

:func:`crafted_archives` writes each archive into a folder and returns :class:`CraftedArchive` records
naming the error a safe extractor must raise. Nothing is stored as an opaque blob: each archive is built
here with :mod:`tarfile`, :mod:`zipfile` and, for the overlapping-entries zip bomb, by patching the central
directory. :func:`files_outside` lists what an extraction wrote outside its root.

Example:
    >>> import pathlib, tempfile
    >>> corpus = crafted_archives(pathlib.Path(tempfile.mkdtemp()))
    >>> len(corpus) > 20, {case.error for case in corpus} == {"UnsafeArchiveError", "IntegrityError"}
    (True, True)
"""

from __future__ import annotations

import io
import os
import stat
import struct
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CraftedArchive", "crafted_archives", "files_outside"]


@dataclass(frozen=True)
class CraftedArchive:
    """One crafted archive: a ``name``, its ``path`` and the ``error`` class name it must be refused with.

    Example:
        >>> CraftedArchive("traversal", Path("x.tar"), "UnsafeArchiveError").error
        'UnsafeArchiveError'
    """

    name: str
    path: Path
    error: str


TarEntry = tuple[str, bytes | None, bytes, str]  # (name, type, data, linkname)


def _tar(path: Path, entries: Iterable[TarEntry], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, kind, data, linkname in entries:
            info = tarfile.TarInfo(name)
            info.type = kind if kind is not None else tarfile.REGTYPE
            info.linkname = linkname
            info.size = len(data) if info.type == tarfile.REGTYPE else 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
    return path


def _zip(path: Path, entries: Iterable[tuple[str, bytes, int]], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zipped:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = mode << 16
            info.compress_type = compression
            zipped.writestr(info, data)
    return path


def _overlapping_zip(path: Path, copies: int = 64) -> Path:
    """One deflated member listed ``copies`` times in the central directory (a Fifield-style bomb)."""
    _zip(path, [("kernel.bin", bytes(1 << 20), 0o100644)])
    data = path.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    (_, _, _, _, _, size, offset, _) = struct.unpack("<4sHHHHIIH", data[end : end + 22])
    entry = data[offset : offset + size]
    name_length = struct.unpack("<H", entry[28:30])[0]
    entries = [entry[:46] + f"k{i:07d}.bin"[:name_length].encode() + entry[46 + name_length :] for i in range(copies)]
    directory = b"".join(entries)
    footer = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, copies, copies, len(directory), offset, 0)
    path.write_bytes(data[:offset] + directory + footer)
    return path


def _truncated(path: Path, source: Path) -> Path:
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    source.unlink()
    return path


def _bad_crc_zip(path: Path) -> Path:
    _zip(path, [("a.txt", b"hello world " * 100, 0o100644)], compression=zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    spot = data.index(b"hello world")
    data[spot] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def crafted_archives(folder: Path) -> list[CraftedArchive]:
    """Write every crafted archive into ``folder``; return them with the error each must raise.

    The bombs are sized to trip :class:`~tympan.plugins.datasets.extractor.ExtractionLimits`' defaults
    (100:1 beyond 1 MiB) while staying small on disk.

    Example:
        >>> import pathlib, tempfile
        >>> names = [case.name for case in crafted_archives(pathlib.Path(tempfile.mkdtemp()))]
        >>> "tar-symlink-escape" in names and "zip-overlapping-bomb" in names
        True
    """
    folder.mkdir(parents=True, exist_ok=True)
    file, sym, hard = tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
    unsafe: dict[str, Callable[[Path], Path]] = {
        "tar-traversal": lambda p: _tar(p, [("../evil.txt", file, b"x", "")]),
        "tar-nested-traversal": lambda p: _tar(p, [("corpus/a/../../../evil.txt", file, b"x", "")]),
        "tar-absolute": lambda p: _tar(p, [(os.path.abspath(str(folder / "evil-absolute.txt")), file, b"x", "")]),
        "tar-windows-drive": lambda p: _tar(p, [("C:\\evil.txt", file, b"x", "")]),
        "tar-backslash-traversal": lambda p: _tar(p, [("corpus\\..\\..\\evil.txt", file, b"x", "")]),
        "tar-symlink-escape": lambda p: _tar(p, [("corpus/link", sym, b"", "../../outside")]),
        "tar-symlink-absolute": lambda p: _tar(p, [("corpus/link", sym, b"", "/etc")]),
        "tar-symlink-chain": lambda p: _tar(p, [("a", sym, b"", "."), ("b", sym, b"", "a/..")]),
        "tar-symlink-then-write": lambda p: _tar(
            p, [("corpus/d", sym, b"", ".."), ("corpus/d/evil.txt", file, b"x", "")]
        ),
        "tar-write-then-symlink": lambda p: _tar(
            p, [("corpus/d/ok.txt", file, b"x", ""), ("corpus/d", sym, b"", "..")]
        ),
        "tar-hardlink-escape": lambda p: _tar(p, [("corpus/h", hard, b"", "../../etc/passwd")]),
        "tar-hardlink-absolute": lambda p: _tar(p, [("corpus/h", hard, b"", "/etc/passwd")]),
        "tar-hardlink-to-symlink": lambda p: _tar(
            p, [("corpus/s", sym, b"", "x.txt"), ("corpus/x.txt", file, b"x", ""), ("corpus/h", hard, b"", "corpus/s")]
        ),
        "tar-char-device": lambda p: _tar(p, [("corpus/null", tarfile.CHRTYPE, b"", "")]),
        "tar-block-device": lambda p: _tar(p, [("corpus/sda", tarfile.BLKTYPE, b"", "")]),
        "tar-fifo": lambda p: _tar(p, [("corpus/pipe", tarfile.FIFOTYPE, b"", "")]),
        "tar-duplicate-member": lambda p: _tar(p, [("corpus/a.txt", file, b"1", ""), ("corpus/a.txt", file, b"2", "")]),
        "tar-gz-bomb": lambda p: _tar(p, [("zeros.bin", file, bytes(8 << 20), "")], mode="w:gz"),
        "tar-xz-bomb": lambda p: _tar(p, [("zeros.bin", file, bytes(8 << 20), "")], mode="w:xz"),
        "zip-traversal": lambda p: _zip(p, [("../evil.txt", b"x", 0o100644)]),
        "zip-absolute": lambda p: _zip(p, [("/tmp/evil.txt", b"x", 0o100644)]),
        "zip-symlink-escape": lambda p: _zip(p, [("corpus/link", b"../../outside", 0o120777)]),
        "zip-symlink-absolute": lambda p: _zip(p, [("corpus/link", b"/etc/passwd", 0o120777)]),
        "zip-char-device": lambda p: _zip(p, [("corpus/null", b"", stat.S_IFCHR | 0o644)]),
        "zip-fifo": lambda p: _zip(p, [("corpus/pipe", b"", stat.S_IFIFO | 0o644)]),
        "zip-bomb": lambda p: _zip(p, [("zeros.bin", bytes(8 << 20), 0o100644)]),
        "zip-overlapping-bomb": _overlapping_zip,
    }
    corrupt: dict[str, Callable[[Path], Path]] = {
        "tar-gz-truncated": lambda p: _truncated(
            p, _tar(folder / "whole.tar.gz", [("corpus/noise.bin", file, os.urandom(1 << 18), "")], mode="w:gz")
        ),
        "zip-truncated": lambda p: _truncated(
            p, _zip(folder / "whole.zip", [("corpus/n.bin", os.urandom(1 << 16), 0o100644)])
        ),
        "zip-bad-crc": _bad_crc_zip,
        "not-an-archive": lambda p: (p.write_bytes(os.urandom(4096)), p)[1],
        "empty-file": lambda p: (p.write_bytes(b""), p)[1],
    }
    suffix = {"gz": ".tar.gz", "xz": ".tar.xz", "zip": ".zip"}
    cases = []
    for error, table in (("UnsafeArchiveError", unsafe), ("IntegrityError", corrupt)):
        for name, build in table.items():
            kind = next((tag for tag in ("gz", "xz", "zip") if f"-{tag}" in f"-{name}"), "tar")
            path = build(folder / f"{name}{suffix.get(kind, '.tar')}")
            cases.append(CraftedArchive(name, path, error))
    return cases


def files_outside(top: Path, root: Path, allowed: Iterable[Path] = ()) -> list[Path]:
    """Every path under ``top`` that is neither inside ``root`` nor in ``allowed`` (links not followed).

    Example:
        >>> import pathlib, tempfile
        >>> top = pathlib.Path(tempfile.mkdtemp())
        >>> (top / "root").mkdir(); _ = (top / "stray.txt").write_text("x")
        >>> [p.name for p in files_outside(top, top / "root")]
        ['stray.txt']
    """
    keep = {Path(p) for p in allowed} | {root}
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path == root or root in path.parents:
                continue
            if path not in keep:
                found.append(path)
    return sorted(found)
