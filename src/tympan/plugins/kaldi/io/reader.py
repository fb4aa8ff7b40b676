"""Reading Kaldi tables: :func:`read` (sequential), :func:`open` (random access), :func:`read_object` (one object).

Values come back as tensors: float32 / float64 matrices (2-D) and vectors (1-D) keep their type,
compressed matrices decode to float32, int32 vectors are int32, and text floats are float32 (Kaldi's
``BaseFloat``; text carries no type). Script entries may select a block with a range,
``feats.ark:1234[0:51]`` or ``[:,3:7]``, inclusive as in Kaldi; only that block is read.

Example:
    >>> import pathlib, tempfile, torch
    >>> from tympan.plugins.kaldi import io as kaldi_io
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> kaldi_io.write(f"ark,scp:{folder}/a.ark,{folder}/a.scp", {"utt1": torch.ones(4, 2), "utt2": torch.zeros(3, 2)})
    >>> [(key, tuple(value.shape)) for key, value in kaldi_io.read(f"ark:{folder}/a.ark")]
    [('utt1', (4, 2)), ('utt2', (3, 2))]
    >>> with kaldi_io.open(f"scp:{folder}/a.scp") as table:
    ...     table["utt2"].shape, table.shape("utt1"), "utt3" in table
    (torch.Size([3, 2]), (4, 2), False)
"""

from __future__ import annotations

import builtins
import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import torch
from pydantic import Field

from tympan.core.errors import KaldiFormatError
from tympan.plugins.kaldi.io.archive import ScriptEntry, decode_lines, iter_archive, parse_script
from tympan.plugins.kaldi.io.objects import ObjectInfo, describe, load
from tympan.plugins.kaldi.io.pipes import open_pipe_input
from tympan.plugins.kaldi.io.sources import ByteSource, FileCache, FileSource, StreamSource
from tympan.plugins.kaldi.io.specifiers import ExtendedFilename, Rspecifier, parse_extended_filename, parse_rspecifier

__all__ = ["RandomAccessReader", "open", "read", "read_object"]

#: The ``mmap`` option of :func:`open` and :class:`RandomAccessReader`.
MemoryMap = Annotated[
    bool,
    Field(
        description=(
            "Return uncompressed binary float matrices and vectors of an archive file as tensors that view a "
            "private, copy-on-write map of it instead of copying them (as torch.load(mmap=True)): pages are "
            "read on first touch, and the tensors change if the archive is rewritten in place."
        )
    ),
]


def _open_source(target: ExtendedFilename, allow_pipes: bool) -> ByteSource:
    if target.kind == "pipe":
        return open_pipe_input(target.path, allow_pipes)
    if target.kind == "stdin":
        return StreamSource(sys.stdin.buffer, "<stdin>")
    return FileSource(target.path)


@contextlib.contextmanager
def _entry_source(entry: ScriptEntry, scp: str, allow_pipes: bool, cache: FileCache) -> Iterator[ByteSource]:
    """The source of an scp entry while the ``with`` lasts: a file borrowed from ``cache`` (it stays open for
    the next entry), or a pipe, closed once read (never standard input: ``parse_script`` refuses it). One
    that cannot be opened is a :class:`~tympan.core.errors.KaldiFormatError` naming the entry."""
    target = entry.target
    with contextlib.ExitStack() as stack:
        try:
            opened = open_pipe_input(target.path, allow_pipes) if target.kind == "pipe" else cache.borrow(target.path)
            source = stack.enter_context(opened)
        except OSError as error:
            reason = f"cannot open {target.path!r}: {error.strerror or error}"
            raise KaldiFormatError(scp, reason, key=entry.key, line=entry.line) from None
        yield source


def _release(source: ByteSource) -> None:
    if not (isinstance(source, StreamSource) and source.name == "<stdin>"):
        source.close()


def _script_entries(spec: Rspecifier, allow_pipes: bool) -> list[ScriptEntry]:
    target = parse_extended_filename(spec.path, allow_range=False)
    if target.kind in ("file", "offset"):
        with builtins.open(target.path, "rb") as handle:
            lines = decode_lines(handle.read(), spec.path)
    else:
        source = _open_source(target, allow_pipes)
        try:
            chunks = []
            while chunk := source.view(sum(map(len, chunks)), 1 << 20):
                chunks.append(chunk)
        finally:
            _release(source)
        lines = decode_lines(b"".join(chunks), spec.path)
    return parse_script(lines, spec.path)


def _read_entry(
    entry: ScriptEntry, scp: str, allow_pipes: bool, cache: FileCache, mapped: bool = False
) -> torch.Tensor:
    target = entry.target
    with _entry_source(entry, scp, allow_pipes, cache) as source:
        return load(source, describe(source, target.offset or 0, entry.key), target.range, entry.key, mapped)


