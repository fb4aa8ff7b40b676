"""Parsing the headers of RIFF / RIFX WAVE, RF64 and Sony Wave64 files, without reading their samples.

:func:`parse_header` walks the chunks of a file (skipping the ones it does not need, with RIFF's even-size
padding and Wave64's 8-byte alignment) to the ``fmt`` and ``data`` chunks and returns a
:class:`WavHeader`: the sample layout and where the samples lie. It reads through a ``read_at(offset,
count)`` function, so paths, bytes and file objects are parsed alike and only the header is read.

Three outcomes besides a header:

- :class:`~tympan.core.errors.UnsupportedFormatError` for data that is no WAVE file, or a WAVE file whose
  encoding (ADPCM, GSM, MPEG, 24-in-32-bit containers, ...) :mod:`tympan.plugins.io.wav_samples` does not
  decode, so another backend can take it;
- :class:`~tympan.core.errors.AudioDecodeError` for an absurd or damaged header (no channels, no sample
  rate, a block size that disagrees with the sample size, chunks reaching past the end of the file);
- a header whose ``data`` chunk declares more bytes than the file holds: :attr:`WavHeader.truncated`.

Data sizes that streaming writers put in a header before they know the length (``0xFFFFFFFF``, any size
from ``0x7FFF0000`` up that the file does not hold, or 0 followed by samples rather than another chunk)
mean "to the end of the file", never truncation.

Example:
    >>> import io, numpy as np, soundfile
    >>> buffer = io.BytesIO()
    >>> soundfile.write(buffer, np.zeros((100, 2), "int16"), 8000, format="WAV", subtype="PCM_24")
    >>> data = buffer.getvalue()
    >>> header = parse_header(lambda offset, count: data[offset : offset + count], len(data), "clip")
    >>> header.encoding, header.bits_per_sample, header.num_channels, header.num_frames, header.data_offset
    ('PCM_S', 24, 2, 100, 44)
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from tympan.core.audio import MAX_SAMPLE_RATE
from tympan.core.errors import AudioDecodeError, UnsupportedFormatError

__all__ = ["PLACEHOLDER_SIZE", "PROBE_BYTES", "WavHeader", "parse_header"]

#: How many leading bytes are read at once; headers of common files (fmt, fact, LIST, ...) fit.
PROBE_BYTES = 4096
#: Data sizes from here up that the file does not hold are streaming writers' placeholders (written before
#: they know the length), never a sign of truncation.
PLACEHOLDER_SIZE = 0x7FFF0000
_UNKNOWN_32 = 0xFFFFFFFF
_UNKNOWN_64 = 0xFFFFFFFFFFFFFFFF
# libsndfile reads at most this many channels; a rate above tympan's limit is a damaged header.
_MAX_CHANNELS = 1024
_MAX_RATE = MAX_SAMPLE_RATE
# Chunks skipped before giving up on finding ``data`` (each costs a small read).
_MAX_CHUNKS = 10_000
_W64_SUFFIX = bytes.fromhex("f3acd3118cd100c04f8edb8a")
_W64_RIFF = b"riff" + bytes.fromhex("2e91cf11a5d628db04c10000")
_W64_WAVE = b"wave" + _W64_SUFFIX
_W64_FMT = b"fmt " + _W64_SUFFIX
_W64_DATA = b"data" + _W64_SUFFIX
# WAVE_FORMAT_EXTENSIBLE sub-formats are GUIDs whose first two bytes are the plain format tag.
_KS_SUFFIX = bytes.fromhex("000000001000800000aa00389b71")
_EXTENSIBLE = 0xFFFE
# Plain format tag -> (encoding, container sizes in bits it comes in).
_ENCODINGS = {
    0x0001: ("PCM_S", (8, 16, 24, 32)),
    0x0003: ("PCM_F", (32, 64)),
    0x0006: ("ALAW", (8,)),
    0x0007: ("ULAW", (8,)),
}
_CONTAINERS = {b"RIFF": "WAV", b"RIFX": "WAV", b"RF64": "RF64"}

ReadAt = Callable[[int, int], bytes]


@dataclass(frozen=True)
class WavHeader:
    """What a WAVE header says: the sample layout and where the samples are.

    ``container`` is ``"WAV"`` (RIFF or RIFX, plain or extensible format), ``"RF64"`` or ``"W64"``;
    ``encoding`` one of ``PCM_S``, ``PCM_U`` (8-bit PCM), ``PCM_F``, ``ULAW``, ``ALAW``. ``data_offset``
    is where the first sample lies from the start of the source, ``num_frames`` how many whole frames the
    file holds there, ``declared_frames`` how many the header promises (``None`` for a streaming
    placeholder: as many as there are).

    Example:
        >>> header = WavHeader("WAV", "PCM_S", 16, 2, 16000, 44, 4000, 4000, False)
        >>> header.block_align, header.truncated, header.format
        (4, False, 'wav')
    """

    container: str
    encoding: str
    bits_per_sample: int
    num_channels: int
    sample_rate: int
    data_offset: int
    num_frames: int
    declared_frames: int | None
    big_endian: bool

    @property
    def sample_bytes(self) -> int:
        """Bytes per sample of one channel."""
        return self.bits_per_sample // 8

    @property
    def block_align(self) -> int:
        """Bytes per frame (one sample of every channel)."""
        return self.sample_bytes * self.num_channels

    @property
    def truncated(self) -> bool:
        """Whether the header promises more frames than the file holds."""
        return self.declared_frames is not None and self.declared_frames > self.num_frames

    @property
    def format(self) -> str:
        """The container name :class:`~tympan.core.audio.AudioInfo` reports (``wav``, ``rf64``, ``w64``)."""
        return self.container.lower()


@dataclass(frozen=True)
class _Format:
    encoding: str
    bits: int
    channels: int
    rate: int


def parse_header(read_at: ReadAt, size: int, where: str) -> WavHeader:
    """Parse the header of a ``size``-byte source read through ``read_at(offset, count)``.

    ``read_at`` returns up to ``count`` bytes from ``offset`` (fewer at the end). Errors name ``where``.

    Example:
        >>> parse_header(lambda offset, count: b"fLaC"[offset : offset + count], 4, "clip.flac")
        Traceback (most recent call last):
        ...
        tympan.core.errors.UnsupportedFormatError: unsupported format clip.flac: not a RIFF, RF64 or Wave64 WAVE file
    """
    head = read_at(0, PROBE_BYTES)
    magic = bytes(head[:4])
    if magic in _CONTAINERS and head[8:12] == b"WAVE":
        return _parse_riff(_Chunks(read_at, head, size, where), _CONTAINERS[magic], magic == b"RIFX")
    if head[:16] == _W64_RIFF and head[24:40] == _W64_WAVE:
        return _parse_w64(_Chunks(read_at, head, size, where))
    raise UnsupportedFormatError(where, "not a RIFF, RF64 or Wave64 WAVE file")


class _Chunks:
    """Reads of a source, served from its first :data:`PROBE_BYTES` where they fall inside."""

    def __init__(self, read_at: ReadAt, head: bytes, size: int, where: str) -> None:
        self.read_at, self.head, self.size, self.where = read_at, head, size, where

    def read(self, offset: int, count: int) -> bytes:
        if offset + count <= len(self.head):
            return bytes(self.head[offset : offset + count])
        data = bytes(self.read_at(offset, count))
        if len(data) < count:  # the source is shorter than its size said (a file shrinking as it is read)
            raise self.error(f"the file ends at byte {offset + len(data)}, inside its header")
        return data

    def body(self, name: str, offset: int, length: int, minimum: int) -> bytes:
        """The ``length`` bytes of chunk ``name`` whose body starts at ``offset``, checked to be there."""
        if length < minimum:
            raise self.error(f"the {name} chunk at byte {offset} is {length} bytes, shorter than {minimum}")
        if length > self.size - offset:
            raise self.past_the_end(f"the {name} chunk", offset, length)
        return self.read(offset, length)

    def error(self, reason: str) -> AudioDecodeError:
        return AudioDecodeError(self.where, reason)

    def past_the_end(self, what: str, offset: int, length: int) -> AudioDecodeError:
        return self.error(f"{what} at byte {offset} declares {length} bytes; the file ends at byte {self.size}")


def _parse_riff(chunks: _Chunks, container: str, big_endian: bool) -> WavHeader:
    """Walk RIFF chunks (even-padded) from byte 12 to ``data``; RF64 takes its sizes from ``ds64``."""
    order = ">" if big_endian else "<"
    fmt: _Format | None = None
    ds64_data_size: int | None = None
    position = 12
    for _ in range(_MAX_CHUNKS):
        if position + 8 > chunks.size:
            break
        tag, length = struct.unpack(order + "4sI", chunks.read(position, 8))
        body = position + 8
        if tag == b"ds64" and container == "RF64":
            ds64_data_size = struct.unpack("<Q", chunks.body("ds64", body, length, 24)[8:16])[0]
        elif tag == b"fmt ":
            fmt = _parse_fmt(chunks.body("fmt", body, length, 16), order, chunks)
        elif tag == b"data":
            if fmt is None:
                raise chunks.error("the data chunk comes before any fmt chunk")
            if container == "RF64" and length == _UNKNOWN_32:
                if ds64_data_size is None:
                    raise chunks.error("an RF64 file without a ds64 chunk")
                length = ds64_data_size
            elif length == _UNKNOWN_32 or _streamed_without_length(chunks, body, length, order):
                return _header(chunks, container, fmt, body, None, big_endian)
            return _header(chunks, container, fmt, body, length, big_endian)
        elif length > chunks.size - body:
            raise chunks.past_the_end(f"chunk {tag!r}", position, length)
        position = body + length + (length & 1)
    raise chunks.error("no data chunk" if fmt is not None else "no fmt chunk")


def _streamed_without_length(chunks: _Chunks, body: int, length: int, order: str) -> bool:
    """A ``data`` size of 0 followed by bytes that are no chunk: samples a streaming writer left unsized."""
    if length != 0 or chunks.size - body < 8:
        return False
    tag, following = struct.unpack(order + "4sI", chunks.read(body, 8))
    looks_like_a_chunk = all(32 <= byte < 127 for byte in tag) and following <= chunks.size - body - 8
    return not looks_like_a_chunk


def _parse_w64(chunks: _Chunks) -> WavHeader:
    """Walk Wave64 chunks (GUID, 64-bit size counting the 24-byte chunk header, 8-byte aligned) to ``data``."""
    fmt: _Format | None = None
    position = 40
    for _ in range(_MAX_CHUNKS):
        if position + 24 > chunks.size:
            break
        guid, total = struct.unpack("<16sQ", chunks.read(position, 24))
        if total < 24:
            raise chunks.error(f"the Wave64 chunk at byte {position} declares {total} bytes, less than its header")
        body, length = position + 24, total - 24
        if guid == _W64_FMT:
            fmt = _parse_fmt(chunks.body("fmt", body, length, 16), "<", chunks)
        elif guid == _W64_DATA:
            if fmt is None:
                raise chunks.error("the data chunk comes before any fmt chunk")
            return _header(chunks, "W64", fmt, body, length, False)
        elif length > chunks.size - body:
            raise chunks.past_the_end("the Wave64 chunk", position, total)
        position = body + length + (-length % 8)
    raise chunks.error("no data chunk" if fmt is not None else "no fmt chunk")


def _parse_fmt(body: bytes, order: str, chunks: _Chunks) -> _Format:
    """The encoding, sample size, channels and rate of a ``fmt`` chunk, checked for sense."""
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack(order + "HHIIHH", body[:16])
    if channels == 0 or channels > _MAX_CHANNELS:
        raise chunks.error(f"the fmt chunk declares {channels} channels (1 to {_MAX_CHANNELS} are readable)")
    if rate == 0 or rate > _MAX_RATE:
        raise chunks.error(f"the fmt chunk declares a sample rate of {rate} (1 to {_MAX_RATE} are readable)")
    if tag == _EXTENSIBLE:
        if len(body) < 40:
            raise chunks.error(f"the extensible fmt chunk is {len(body)} bytes, shorter than 40")
        valid_bits = struct.unpack(order + "H", body[18:20])[0]
        guid = body[24:40]
        if guid[2:] != _KS_SUFFIX:
            raise UnsupportedFormatError(chunks.where, f"io:wav does not decode the WAVE sub-format {guid.hex()}")
        if valid_bits not in (0, bits):
            reason = f"io:wav does not decode {valid_bits}-bit samples in {bits}-bit containers"
            raise UnsupportedFormatError(chunks.where, reason)
        tag = struct.unpack("<H", guid[:2])[0]
    if tag not in _ENCODINGS:
        raise UnsupportedFormatError(chunks.where, f"io:wav does not decode WAVE format tag 0x{tag:04x}")
    encoding, sizes = _ENCODINGS[tag]
    if bits not in sizes:
        raise UnsupportedFormatError(chunks.where, f"io:wav does not decode {bits}-bit {encoding} samples")
    if block_align != channels * bits // 8:
        needed = channels * bits // 8
        raise chunks.error(
            f"the fmt chunk declares {block_align} bytes per frame; {channels} x {bits}-bit take {needed}"
        )
    if encoding == "PCM_S" and bits == 8:  # WAVE's 8-bit PCM is unsigned
        encoding = "PCM_U"
    return _Format(encoding, bits, channels, rate)


def _header(
    chunks: _Chunks, container: str, fmt: _Format, data_offset: int, declared: int | None, big_endian: bool
) -> WavHeader:
    """The header of samples from ``data_offset``: ``declared`` bytes (``None``: to the end of the file)."""
    block = fmt.channels * fmt.bits // 8
    present = max(chunks.size - data_offset, 0)
    unsized = container == "WAV" and declared is not None and declared >= PLACEHOLDER_SIZE
    if declared is not None and declared > present and (unsized or declared == _UNKNOWN_64):
        declared = None
    frames = present // block if declared is None else min(declared, present) // block
    declared_frames = None if declared is None else declared // block
    return WavHeader(
        container, fmt.encoding, fmt.bits, fmt.channels, fmt.rate, data_offset, frames, declared_frames, big_endian
    )
