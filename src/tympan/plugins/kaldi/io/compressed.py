"""Kaldi's compressed matrices: the CM, CM2 and CM3 layouts, their compression methods, encoding and decoding.

A compressed matrix starts with a global header (float32 ``min_value`` and ``range``, int32 rows and
columns) after its token. ``CM2`` then stores every element as a uint16 on the global range, row by row;
``CM3`` as a uint8. ``CM`` (Kaldi's "speech feature" layout) stores per column four uint16 quantiles on the
global range (the 0th, 25th, 75th and 100th percentiles of the column) and then, column by column, one
byte per element that interpolates between them: codes 0-64 between the 0th and 25th percentile, 64-192
between the 25th and 75th, 192-255 between the 75th and 100th.

Encoding follows Kaldi's ``CompressedMatrix`` arithmetic (float32 scaling, the quantile clamps that keep
the four percentiles strictly increasing, rounding by ``+ 0.499`` on the global range and ``+ 0.5`` within a
column). Decoding uses float32 arithmetic as kaldiio does, so a matrix decodes to exactly the values kaldiio
gives (Kaldi's C++ rounds some intermediate products in double and may differ in the last bit). Each
decode is a table lookup (256 values per column for ``CM``), never a loop over elements.

Example:
    >>> import numpy as np
    >>> features = np.linspace(-3, 5, 40 * 3, dtype=np.float32).reshape(40, 3)
    >>> token, payload = compress(features, CompressionMethod.SPEECH_FEATURE)
    >>> token, len(payload) == 16 + 3 * 8 + 40 * 3
    ('CM', True)
    >>> header = GlobalHeader.unpack(token, payload[:16])
    >>> decoded = decompress(header, payload[16:])
    >>> float(np.abs(decoded - features).max()) < 8 / 255
    True
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass

import numpy as np

__all__ = [
    "COMPRESSED_TOKENS",
    "CompressionMethod",
    "GlobalHeader",
    "compress",
    "compress_parts",
    "compressed_data_bytes",
    "decompress",
    "quantisation_step",
]

#: The tokens of the three layouts.
COMPRESSED_TOKENS = ("CM", "CM2", "CM3")

_GLOBAL = struct.Struct("<ffii")
_F32 = np.float32
# Kaldi's constant for 1/65535 in Uint16ToFloat, as a float32.
_INV_65535 = np.float32(1.52590218966964e-05)


class CompressionMethod(enum.IntEnum):
    """Kaldi's compression methods, numbered as ``copy-feats --compression-method``.

    ``AUTO`` picks ``SPEECH_FEATURE`` (``CM``) for matrices of more than 8 rows and ``TWO_BYTE_AUTO``
    (``CM2``) otherwise. The ``*_AUTO`` methods and ``SPEECH_FEATURE`` scale to the matrix's own range;
    the others use a fixed range (integers in [-32768, 32767], integers in [0, 255], values in [0, 1]).

    Example:
        >>> CompressionMethod.parse(2), CompressionMethod.parse("two_byte_auto")
        (<CompressionMethod.SPEECH_FEATURE: 2>, <CompressionMethod.TWO_BYTE_AUTO: 3>)
        >>> CompressionMethod.SPEECH_FEATURE.token(100), CompressionMethod.AUTO.token(5)
        ('CM', 'CM2')
    """

    AUTO = 1
    SPEECH_FEATURE = 2
    TWO_BYTE_AUTO = 3
    TWO_BYTE_SIGNED_INTEGER = 4
    ONE_BYTE_AUTO = 5
    ONE_BYTE_UNSIGNED_INTEGER = 6
    ONE_BYTE_ZERO_ONE = 7

    @classmethod
    def parse(cls, value: int | str | CompressionMethod) -> CompressionMethod:
        """A method from its number (1-7, as Kaldi's), its name (any case, ``-`` or ``_``) or itself.

        Raises ``ValueError`` naming the accepted values.

        Example:
            >>> CompressionMethod.parse("speech-feature")
            <CompressionMethod.SPEECH_FEATURE: 2>
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and not value.strip().isdigit():
            name = value.strip().upper().replace("-", "_")
            if name in cls.__members__:
                return cls[name]
        else:
            try:
                return cls(int(value))
            except (ValueError, TypeError):
                pass
        names = ", ".join(f"{m.value} ({m.name.lower()})" for m in cls)
        raise ValueError(f"unknown compression method {value!r}; expected one of {names}")

    def token(self, rows: int) -> str:
        """The layout this method writes for a matrix of ``rows`` rows."""
        method = self
        if method is CompressionMethod.AUTO:
            method = CompressionMethod.SPEECH_FEATURE if rows > 8 else CompressionMethod.TWO_BYTE_AUTO
        if method is CompressionMethod.SPEECH_FEATURE:
            return "CM"
        if method in (CompressionMethod.TWO_BYTE_AUTO, CompressionMethod.TWO_BYTE_SIGNED_INTEGER):
            return "CM2"
        return "CM3"


_FIXED_RANGES = {
    CompressionMethod.TWO_BYTE_SIGNED_INTEGER: (-32768.0, 65535.0),
    CompressionMethod.ONE_BYTE_UNSIGNED_INTEGER: (0.0, 255.0),
    CompressionMethod.ONE_BYTE_ZERO_ONE: (0.0, 1.0),
}


@dataclass(frozen=True)
class GlobalHeader:
    """The header of a compressed matrix: its layout token, value range and shape.

    Example:
        >>> header = GlobalHeader("CM2", -1.0, 2.0, 3, 4)
        >>> GlobalHeader.unpack("CM2", header.pack()) == header, header.data_bytes
        (True, 24)
    """

    token: str
    min_value: float
    range: float
    rows: int
    cols: int

    SIZE = _GLOBAL.size

    @classmethod
    def unpack(cls, token: str, raw: bytes | memoryview) -> GlobalHeader:
        """Read the 16 header bytes that follow the token."""
        min_value, value_range, rows, cols = _GLOBAL.unpack_from(raw)
        return cls(token, min_value, value_range, rows, cols)

    def pack(self) -> bytes:
        """The 16 header bytes."""
        return _GLOBAL.pack(self.min_value, self.range, self.rows, self.cols)

    @property
    def data_bytes(self) -> int:
        """Bytes after the header: per-column quantiles and bytes (``CM``), uint16 (``CM2``) or uint8 (``CM3``)."""
        return compressed_data_bytes(self.token, self.rows, self.cols)


def compressed_data_bytes(token: str, rows: int, cols: int) -> int:
    """Bytes of a compressed matrix's data after its 16-byte header.

    Example:
        >>> compressed_data_bytes("CM", 100, 80), compressed_data_bytes("CM3", 100, 80)
        (8640, 8000)
    """
    if token == "CM":
        return cols * (8 + rows)
    if token == "CM2":
        return 2 * rows * cols
    return rows * cols


def quantisation_step(header: GlobalHeader) -> float:
    """The widest step between adjacent codes: compression moves an element by at most half of it.

    ``range / 65535`` for ``CM2``, ``range / 255`` for ``CM3``; for ``CM`` a column's widest interval
    (75th to 100th percentile, 63 codes) is at most the whole range, so ``range / 63`` bounds it.

    Example:
        >>> quantisation_step(GlobalHeader("CM2", 0.0, 65535.0, 1, 1))
        1.0
    """
    return header.range / {"CM": 63.0, "CM2": 65535.0, "CM3": 255.0}[header.token]


# -- encoding ----------------------------------------------------------------------------------------


def _global_range(low: np.float32, high: np.float32, method: CompressionMethod) -> tuple[float, float]:
    if method in _FIXED_RANGES:
        return _FIXED_RANGES[method]
    if high == low:  # a constant matrix still gets a positive range, as Kaldi does
        high = _F32(float(low) + (1.0 + abs(float(low))))
    return float(low), float(_F32(high - low))


#: Elements per block of the encoders: long matrices are encoded a block at a time, so temporaries stay
#: small and their memory is reused from block to block.
_BLOCK = 1 << 16


def _to_uint(matrix: np.ndarray, low: float, span: float, levels: int, clip: bool = True) -> np.ndarray:
    """Kaldi's FloatToUint16/FloatToUint8: scale in float32, clamp to [0, 1], add 0.499 in double, truncate.

    ``clip=False`` skips the clamp where the range is the matrix's own (every value is inside it).
    """
    flat = matrix.reshape(-1)
    out = np.empty(flat.size, dtype=np.uint16 if levels > 255 else np.uint8)
    for start in range(0, flat.size, _BLOCK):
        scaled = np.subtract(flat[start : start + _BLOCK], _F32(low), dtype=_F32)
        scaled /= _F32(span)
        if clip:
            np.clip(scaled, _F32(0.0), _F32(1.0), out=scaled)
        scaled *= _F32(levels)
        total = scaled.astype(np.float64)
        total += 0.499
        out[start : start + _BLOCK] = total  # a truncating cast, as C's (total >= 0)
    return out.reshape(matrix.shape)


def _uint16_to_float(codes: np.ndarray, low: float, span: float) -> np.ndarray:
    """Kaldi's Uint16ToFloat (used by the encoder for the column quantiles)."""
    return _F32(low) + (_F32(span) * _INV_65535) * codes.astype(_F32)


def _column_quantiles(matrix: np.ndarray, low: float, span: float) -> np.ndarray:
    """The four uint16 quantile codes of every column, shape ``(cols, 4)``, strictly increasing."""
    rows = matrix.shape[0]
    if rows >= 5:
        quarter = rows // 4
        picks = np.partition(matrix, (0, quarter, 3 * quarter, rows - 1), axis=0)
        chosen = picks[[0, quarter, 3 * quarter, rows - 1]]
    else:
        chosen = np.sort(matrix, axis=0)
    codes = _to_uint(chosen, low, span, 65535)
    out = np.empty((4, matrix.shape[1]), dtype=np.int64)
    out[0] = np.minimum(codes[0], 65532)
    for i, ceiling in ((1, 65533), (2, 65534), (3, None)):
        above = out[i - 1] + 1
        if i < len(codes):
            value = np.maximum(codes[i], above)
            out[i] = value if ceiling is None else np.minimum(value, ceiling)
        else:  # fewer rows than quantiles: each missing one sits one step above the previous
            out[i] = above
    return out.T


def _interval_codes(values: np.ndarray, lower: np.ndarray, upper: np.ndarray, steps: int) -> np.ndarray:
    """``(int)((values - lower) / (upper - lower) * steps + 0.5)`` as Kaldi computes it (the sum in double).

    A non-finite or out-of-int32 quotient (an interval that rounds to zero width) converts to INT_MIN on
    x86, which the caller's clamp lifts to the interval's first code.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scaled = (values - lower) / (upper - lower)
        scaled *= _F32(steps)
    total = np.add(scaled, 0.5, dtype=np.float64)
    total[~(np.abs(total) < 2.0**31)] = -(2.0**31)
    return total.astype(np.int64)  # truncates toward zero, as C's int conversion


def _encode_columns(matrix: np.ndarray, low: float, span: float) -> bytes:
    """``CM``: per-column quantiles, then each column's bytes (rows taken a block at a time)."""
    quantiles = _column_quantiles(matrix, low, span)
    p0, p25, p75, p100 = (_uint16_to_float(quantiles[:, i], low, span) for i in range(4))
    rows, cols = matrix.shape
    codes = np.empty((cols, rows), dtype=np.uint8)  # CM stores column after column
    step = max(1, _BLOCK // cols)
    for start in range(0, rows, step):
        block = matrix[start : start + step]
        low_codes = np.clip(_interval_codes(block, p0, p25, 64), 0, 64)
        mid_codes = np.clip(64 + _interval_codes(block, p25, p75, 128), 64, 192)
        high_codes = np.clip(192 + _interval_codes(block, p75, p100, 63), 192, 255)
        chosen = np.where(block < p25, low_codes, np.where(block < p75, mid_codes, high_codes))
        codes[:, start : start + step] = chosen.T
    return quantiles.astype("<u2").tobytes() + codes.tobytes()


def compress(matrix: np.ndarray, method: CompressionMethod | int | str) -> tuple[str, bytes]:
    """Compress a non-empty 2-D float matrix: the layout token and the bytes that follow it.

    The values are taken as float32 (as Kaldi's float compression does, for double input too). Raises
    ``ValueError`` for NaN or infinite values, which no layout can hold.

    Example:
        >>> import numpy as np
        >>> token, payload = compress(np.zeros((2, 3), np.float32), 1)
        >>> token, len(payload)
        ('CM2', 28)
    """
    token, parts = compress_parts(matrix, method)
    return token, b"".join(parts)


def compress_parts(matrix: np.ndarray, method: CompressionMethod | int | str) -> tuple[str, list[bytes | memoryview]]:
    """:func:`compress` without joining: the token, then the header and the data as separate buffers."""
    method = CompressionMethod.parse(method)
    values = np.asarray(matrix, dtype=_F32)
    rows, cols = values.shape
    smallest, largest = values.min(), values.max()  # NaN propagates; so does an infinity, to one of them
    if not (math.isfinite(smallest) and math.isfinite(largest)):
        raise ValueError("a matrix with NaN or infinite values cannot be compressed")
    token = method.token(rows)
    low, span = _global_range(smallest, largest, method)
    header = _GLOBAL.pack(low, span, rows, cols)
    if token == "CM":
        return token, [header, _encode_columns(values, low, span)]
    levels = 65535 if token == "CM2" else 255
    codes = _to_uint(values, low, span, levels, clip=method in _FIXED_RANGES)
    return token, [header, memoryview(codes).cast("B")]


# -- decoding ----------------------------------------------------------------------------------------


def _scaled(codes: np.ndarray, header: GlobalHeader, levels: float) -> np.ndarray:
    """``min + code * range / levels`` in float32, in kaldiio's order of operations."""
    return _F32(header.min_value) + (codes.astype(_F32) * _F32(header.range)) / _F32(levels)


def _column_tables(quantiles: np.ndarray, header: GlobalHeader) -> np.ndarray:
    """For each column the value of each of the 256 byte codes, shape ``(cols, 256)``."""
    p0, p25, p75, p100 = (_scaled(quantiles[:, i : i + 1], header, 65535.0) for i in range(4))
    code = np.arange(256, dtype=_F32)[None, :]
    low = p0 + (p25 - p0) * code * _F32(1 / 64.0)
    mid = p25 + (p75 - p25) * (code - _F32(64.0)) * _F32(1 / 128.0)
    high = p75 + (p100 - p75) * (code - _F32(192.0)) * _F32(1 / 63.0)
    return np.where(code <= 64, low, np.where(code <= 192, mid, high))


def decompress(
    header: GlobalHeader, data: bytes | memoryview | np.ndarray, rows: slice = slice(None), cols: slice = slice(None)
) -> np.ndarray:
    """Decode a compressed matrix's data (the bytes after its header) to float32, optionally a block of it.

    ``data`` must hold exactly :attr:`GlobalHeader.data_bytes` bytes; ``rows`` and ``cols`` select a block
    (unit-step slices), decoding only that block.

    Example:
        >>> import numpy as np
        >>> header = GlobalHeader("CM3", 0.0, 255.0, 2, 2)
        >>> decompress(header, bytes([0, 1, 254, 255])).tolist()
        [[0.0, 1.0], [254.0, 255.0]]
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    if header.token == "CM":
        quantiles = raw[: 8 * header.cols].view("<u2").reshape(header.cols, 4)
        codes = raw[8 * header.cols :].reshape(header.cols, header.rows)[cols, rows]
        tables = _column_tables(quantiles[cols], header)
        flat = codes.astype(np.intp) + (256 * np.arange(codes.shape[0], dtype=np.intp))[:, None]
        return np.ascontiguousarray(tables.ravel()[flat].T)
    if header.token == "CM2":
        codes16 = raw.view("<u2").reshape(header.rows, header.cols)[rows, cols]
        return _scaled(codes16, header, 65535.0)
    return _scaled(raw.reshape(header.rows, header.cols)[rows, cols], header, 255.0)
