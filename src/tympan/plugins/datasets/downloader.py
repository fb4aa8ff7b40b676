"""Downloading a file as safely as a package manager does: resumed, verified, locked, atomic.

:func:`download` fetches ``url`` into ``DEST.part`` and moves it to ``dest`` only once it is whole and
verified:

- an interrupted transfer resumes within the call by HTTP ``Range`` requests (a few tries, with back-off);
  a ``DEST.part`` survives only a killed process or Ctrl-C, and the next call resumes it;
- a transfer shorter than its ``Content-Length``, an HTTP error, or an HTML page served where a file was
  expected (status 200 or not) is a :class:`~tympan.core.errors.DownloadError`; a checksum that differs is
  an :class:`~tympan.core.errors.IntegrityError`; either way nothing is left behind;
- a file lock (:func:`~tympan.plugins.datasets.locking.file_lock`) keeps two processes from interleaving bytes:
  the second waits and finds the file in place;
- offline: ``url`` may be a local path or ``file://`` URL, and ``TYMPAN_DATA_MIRROR`` (or ``mirror=``)
  names a folder or a base URL that holds the same file names; checksums apply all the same.

Example:
    >>> import hashlib, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "words.txt").write_bytes(b"yes no\\n")
    >>> digest = hashlib.sha256(b"yes no\\n").hexdigest()
    >>> path = download((folder / "words.txt").as_uri(), folder / "copy.txt", sha256=digest, progress=False)
    >>> path.read_bytes(), sorted(p.name for p in folder.iterdir())
    (b'yes no\\n', ['copy.txt', 'words.txt'])
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tympan.core.errors import DownloadError, IntegrityError
from tympan.plugins.datasets.locking import file_lock
from tympan.plugins.datasets.progress import ByteProgress

__all__ = ["MIRROR_VARIABLE", "WeakChecksumWarning", "download", "file_digest", "verify_file"]

#: The environment variable naming a mirror: a local folder or a base URL holding the same file names.
MIRROR_VARIABLE = "TYMPAN_DATA_MIRROR"

_CHUNK = 1 << 20
_RETRIED_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")


class WeakChecksumWarning(UserWarning):
    """A file verified by MD5 only, because that is all its publisher gives.

    Example:
        >>> issubclass(WeakChecksumWarning, UserWarning)
        True
    """


def file_digest(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """The hex digest of a file's bytes (``sha256`` or ``md5``), read in 1 MiB blocks.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a"
        >>> _ = path.write_bytes(b"abc")
        >>> file_digest(path)[:16]
        'ba7816bf8f01cfea'
    """
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(
    path: str | os.PathLike[str], sha256: str | None = None, md5: str | None = None, source: object = None
) -> None:
    """Raise :class:`~tympan.core.errors.IntegrityError` (naming ``source`` or the path) if a checksum differs.

    With only ``md5`` given, a :class:`WeakChecksumWarning` says so.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a"
        >>> _ = path.write_bytes(b"abc")
        >>> try:
        ...     verify_file(path, sha256="0" * 64)
        ... except IntegrityError as err:
        ...     print(err.reason)
        sha256 is ba7816bf8f01cfea..., expected 0000000000000000...
    """
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected is None:
            continue
        if algorithm == "md5" and sha256 is None:
            warnings.warn(
                f"{source or path}: verified by MD5 only (no SHA-256 is published)", WeakChecksumWarning, stacklevel=3
            )
        actual = file_digest(path, algorithm)
        if actual.lower() != expected.lower():
            reason = f"{algorithm} is {actual[:16]}..., expected {expected.lower()[:16]}..."
            raise IntegrityError(source or path, reason)
        if algorithm == "sha256":
            return


class _NoDowngradeRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects (at most 10) but never from https to plain http, nor to another scheme."""

    max_redirections = 10

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        old, new = urllib.parse.urlsplit(req.full_url).scheme, urllib.parse.urlsplit(newurl).scheme
        if new not in ("http", "https") or (old == "https" and new == "http"):
            raise DownloadError(req.full_url, f"refused redirect to {newurl}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_NoDowngradeRedirects)


def _looks_like_html(head: bytes) -> bool:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").lower().startswith(_HTML_STARTS)


def _expects_html(url: str) -> bool:
    return urllib.parse.urlsplit(url).path.lower().endswith((".html", ".htm"))


class _RetryableError(Exception):
    """A transfer that ended early and can resume."""


def _content_range_total(value: str | None) -> tuple[int | None, int | None]:
    """``(start, total)`` of a ``Content-Range: bytes START-END/TOTAL`` (or ``bytes */TOTAL``) header."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, total = value[6:].partition("/")
    start = int(span.partition("-")[0]) if span[:1].isdigit() else None
    return start, int(total) if total.isdigit() else None


def _open(url: str, offset: int, timeout: float) -> Any:
    headers = {"User-Agent": "tympan", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return _OPENER.open(urllib.request.Request(url, headers=headers), timeout=timeout)


def _receive(url: str, part: Path, timeout: float, progress: ByteProgress) -> None:
    """One request: append to ``part`` from where it ends; raise :class:`_RetryableError` if the body ends short."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            _, total = _content_range_total(err.headers.get("Content-Range"))
            if total == offset:
                return  # the part was already whole
            part.unlink()
            raise _RetryableError(f"HTTP 416 at byte {offset}") from None
        if err.code in _RETRIED_STATUS:
            raise _RetryableError(f"HTTP {err.code} {err.reason}") from None
        raise DownloadError(url, f"HTTP {err.code} {err.reason}") from None
    with response:
        start, total = 0, None
        if response.status == 206:
            first, total = _content_range_total(response.headers.get("Content-Range"))
            if first != offset:  # an answer for another range: start over
                response.close()
                part.unlink()
                raise _RetryableError("server answered another range")
            start = offset
        length = response.headers.get("Content-Length")
        if total is None and length is not None and length.isdigit():
            total = start + int(length)
        content_type = (response.headers.get("Content-Type") or "").lower()
        if content_type.startswith("text/html") and not _expects_html(url):
            raise DownloadError(url, f"the server sent an HTML page ({content_type}), not the file")
        progress.start(total, start)
        with open(part, "ab" if start else "wb") as handle:
            _copy_body(url, response, handle, first=start == 0, progress=progress)
        received = part.stat().st_size
    if total is not None and received < total:
        raise _RetryableError(f"transfer ended at byte {received} of {total}")
    if total is not None and received > total:
        raise DownloadError(url, f"the server sent {received} bytes, more than the {total} it declared")


def _copy_body(url: str, response: Any, handle: IO[bytes], first: bool, progress: ByteProgress) -> None:
    try:
        for block in iter(lambda: response.read(_CHUNK), b""):
            if first:
                first = False
                if _looks_like_html(block[:512]) and not _expects_html(url):
                    raise DownloadError(url, "the server sent an HTML page, not the file")
            handle.write(block)
            progress.update(len(block))
    except (http.client.IncompleteRead, ConnectionError, TimeoutError) as err:
        raise _RetryableError(f"{type(err).__name__}: {err}") from None


def _transfer(url: str, part: Path, tries: int, timeout: float, progress: ByteProgress) -> None:
    for attempt in range(1, tries + 1):
        try:
            _receive(url, part, timeout, progress)
            return
        except _RetryableError as err:
            reason = str(err)
        except urllib.error.URLError as err:
            if isinstance(err.reason, (str, ValueError, FileNotFoundError)):
                raise DownloadError(url, str(err.reason)) from None
            reason = f"{type(err.reason).__name__}: {err.reason}"
        except (http.client.HTTPException, ConnectionError, TimeoutError) as err:
            reason = f"{type(err).__name__}: {err}"
        if attempt < tries:
            time.sleep(min(0.25 * 2 ** (attempt - 1), 4.0))
    raise DownloadError(url, f"{reason} (gave up after {tries} tries)")


def _local_source(url: str) -> Path | None:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme == "file":
        return Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    windows_drive = len(scheme) == 1 and os.name == "nt"
    return Path(url) if scheme == "" or windows_drive else None


def _copy_local(source: Path, part: Path, url: str) -> None:
    try:
        with open(source, "rb") as reader, open(part, "wb") as writer:
            head = reader.read(512)
            if _looks_like_html(head) and not _expects_html(url):
                raise DownloadError(url, "the file is an HTML page, not the archive")
            writer.write(head)
            for block in iter(lambda: reader.read(_CHUNK), b""):
                writer.write(block)
    except OSError as err:
        raise DownloadError(url, f"{type(err).__name__}: {err.strerror or err}") from None


def resolve_source(url: str, mirror: str | None = None) -> str:
    """Where ``url`` is fetched from: the same file name under the mirror when one is set, else ``url``.

    ``mirror`` defaults to ``TYMPAN_DATA_MIRROR``; it is a local folder or a base URL.

    Example:
        >>> resolve_source("https://example.org/a/b.tar.gz", mirror="/data/archives")
        '/data/archives/b.tar.gz'
    """
    mirror = mirror if mirror is not None else os.environ.get(MIRROR_VARIABLE) or None
    if not mirror:
        return url
    name = Path(urllib.parse.urlsplit(url).path).name
    if "://" in mirror:
        return f"{mirror.rstrip('/')}/{urllib.parse.quote(name)}"
    return os.fspath(Path(mirror) / name)


@contextlib.contextmanager
def _part_file(dest: Path) -> Iterator[Path]:
    """``DEST.part``: kept on Ctrl-C (or a killed process) for the next call to resume, removed on failure."""
    part = dest.with_name(dest.name + ".part")
    try:
        yield part
    except KeyboardInterrupt:
        raise
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise


def download(
    url: str,
    dest: str | os.PathLike[str],
    sha256: str | None = None,
    *,
    md5: str | None = None,
    mirror: str | None = None,
    tries: int = 4,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Fetch ``url`` to ``dest`` (a file path, or an existing folder to put it in) and return the file's path.

    An existing ``dest`` that verifies (or any, without a checksum) is kept and nothing is fetched.

    Args:
        url: An ``http(s)://`` or ``file://`` URL, or a local path.
        dest: The file to write, or an existing folder (the URL's file name is used inside it).
        sha256: The expected SHA-256; the file is refused (:class:`IntegrityError`) if it differs.
        md5: The expected MD5, for files whose publisher gives no SHA-256 (a warning says so).
        mirror: A folder or base URL holding the same file names; default ``TYMPAN_DATA_MIRROR``.
        tries: Attempts per call at an interrupted or failing transfer (each resumes where the last ended).
        timeout: Seconds without data before an attempt counts as failed.
        progress: Show a progress bar on a terminal.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / "page.bin").write_bytes(b"<!DOCTYPE html><html>Not found</html>")
        >>> try:
        ...     download(str(folder / "page.bin"), folder / "out.bin", progress=False)
        ... except DownloadError as err:
        ...     print(err.reason)
        the file is an HTML page, not the archive
        >>> sorted(p.name for p in folder.iterdir())
        ['page.bin']
    """
    if tries < 1:
        raise ValueError(f"tries must be at least 1, got {tries}")
    target = Path(dest)
    if target.is_dir():
        target = target / Path(urllib.parse.urlsplit(url).path).name
    source = resolve_source(url, mirror)
    target.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(target):
        if target.is_file():
            try:
                verify_file(target, sha256, md5, source=target)
                return target
            except IntegrityError:
                pass  # fetched again below; the old file is replaced only by a verified one
        with _part_file(target) as part:
            local = _local_source(source)
            if local is not None:
                _copy_local(local, part, source)
            else:
                bar = ByteProgress(f"downloading {target.name}", progress)
                try:
                    _transfer(source, part, tries, timeout, bar)
                finally:
                    bar.close()
            if not part.exists():
                raise DownloadError(source, "nothing was received")
            verify_file(part, sha256, md5, source=source)
            with open(part, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(part, target)
    return target
