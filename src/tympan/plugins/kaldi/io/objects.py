"""One Kaldi object (matrix, vector, int32 vector, compressed matrix) at a byte offset: its header, its data.

Binary objects start with ``\\0B``, then a token and sizes: ``FM``/``DM`` (float/double matrix: ``\\4``
rows ``\\4`` cols), ``FV``/``DV`` (vector: ``\\4`` dim), ``CM``/``CM2``/``CM3`` (compressed matrix, see
:mod:`.compressed`), or no token for an int32 vector (``\\4`` count, then ``\\4`` value per element).
Anything without ``\\0B`` is text: ``[ ... ]`` holds a matrix (rows on separate lines) or a vector (one
line); a line of bare integers is an int32 vector.

:func:`describe` reads only a binary object's header (a few dozen bytes) and checks every size against
the file before anything is allocated; :func:`load` then reads the data straight into the array it
returns, or only the block a range selects. Text objects are parsed whole by :func:`describe`.

Example:
    >>> import io, numpy as np
    >>> from tympan.plugins.kaldi.io.sources import StreamSource
    >>> blob = b"".join(encode(np.eye(2, dtype=np.float32), text=False))
    >>> source = StreamSource(io.BytesIO(blob), "<bytes>")
    >>> info = describe(source, 0, key="utt1")
    >>> info.kind, info.shape, info.end == len(blob)
    ('FM', (2, 2), True)
    >>> load(source, info).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import torch

from tympan.core.errors import KaldiFormatError
from tympan.plugins.kaldi.io.compressed import COMPRESSED_TOKENS, GlobalHeader, compress_parts, decompress
from tympan.plugins.kaldi.io.sources import ByteSource, TruncatedError
from tympan.plugins.kaldi.io.specifiers import ObjectRange

__all__ = ["ObjectInfo", "describe", "encode", "load"]

_FLOAT_KINDS: dict[str, np.dtype] = {
    "FM": np.dtype("<f4"),
    "DM": np.dtype("<f8"),
    "FV": np.dtype("<f4"),
    "DV": np.dtype("<f8"),
}
_INT32_ELEMENT = np.dtype([("size", "u1"), ("value", "<i4")])
_SIZE = struct.Struct("<i")
_MATRIX_SIZES = struct.Struct("<bibi")
_MATRIX_HEADER = struct.Struct("<5sbibi")
_MATRIX_TOKENS = {b"\0BFM ": "FM", b"\0BDM ": "DM"}
_HEADER_PEEK = 32
_TEXT_CHUNK = 1 << 16


class ObjectInfo:
    """Where an object lies and what it holds.

    ``kind`` is a binary token (``FM``, ``DM``, ``FV``, ``DV``, ``CM``, ``CM2``, ``CM3``), ``IV`` for a
    binary int32 vector, or ``text``; ``start`` / ``data`` / ``end`` are byte offsets of the object, of its
    data and just past it. A text object carries its parsed ``value``; a compressed one its ``header``.

    Example:
        >>> ObjectInfo("FV", (3,), 0, 10, 22).dtype
        dtype('float32')
    """

    __slots__ = ("data", "end", "header", "kind", "shape", "start", "value")

    def __init__(
        self,
        kind: str,
        shape: tuple[int, ...],
        start: int,
        data: int,
        end: int,
        header: GlobalHeader | None = None,
        value: np.ndarray | None = None,
    ) -> None:
        self.kind, self.shape, self.start, self.data, self.end = kind, shape, start, data, end
        self.header, self.value = header, value

    def __repr__(self) -> str:
        return f"ObjectInfo({self.kind!r}, {self.shape}, start={self.start}, data={self.data}, end={self.end})"

    @property
    def dtype(self) -> np.dtype:
        """The element type a read returns (compressed matrices decode to float32)."""
        if self.value is not None:
            return self.value.dtype
        if self.kind == "IV":
            return np.dtype(np.int32)
        return _FLOAT_KINDS.get(self.kind, np.dtype(np.float32))


def _error(source: ByteSource, reason: str, key: str | None, offset: int) -> KaldiFormatError:
    return KaldiFormatError(source.name, reason, key=key, offset=offset)


def _check_fits(source: ByteSource, start: int, nbytes: int, key: str | None, what: str) -> None:
    if nbytes < 0 or (source.size is not None and start + nbytes > source.size):
        have = "?" if source.size is None else max(0, source.size - start)
        raise _error(source, f"{what} needs {nbytes} bytes but the file holds {have} more", key, start)


def describe(source: ByteSource, offset: int, key: str | None = None, head: bytes | None = None) -> ObjectInfo:
    """The object at ``offset``: a binary header (data not read) or a whole parsed text object.

    ``head``, when given, holds bytes already read from ``offset`` (at least the header, unless the source
    ends first). Raises :class:`~tympan.core.errors.KaldiFormatError` naming the file, ``key`` and byte
    offset for an unknown token, a bad size marker, negative dimensions, sizes past the end of the file,
    or an inconsistent compressed header; all before allocating anything sized by the header.
    """
    if head is None or len(head) < _HEADER_PEEK:
        head = source.view(offset, _HEADER_PEEK)
    if len(head) >= _MATRIX_HEADER.size and head[:5] in _MATRIX_TOKENS:  # the common case: a float matrix
        _, marker_r, rows, marker_c, cols = _MATRIX_HEADER.unpack_from(head)
        if marker_r == marker_c == 4 and rows >= 0 and cols >= 0:
            kind = _MATRIX_TOKENS[head[:5]]
            data = offset + _MATRIX_HEADER.size
            nbytes = rows * cols * _FLOAT_KINDS[kind].itemsize
            if source.size is None or data + nbytes <= source.size:
                return ObjectInfo(kind, (rows, cols), offset, data, data + nbytes)
    if not head:
        end = "" if source.size is None else f" (the file ends at byte {source.size})"
        raise _error(source, f"no object at this offset{end}", key, offset)
    if head[:2] != b"\0B":
        return _describe_text(source, offset, key)
    if head[2:3] == b"\4":
        return _describe_int32_vector(source, offset, head, key)
    end_of_token = head.find(b" ", 2)
    if end_of_token < 0:
        raise _error(source, f"no Kaldi token after the binary marker: {head[2:12]!r}", key, offset)
    token = head[2:end_of_token].decode("latin-1")
    position = end_of_token + 1
    if token in _FLOAT_KINDS:
        return _describe_float(source, offset, head, position, token, key)
    if token in COMPRESSED_TOKENS:
        return _describe_compressed(source, offset, head, position, token, key)
    raise _error(source, f"unknown token {token!r} (expected FM, DM, FV, DV, CM, CM2 or CM3)", key, offset)


def _describe_float(source: ByteSource, offset: int, head: bytes, at: int, token: str, key: str | None) -> ObjectInfo:
    matrix = token.endswith("M")
    width = 10 if matrix else 5
    if len(head) < at + width:
        raise _error(source, f"the {token} header is cut short", key, offset)
    if matrix:
        marker_r, rows, marker_c, cols = _MATRIX_SIZES.unpack_from(head, at)
        markers, shape = (marker_r, marker_c), (rows, cols)
    else:
        markers, shape = (head[at],), (_SIZE.unpack_from(head, at + 1)[0],)
    if markers.count(4) != len(markers):
        raise _error(source, f"the {token} sizes lack their 4-byte size markers", key, offset)
    if min(shape) < 0:
        raise _error(source, f"negative dimensions {shape} in a {token} header", key, offset)
    data = offset + at + width
    nbytes = (shape[0] * shape[1] if matrix else shape[0]) * _FLOAT_KINDS[token].itemsize
    _check_fits(source, data, nbytes, key, f"a {token} of shape {shape}")
    return ObjectInfo(token, shape, offset, data, data + nbytes)


def _describe_compressed(
    source: ByteSource, offset: int, head: bytes, at: int, token: str, key: str | None
) -> ObjectInfo:
    if len(head) < at + GlobalHeader.SIZE:
        raise _error(source, f"the {token} header is cut short", key, offset)
    header = GlobalHeader.unpack(token, head[at : at + GlobalHeader.SIZE])
    if header.rows < 0 or header.cols < 0:
        raise _error(source, f"negative dimensions ({header.rows}, {header.cols}) in a {token} header", key, offset)
    if not (np.isfinite(header.min_value) and np.isfinite(header.range) and header.range >= 0):
        raise _error(source, f"inconsistent {token} header: min {header.min_value}, range {header.range}", key, offset)
    data = offset + at + GlobalHeader.SIZE
    if header.rows == 0 or header.cols == 0:  # Kaldi stores no data for an empty compressed matrix
        return ObjectInfo(token, (header.rows, header.cols), offset, data, data, header)
    _check_fits(source, data, header.data_bytes, key, f"a {token} of shape ({header.rows}, {header.cols})")
    return ObjectInfo(token, (header.rows, header.cols), offset, data, data + header.data_bytes, header)


def _describe_int32_vector(source: ByteSource, offset: int, head: bytes, key: str | None) -> ObjectInfo:
    if len(head) < 7:
        raise _error(source, "the int32 vector header is cut short", key, offset)
    (count,) = _SIZE.unpack_from(head, 3)
    if count < 0:
        raise _error(source, f"negative int32 vector length {count}", key, offset)
    data = offset + 7
    _check_fits(source, data, 5 * count, key, f"an int32 vector of {count} elements")
    return ObjectInfo("IV", (count,), offset, data, data + 5 * count)


# -- text --------------------------------------------------------------------------------------------


def _text_until(source: ByteSource, offset: int, stop: bytes, key: str | None) -> bytes:
    """The bytes from ``offset`` up to and including the first ``stop``, or to the end of the source."""
    size = _TEXT_CHUNK
    while True:
        chunk = source.view(offset, size)
        found = chunk.find(stop)
        if found >= 0:
            return chunk[: found + len(stop)]
        if len(chunk) < size:
            return chunk
        if source.size is None and size >= (1 << 30):
            raise _error(source, f"no {stop!r} within 1 GiB of text", key, offset)
        size *= 4


def _parse_numbers(text: bytes, dtype: type, source: ByteSource, key: str | None, offset: int) -> np.ndarray:
    try:
        return np.array(text.split(), dtype=np.bytes_).astype(dtype)
    except ValueError:
        what = "integers" if dtype is np.int64 else "numbers"
        raise _error(source, f"text object holds something other than {what}", key, offset) from None


def _describe_text(source: ByteSource, offset: int, key: str | None) -> ObjectInfo:
    line = _text_until(source, offset, b"\n", key)
    body = line.lstrip(b" \t")
    start = offset + len(line) - len(body)
    if not body.strip() and line.endswith(b"\n"):  # Kaldi also finds a '[' on a later line
        after = source.view(offset + len(line), 256)
        if after.lstrip().startswith(b"["):
            start = offset + len(line) + len(after) - len(after.lstrip())
            body = b"["
    if body.startswith(b"["):
        block = _text_until(source, start, b"]", key)
        if not block.endswith(b"]"):
            raise _error(source, "a text object opened with '[' has no closing ']'", key, start)
        end = start + len(block)
        end += 1 if source.view(end, 1) == b"\n" else 0
        return _bracketed(block[1:-1], source, key, offset, end)
    if b"\0" in body or b"[" in body:
        raise _error(source, "neither a binary object ('\\0B') nor a text one ('[' or integers)", key, offset)
    values = _parse_numbers(body, np.int64, source, key, offset)
    if values.size and (values.min() < -(2**31) or values.max() >= 2**31):
        raise _error(source, "a text int32 vector holds values outside int32", key, offset)
    array = values.astype(np.int32)
    return ObjectInfo("text", array.shape, offset, offset, offset + len(line), value=array)


def _bracketed(inside: bytes, source: ByteSource, key: str | None, offset: int, end: int) -> ObjectInfo:
    """A vector when the brackets hold one line (``[ ]`` is an empty matrix), else a matrix of lines."""
    if b"\n" not in inside:
        array = _parse_numbers(inside, np.float64, source, key, offset).astype(np.float32)
        array = array.reshape(0, 0) if array.size == 0 else array
        return ObjectInfo("text", array.shape, offset, offset, end, value=array)
    lines = [row for row in inside.split(b"\n") if row.strip()]
    counts = {len(row.split()) for row in lines}
    if len(counts) > 1:
        raise _error(source, f"text matrix rows differ in length ({sorted(counts)})", key, offset)
    values = _parse_numbers(b" ".join(lines), np.float64, source, key, offset)
    array = values.astype(np.float32).reshape(len(lines), counts.pop() if lines else 0)
    return ObjectInfo("text", array.shape, offset, offset, end, value=array)


# -- reading data ------------------------------------------------------------------------------------


def _block(source: ByteSource, info: ObjectInfo, selection: ObjectRange | None, key: str | None) -> tuple[slice, slice]:
    if selection is None:
        return slice(None), slice(None)
    cols = info.shape[1] if len(info.shape) == 2 else None
    try:
        return selection.resolve(info.shape[0], cols, source.name)
    except KaldiFormatError as error:
        raise _error(source, error.reason, key, info.start) from None


def load(
    source: ByteSource,
    info: ObjectInfo,
    selection: ObjectRange | None = None,
    key: str | None = None,
    mapped: bool = False,
) -> torch.Tensor:
    """Read the data of a described object (or the block ``selection`` picks) into a new contiguous tensor.

    Float matrices and vectors keep their type, compressed matrices decode to float32, int32 vectors are
    int32; a text object's floats are float32 (Kaldi's ``BaseFloat``: text carries no type). Float data
    goes straight from the file into the memory of the tensor returned; with ``mapped``, binary float
    data from a file is not read at all: the tensor views the source's private map (a column range is
    still copied, so that the tensor is contiguous).
    """
    try:
        if selection is None and info.kind in _FLOAT_KINDS:  # the common case, kept short
            return torch.from_numpy(_float_array(source, info.data, _FLOAT_KINDS[info.kind], info.shape, mapped))
        rows, cols = _block(source, info, selection, key)
        if info.kind in _FLOAT_KINDS:
            return _load_float_block(source, info, rows, cols, mapped)
        return torch.from_numpy(_load_other(source, info, rows, cols, key))
    except TruncatedError as cut:
        raise _error(source, f"the data ends after {cut.available} of {cut.needed} bytes", key, cut.offset) from None


def _load_other(source: ByteSource, info: ObjectInfo, rows: slice, cols: slice, key: str | None) -> np.ndarray:
    if info.value is not None:
        return np.ascontiguousarray(info.value[rows] if info.value.ndim == 1 else info.value[rows, cols])
    if info.kind == "IV":
        raw = np.frombuffer(source.read_bytes(info.data, 5 * info.shape[0]), dtype=_INT32_ELEMENT)
        if raw.size and (raw["size"] != 4).any():
            raise _error(source, "an int32 vector element lacks its 4-byte size marker", key, info.start)
        return np.ascontiguousarray(raw["value"][rows]).astype(np.int32)
    if info.header is None or info.end == info.data:  # an empty compressed matrix stores no data
        return np.zeros(info.shape, dtype=np.float32)[rows, cols]
    return decompress(info.header, source.read_bytes(info.data, info.end - info.data), rows, cols)


def _float_array(source: ByteSource, offset: int, dtype: np.dtype, shape: tuple[int, ...], mapped: bool) -> np.ndarray:
    """The float data at ``offset``: a view of the source's map when ``mapped`` and it has one, else read."""
    array = source.mapped(offset, dtype, shape) if mapped else None
    if array is None:
        array = np.empty(shape, dtype=dtype)
        source.read_into(offset, array)
    return array