def _read_archive(spec: Rspecifier, allow_pipes: bool) -> Iterator[tuple[str, torch.Tensor]]:
    target = parse_extended_filename(spec.path, allow_range=False)
    source = _open_source(target, allow_pipes)
    try:
        entries = iter_archive(source, target.offset or 0)
        while True:
            try:
                found = next(entries, None)
                if found is None:
                    return
                key, info = found
                value = load(source, info, key=key)
            except KaldiFormatError:
                if spec.permissive:  # Kaldi's 'p': an error ends the archive
                    return
                raise
            yield key, value
    finally:
        _release(source)


def _read_script(spec: Rspecifier, allow_pipes: bool) -> Iterator[tuple[str, torch.Tensor]]:
    cache = FileCache()
    try:
        for entry in _script_entries(spec, allow_pipes):
            try:
                value = _read_entry(entry, spec.path, allow_pipes, cache)
            except KaldiFormatError:
                if spec.permissive:  # Kaldi's 'p': skip what cannot be read
                    continue
                raise
            yield entry.key, value
    finally:
        cache.close()


def read(rspecifier: str | os.PathLike[str], *, allow_pipes: bool = False) -> Iterator[tuple[str, torch.Tensor]]:
    """Iterate ``(key, tensor)`` over an archive or script file, in file order.

    ``rspecifier`` is Kaldi's (``ark:feats.ark``, ``scp:feats.scp``, ``ark:-``, ``p,scp:...``,
    ``ark:gunzip -c feats.ark.gz |``); a path ending in ``.ark`` or ``.scp`` is read as such. With the
    ``p`` option an archive stops at its first malformed object and a script skips entries it cannot
    read; otherwise they raise :class:`~tympan.core.errors.KaldiFormatError` naming the file, key and
    byte offset. Pipes raise :class:`~tympan.core.errors.UnsupportedFormatError` unless ``allow_pipes``.

    Example:
        >>> import pathlib, tempfile, torch
        >>> from tympan.plugins.kaldi.io import write
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "v.ark"
        >>> write(f"ark,t:{path}", [("a", torch.tensor([1, 2], dtype=torch.int32))])
        >>> list(read(f"ark:{path}"))
        [('a', tensor([1, 2], dtype=torch.int32))]
    """
    spec = parse_rspecifier(rspecifier)
    if spec.kind == "ark":
        return _read_archive(spec, allow_pipes)
    return _read_script(spec, allow_pipes)


