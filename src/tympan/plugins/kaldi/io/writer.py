"""Writing Kaldi tables: :class:`Writer` (``writer[key] = tensor``), :func:`write` and :func:`write_object`.

Values may be tensors or numpy arrays: float32 / float64 matrices (2-D) and vectors (1-D), int32 vectors
(other integer vectors are converted when they fit), half-precision floats (widened to float32 without
loss), and Python ints and floats (Kaldi's int32 and float scalars, as ``feat-to-len`` writes).
``compression_method`` (1-7 as Kaldi numbers them, or a :class:`~.compressed.CompressionMethod`) compresses
non-empty matrices: ``CM``, ``CM2`` or ``CM3``.

Files are written atomically: the archive and its scp go to temporary files beside their targets and
replace them only when the writer closes without error. The old scp is removed before the new archive
takes its place, so no scp ever points past the end of its archive, even if the process dies between
the two renames. Standard output (``-``) and output pipes (``| command``, with ``allow_pipes=True``) are
written as the data comes.

Example:
    >>> import pathlib, tempfile, torch
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with Writer(f"ark,scp:{folder}/feats.ark,{folder}/feats.scp", compression_method=2) as writer:
    ...     writer["utt1"] = torch.randn(50, 13)
    >>> (folder / "feats.scp").read_text() == f"utt1 {folder}/feats.ark:5\\n"
    True
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Mapping
from typing import IO, Any

import numpy as np
import torch

from tympan.core.errors import KaldiFormatError, UnsupportedFormatError
from tympan.core.files import atomic_write, start_writeback
from tympan.plugins.kaldi.io.archive import check_key, decode_lines, parse_script
from tympan.plugins.kaldi.io.compressed import CompressionMethod
from tympan.plugins.kaldi.io.objects import encode
from tympan.plugins.kaldi.io.pipes import PipeOutput
from tympan.plugins.kaldi.io.specifiers import Wspecifier, parse_wspecifier

__all__ = ["Writer", "as_kaldi_value", "write", "write_object"]

_WIDENED = (np.float16,)
#: A file written atomically hands each this many bytes to the disk as soon as they are written, so the
#: ``fsync`` that ends the write waits only for the last of them.
WRITEBACK_BYTES = 8 << 20


def as_kaldi_value(value: Any, where: str, key: str | None = None) -> np.ndarray | int | float:
    """``value`` as what Kaldi stores: a float32/float64 array of 1 or 2 dimensions, an int32 vector, a scalar.

    Raises :class:`~tympan.core.errors.UnsupportedFormatError` naming ``where`` and ``key`` for anything
    else (more dimensions, complex or boolean values, integer matrices, integers outside int32).

    Example:
        >>> import torch
        >>> as_kaldi_value(torch.arange(3), "a.ark").dtype
        dtype('int32')
        >>> as_kaldi_value(torch.ones(2, 2, dtype=torch.bfloat16), "a.ark").dtype
        dtype('float32')
    """
    if isinstance(value, (bool, np.bool_)):
        raise UnsupportedFormatError(where, f"key {key!r}: a boolean has no Kaldi type")
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _scalar(value.item() if isinstance(value, np.generic) else value, where, key)
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
        if tensor.dtype in (torch.bfloat16, torch.float16):
            tensor = tensor.float()
        array = tensor.cpu().numpy()
    else:
        array = np.asarray(value)
    if array.ndim == 0 and array.dtype.kind in "iuf":
        return _scalar(array.item(), where, key)
    if array.dtype.type in _WIDENED:
        array = array.astype(np.float32)
    if array.dtype in (np.float32, np.float64) and array.ndim in (1, 2):
        return array
    if array.dtype.kind in "iu" and array.ndim == 1:
        if array.size and (array.min() < -(2**31) or array.max() >= 2**31):
            raise UnsupportedFormatError(where, f"key {key!r}: integer values outside int32")
        return array.astype(np.int32)
    what = f"{array.ndim}-D {array.dtype}"
    reason = "Kaldi stores float32/float64 matrices and vectors, int32 vectors and scalars"
    raise UnsupportedFormatError(where, f"key {key!r}: a {what} value has no Kaldi type ({reason})")


def _scalar(value: int | float, where: str, key: str | None) -> int | float:
    if isinstance(value, int) and not -(2**31) <= value < 2**31:
        raise UnsupportedFormatError(where, f"key {key!r}: {value} is outside Kaldi's int32")
    return value


class _Output:
    """One output file: atomic for a path, direct for standard output or a pipe; counts bytes written.

    An atomic file's data starts going to the disk every :data:`WRITEBACK_BYTES` (see
    :func:`~tympan.core.files.start_writeback`), overlapping the disk's work with the encoding of what follows.
    """

    def __init__(self, wxfilename: str, allow_pipes: bool, stack: contextlib.ExitStack) -> None:
        self.name = wxfilename
        self.position = 0
        self._written_back = 0
        self.pipe: PipeOutput | None = None
        self.atomic = False
        if wxfilename == "-":
            self.handle: IO[bytes] = sys.stdout.buffer
        elif wxfilename.startswith("|"):
            self.pipe = PipeOutput(wxfilename[1:].strip(), allow_pipes)
            self.handle = self.pipe.stream
        else:
            self.handle = stack.enter_context(atomic_write(wxfilename))
            self.atomic = True

    def write(self, parts: Iterable[bytes | memoryview]) -> None:
        for part in parts:
            self.position += self.handle.write(part)
        if self.atomic and self.position - self._written_back >= WRITEBACK_BYTES:
            self.handle.flush()
            start_writeback(self.handle.fileno(), self._written_back, self.position - self._written_back)
            self._written_back = self.position


class Writer:
    """Write ``(key, value)`` pairs to a Kaldi wspecifier: ``writer[key] = value``, then :meth:`close`.

    ``wspecifier`` is Kaldi's: ``ark:feats.ark``, ``ark,t:-`` (text to standard output),
    ``ark,scp:feats.ark,feats.scp``, ``ark,scp,t,f:...``, or ``scp:out.scp`` (each key to the file the
    existing ``out.scp`` names for it; with ``p``, keys it lacks are skipped). As a context manager, an
    exception inside the block discards everything written (:meth:`abort`).

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.ark"
        >>> with Writer(f"ark,t:{path}") as writer:
        ...     writer["a"] = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
        ...     writer["n"] = 7
        >>> path.read_text()
        'a  [\\n  1 2 \\n  3 4 ]\\nn 7 \\n'
    """

    def __init__(
        self,
        wspecifier: str | os.PathLike[str],
        compression_method: CompressionMethod | int | str | None = None,
        *,
        allow_pipes: bool = False,
    ) -> None:
        self.spec: Wspecifier = parse_wspecifier(wspecifier)
        self.compression = None if compression_method is None else CompressionMethod.parse(compression_method)
        self._allow_pipes = allow_pipes
        self._stack = contextlib.ExitStack()
        self._scp: _Output | None = None
        self._ark: _Output | None = None
        self._targets: dict[str, str] | None = None
        self._closed = False
        try:
            self._open()
        except BaseException:
            self._stack.close()
            raise

    def _open(self) -> None:
        spec = self.spec
        if spec.ark is None and spec.scp is not None:  # scp: each key goes to the file the scp names
            with open(spec.scp, "rb") as handle:
                entries = parse_script(decode_lines(handle.read(), spec.scp), spec.scp)
            self._targets = {entry.key: entry.target.path for entry in entries}
            return
        if spec.scp is not None and spec.ark is not None and (spec.ark == "-" or spec.ark.startswith("|")):
            raise KaldiFormatError(spec.ark, "an scp cannot point into standard output or a pipe")
        if spec.scp is not None:
            self._scp = _Output(spec.scp, self._allow_pipes, self._stack)
        if spec.ark is not None:
            self._ark = _Output(spec.ark, self._allow_pipes, self._stack)

    def write(self, key: str, value: Any) -> None:
        """Write one object under ``key`` (also ``writer[key] = value``)."""
        if self._closed:
            raise ValueError("write to a closed Writer")
        where = self.spec.ark or self.spec.scp or "?"
        check_key(key, where)
        parts = encode(as_kaldi_value(value, where, key), self.spec.text, self.compression)
        if self._targets is not None:
            self._write_to_own_file(key, parts)
            return
        if self._ark is None:
            return
        head = key.encode() + b" "
        offset = self._ark.position + len(head)
        self._ark.write([head, *parts])
        if self._scp is not None:
            self._scp.write([f"{key} {self.spec.ark}:{offset}\n".encode()])
        if self.spec.flush:
            self._ark.handle.flush()

    def _write_to_own_file(self, key: str, parts: Iterable[bytes | memoryview]) -> None:
        target = (self._targets or {}).get(key)
        if target is None:
            if self.spec.permissive:
                return
            raise KaldiFormatError(self.spec.scp or "?", "has no entry for this key", key=key)
        with contextlib.ExitStack() as stack:
            _Output(target, self._allow_pipes, stack).write(parts)

    __setitem__ = write

    def close(self) -> None:
        """Finish: flush everything and move the files into place (the old scp first removed)."""
        if self._closed:
            return
        self._closed = True
        if self._ark is not None and self._ark.pipe is not None:
            self._ark.pipe.close()
        elif self._ark is not None and not self._ark.atomic:
            self._ark.handle.flush()
        if self._scp is not None and self._scp.atomic:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._scp.name)
        self._stack.close()  # the archive (entered last) is replaced first, then the scp

    def abort(self) -> None:
        """Discard everything written: temporary files are removed, existing files left as they were."""
        if self._closed:
            return
        self._closed = True
        discarded = KaldiFormatError(self.spec.ark or self.spec.scp or "?", "writing was aborted")
        self._stack.__exit__(type(discarded), discarded, None)
        if self._ark is not None and self._ark.pipe is not None:
            with contextlib.suppress(KaldiFormatError, OSError):
                self._ark.pipe.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def write(
    wspecifier: str | os.PathLike[str],
    items: Mapping[str, Any] | Iterable[tuple[str, Any]],
    compression_method: CompressionMethod | int | str | None = None,
    *,
    allow_pipes: bool = False,
) -> None:
    """Write a mapping or ``(key, value)`` pairs to ``wspecifier`` (see :class:`Writer`), atomically.

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "w.ark"
        >>> write(f"ark:{path}", {"a": torch.zeros(2)})
        >>> path.read_bytes()
        b'a \\x00BFV \\x04\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
    """
    pairs = items.items() if isinstance(items, Mapping) else items
    with Writer(wspecifier, compression_method, allow_pipes=allow_pipes) as writer:
        for key, value in pairs:
            writer.write(key, value)


def write_object(
    wxfilename: str | os.PathLike[str],
    value: Any,
    *,
    text: bool = False,
    compression_method: CompressionMethod | int | str | None = None,
    allow_pipes: bool = False,
) -> None:
    """Write one object (no key) to a file, ``-`` or ``| command``, as Kaldi's non-table output; atomic for a file.

    Example:
        >>> import pathlib, tempfile, torch
        >>> from tympan.plugins.kaldi.io import read_object
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "cmvn.mat"
        >>> write_object(path, torch.ones(2, 3, dtype=torch.float64))
        >>> read_object(path).dtype
        torch.float64
    """
    name = os.fspath(wxfilename)
    method = None if compression_method is None else CompressionMethod.parse(compression_method)
    parts = encode(as_kaldi_value(value, name), text, method)
    with contextlib.ExitStack() as stack:
        output = _Output(name, allow_pipes, stack)
        output.write(parts)
        if output.pipe is not None:
            output.pipe.close()