def _load_float_block(source: ByteSource, info: ObjectInfo, rows: slice, cols: slice, mapped: bool) -> torch.Tensor:
    """Only the selected rows are read (they lie together); columns are then cut from them."""
    first, stop, _ = rows.indices(info.shape[0])
    dtype = _FLOAT_KINDS[info.kind]
    row_bytes = dtype.itemsize * (info.shape[1] if len(info.shape) == 2 else 1)
    shape = (max(stop - first, 0), *info.shape[1:])
    block = torch.from_numpy(_float_array(source, info.data + first * row_bytes, dtype, shape, mapped))
    if len(info.shape) == 2 and cols != slice(None) and cols != slice(0, info.shape[1]):
        return block[:, cols].contiguous()
    return block


# -- writing -----------------------------------------------------------------------------------------


def _format_rows(array: np.ndarray, digits: str) -> bytes:
    """Rows of ``array`` as ``"\\n  v v v "`` (Kaldi's text matrix rows), formatted by one C-level call."""
    rows, cols = array.shape
    template = ("\n  " + (digits + " ") * cols) * rows
    return (template % tuple(array.ravel().tolist())).encode()


def encode(value: np.ndarray | int | float, text: bool, compression: int | None = None) -> Sequence[bytes]:
    """The bytes of one object as Kaldi writes it (binary with ``\\0B``, or text), as a list of parts.

    ``value`` is a float32/float64 array of 1 or 2 dimensions, an int32 1-D array, or a Python int or
    float (a Kaldi int32 or float scalar). ``compression`` (a :class:`~.compressed.CompressionMethod`)
    applies to non-empty matrices; in text mode the compressed values are written, as Kaldi does.

    Example:
        >>> import numpy as np
        >>> b"".join(encode(np.array([1, 2], dtype=np.int32), text=True))
        b'1 2 \\n'
        >>> b"".join(encode(np.array([0.5, 2.0], dtype=np.float32), text=True))
        b' [ 0.5 2 ]\\n'
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return [f"{int(value)} \n".encode()] if text else [b"\0B\4" + _SIZE.pack(int(value))]
    if isinstance(value, (float, np.floating)):
        return [f"{float(value):.9g} \n".encode()] if text else [b"\0B\4" + struct.pack("<f", float(value))]
    array = np.asarray(value)
    if compression is not None and array.ndim == 2 and array.size:
        token, (header, data) = compress_parts(array, compression)
        if not text:
            return [b"\0B" + token.encode() + b" " + header, data]
        array = decompress(GlobalHeader.unpack(token, header), data)
    if array.dtype == np.int32:
        if text:
            return [(("%d " * array.size) % tuple(array.tolist()) + "\n").encode()]
        elements = np.empty(array.size, dtype=_INT32_ELEMENT)
        elements["size"], elements["value"] = 4, array
        return [b"\0B\4" + _SIZE.pack(array.size), elements.tobytes()]
    digits = "%.9g" if array.dtype == np.float32 else "%.17g"
    if array.ndim == 1:
        if text:
            return [b" [ " + ((digits + " ") * array.size % tuple(array.tolist())).encode() + b"]\n"]
        token = b"FV " if array.dtype == np.float32 else b"DV "
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).data
        return [b"\0B" + token + b"\4" + _SIZE.pack(array.size), data]
    if text:
        return [b" [ ]\n"] if array.shape[1] == 0 else [b" [" + _format_rows(array, digits) + b"]\n"]
    token = b"FM " if array.dtype == np.float32 else b"DM "
    sizes = _MATRIX_SIZES.pack(4, array.shape[0], 4, array.shape[1])
    return [b"\0B" + token + sizes, np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).data]