class RandomAccessReader(Mapping[str, torch.Tensor]):
    """Random access to a Kaldi table by key: ``table[key]`` reads one object, ``key in table`` reads nothing.

    Built by :func:`open`. A script file is indexed from its lines and each lookup reads from the archive
    at the entry's offset, through a cache of open files. An archive file is indexed by reading its
    headers only (the data is skipped); an archive on a pipe or standard input is read whole. Keys iterate
    in file order. Duplicate keys raise :class:`~tympan.core.errors.KaldiFormatError`. With the ``p``
    option an entry that cannot be read is reported as a missing key (``KeyError``). ``mmap=True`` returns
    binary float data as views of a private map of the archive instead of copies (see :func:`open`).

    Example:
        >>> import pathlib, tempfile, torch
        >>> from tympan.plugins.kaldi.io import write
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "m.ark"
        >>> write(f"ark:{path}", {"x": torch.eye(3, dtype=torch.float64)})
        >>> with open(f"ark:{path}") as table:
        ...     list(table), table["x"].dtype, table.shape("x")
        (['x'], torch.float64, (3, 3))
    """

    def __init__(
        self, rspecifier: str | os.PathLike[str], *, allow_pipes: bool = False, mmap: MemoryMap = False
    ) -> None:
        self._spec = parse_rspecifier(rspecifier)
        self._allow_pipes = allow_pipes
        self._mmap = mmap
        self._cache = FileCache()
        self._entries: dict[str, ScriptEntry] = {}
        self._objects: dict[str, ObjectInfo] = {}
        self._values: dict[str, torch.Tensor] = {}
        self._archive: ByteSource | None = None
        try:
            if self._spec.kind == "scp":
                self._index_script()
            else:
                self._index_archive()
        except BaseException:
            self.close()
            raise

    def _claim(self, key: str, where: str, **facts: Any) -> None:
        if key in self._entries or key in self._objects or key in self._values:
            raise KaldiFormatError(where, "the key appears twice (random access needs unique keys)", key=key, **facts)

    def _index_script(self) -> None:
        for entry in _script_entries(self._spec, self._allow_pipes):
            self._claim(entry.key, self._spec.path, line=entry.line)
            self._entries[entry.key] = entry

    def _index_archive(self) -> None:
        target = parse_extended_filename(self._spec.path, allow_range=False)
        source = _open_source(target, self._allow_pipes)
        stream = not isinstance(source, FileSource)
        try:
            for key, info in iter_archive(source, target.offset or 0):
                self._claim(key, source.name, offset=info.start)
                if stream:
                    self._values[key] = load(source, info, key=key)
                else:
                    self._objects[key] = info
        except KaldiFormatError:
            if not self._spec.permissive:
                raise
        finally:
            if stream:
                _release(source)
            else:
                self._archive = source

    def _array(self, key: str) -> torch.Tensor:
        if key in self._values:
            return self._values[key].clone()
        if key in self._objects and self._archive is not None:
            return load(self._archive, self._objects[key], key=key, mapped=self._mmap)
        if key in self._entries:
            return _read_entry(self._entries[key], self._spec.path, self._allow_pipes, self._cache, self._mmap)
        raise KeyError(key)

    def __getitem__(self, key: str) -> torch.Tensor:
        try:
            return self._array(key)
        except KaldiFormatError:
            if self._spec.permissive:
                raise KeyError(key) from None
            raise

    def shape(self, key: str) -> tuple[int, ...]:
        """The shape of ``key``'s value, from its header alone (a range applied); ``KeyError`` when absent.

        Example:
            >>> import pathlib, tempfile, torch
            >>> from tympan.plugins.kaldi.io import write
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.ark"
            >>> write(f"ark:{path}", {"a": torch.zeros(7, 3)})
            >>> open(f"ark:{path}").shape("a")
            (7, 3)
        """
        if key in self._values:
            return tuple(self._values[key].shape)
        if key in self._objects:
            return self._objects[key].shape
        entry = self._entries[key]
        if entry.target.kind == "pipe" or entry.target.range is not None:
            return tuple(self._array(key).shape)
        with _entry_source(entry, self._spec.path, self._allow_pipes, self._cache) as source:
            return describe(source, entry.target.offset or 0, key).shape

    def __contains__(self, key: object) -> bool:
        return key in self._entries or key in self._objects or key in self._values

    def __iter__(self) -> Iterator[str]:
        yield from self._entries or self._objects or self._values

    def __len__(self) -> int:
        return len(self._entries) + len(self._objects) + len(self._values)

    def close(self) -> None:
        """Close the archive and every cached file; tensors already returned stay valid (mapped ones too)."""
        self._cache.close()
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    def __enter__(self) -> RandomAccessReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open(
    rspecifier: str | os.PathLike[str], *, allow_pipes: bool = False, mmap: MemoryMap = False
) -> RandomAccessReader:
    """A random-access mapping from key to tensor over an archive or script file (see :class:`RandomAccessReader`).

    By default every tensor returned owns its memory. ``mmap=True`` (as ``torch.load(mmap=True)``) returns
    uncompressed binary float32 / float64 matrices and vectors (Kaldi's ``FM``, ``DM``, ``FV``, ``DV``) of
    an archive file as tensors that view a private, copy-on-write map of that file, one map per open file:
    nothing is copied, and a page is read from the file when it is first touched. Writing to such a tensor
    changes this process's copy only, never the file, and so every tensor of the reader that views the same
    bytes through the same map (the same key read again included, while its file stays among the 64 that an
    scp reader keeps open); closing the reader leaves the tensors valid (they keep the map alive). Everything
    else (compressed matrices, text, pipes, int32 vectors) is read as without it, and a column range is still
    copied. Headers are checked first, as strictly as without it. The caveat:
    the tensors share pages with the file, so an archive rewritten in place changes them, and one truncated
    makes touching them end the process with ``SIGBUS``. tympan's writers replace an archive with a new
    file, which leaves the tensors of the old one intact.

    Example:
        >>> import pathlib, tempfile, torch
        >>> from tympan.plugins.kaldi.io import write
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> write(f"ark,scp:{folder}/f.ark,{folder}/f.scp", {"u": torch.arange(12.0).reshape(4, 3)})
        >>> _ = (folder / "r.scp").write_text(f"u {folder}/f.ark:2[1:2,0:1]\\n")
        >>> open(f"scp:{folder}/r.scp")["u"]
        tensor([[3., 4.],
                [6., 7.]])
        >>> with open(f"scp:{folder}/f.scp", mmap=True) as table:
        ...     mapped = table["u"]
        >>> mapped[0, 0] = -1.0  # this process's copy only; the reader is closed, the tensor still valid
        >>> mapped[0], open(f"scp:{folder}/f.scp")["u"][0]
        (tensor([-1.,  1.,  2.]), tensor([0., 1., 2.]))
    """
    return RandomAccessReader(rspecifier, allow_pipes=allow_pipes, mmap=mmap)


def read_object(rxfilename: str | os.PathLike[str], *, allow_pipes: bool = False) -> torch.Tensor:
    """Read one object from an extended filename: a whole-object file, ``feats.ark:1234``, a pipe, ``-``.

    A trailing range (``feats.ark:1234[0:9]``) selects a block, as in a script entry.

    Example:
        >>> import pathlib, tempfile, torch
        >>> from tympan.plugins.kaldi.io import write
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> write(f"ark,scp:{folder}/g.ark,{folder}/g.scp", {"u": torch.ones(2, 2)})
        >>> location = (folder / "g.scp").read_text().split()[1]
        >>> read_object(location).shape
        torch.Size([2, 2])
    """
    text = os.fspath(rxfilename)
    target = parse_extended_filename(text)
    source = _open_source(target, allow_pipes)
    try:
        return load(source, describe(source, target.offset or 0), target.range)
    finally:
        _release(source)
