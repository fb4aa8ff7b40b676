"""The sample rate an AIFF or CAF header declares, read from its bytes: these formats store it as a float,
and libsndfile turns a rate of 0, NaN or an infinity into some integer (1 Hz, 67108864 Hz) without a word.

Example:
    >>> import struct
    >>> comm = struct.pack(">hIh", 1, 100, 16) + bytes.fromhex("400eac44000000000000")  # 44100.0
    >>> aiff = b"FORM" + struct.pack(">I", 4 + 8 + len(comm)) + b"AIFF" + b"COMM" + struct.pack(">I", 18) + comm
    >>> declared_rate(aiff)
    44100.0
"""

from __future__ import annotations

import math
import struct

__all__ = ["declared_rate", "extended_float"]


def extended_float(data: bytes) -> float:
    """An IEEE 754 80-bit extended float, big-endian (sign and 15-bit exponent, then a 64-bit mantissa
    with its integer bit explicit); NaN and infinities as such.

    Example:
        >>> extended_float(bytes.fromhex("400ebb80000000000000")), extended_float(bytes(10))
        (48000.0, 0.0)
    """
    head, mantissa = struct.unpack(">HQ", data[:10])
    sign = -1.0 if head & 0x8000 else 1.0
    exponent = head & 0x7FFF
    if exponent == 0x7FFF:
        return sign * math.inf if mantissa & ((1 << 63) - 1) == 0 else math.nan
    if exponent - 16383 - 63 > 1023:
        return sign * math.inf
    return sign * math.ldexp(mantissa, exponent - 16383 - 63)


def _chunks(data: bytes, start: int, size_format: str) -> dict[bytes, int]:
    """The offsets of the chunk bodies from ``start`` (IFF: 4-byte ids, sizes of ``size_format``)."""
    found: dict[bytes, int] = {}
    width = struct.calcsize(size_format)
    position = start
    while position + 4 + width <= len(data) and len(found) < 64:
        (size,) = struct.unpack_from(size_format, data, position + 4)
        found.setdefault(data[position : position + 4], position + 4 + width)
        if size < 0:
            break
        position += 4 + width + size + (size & 1 if width == 4 else 0)
    return found


def declared_rate(header: bytes) -> float | None:
    """The sample rate an AIFF, AIFF-C or CAF ``header`` (a file's first bytes) declares, or ``None`` when
    it is another format or its rate lies beyond the bytes given.

    Example:
        >>> declared_rate(b"RIFF....WAVE") is None
        True
    """
    if header[:4] == b"FORM" and header[8:12] in (b"AIFF", b"AIFC"):
        body = _chunks(header, 12, ">I").get(b"COMM")
        if body is not None and body + 18 <= len(header):
            return extended_float(header[body + 8 : body + 18])
    if header[:4] == b"caff":
        body = _chunks(header, 8, ">q").get(b"desc")
        if body is not None and body + 8 <= len(header):
            return float(struct.unpack_from(">d", header, body)[0])
    return None
