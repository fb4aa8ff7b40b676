"""Opening and decoding with libsndfile: sources, seeking reads, chunked reads and metadata.

Every libsndfile failure on bad data becomes :class:`~tympan.core.errors.AudioDecodeError` naming the
source. Reads seek to ``frame_offset`` and decode only the frames asked for; a read that stops short of
what the header promised (a truncated file) is an error, not a silently shorter signal.

Example:
    >>> import io, numpy as np, soundfile
    >>> buffer = io.BytesIO()
    >>> soundfile.write(buffer, np.zeros((800, 2), "float32"), 8000, format="WAV", subtype="PCM_16")
    >>> with open_source(buffer.getvalue()) as sound:
    ...     read_frames(sound, 100, 50, normalize=False, channels_first=True, where="clip").dtype
    torch.int16
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import struct
from collections.abc import Iterator
from typing import IO, cast

import numpy as np
import soundfile
import torch

from tympan.core.audio import AudioInfo
from tympan.core.backend import Source, describe_source
from tympan.core.errors import AudioDecodeError, TympanError
from tympan.plugins.io.checks import is_empty, require_file
from tympan.plugins.io.formats import SNIFF_BYTES, container_name, encoding_of

__all__ = ["audio_info", "decode_errors", "open_source", "read_chunks", "read_frames", "read_header"]

# Containers where normalize=False returns integer PCM in its own dtype (torchaudio: "integer WAV" only).
_WAV_FAMILY = frozenset({"WAV", "WAVEX", "W64", "RF64"})
# The numpy dtype libsndfile decodes each subtype to when normalize=False; PCM_U8 becomes uint8 afterwards.
_NATIVE_DTYPES = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32", "PCM_U8": "int16", "DOUBLE": "float64"}
# Data sizes streaming writers put in a header before they know the length; never a sign of truncation.
_PLACEHOLDER_SIZE = 0x7FFF0000
# Reads longer than this are decoded in blocks of this many frames.
_BLOCK_FRAMES = 1 << 20
_DATA_SIZE = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_OGG_UNTERMINATED = "without an End-Of-Stream flag"
_DECODER_ERRORS = (soundfile.SoundFileError, RuntimeError, TypeError, ValueError, EOFError, struct.error)


@contextlib.contextmanager
def decode_errors(where: str) -> Iterator[None]:
    """Turn libsndfile's errors (and the low-level ones a bad file provokes) into ``AudioDecodeError``.

    Example:
        >>> with decode_errors("clip.wav"):
        ...     raise RuntimeError("Format not recognised.")
        Traceback (most recent call last):
        ...
        tympan.core.errors.AudioDecodeError: cannot decode clip.wav: Format not recognised.
    """
    try:
        yield
    except TympanError:
        raise
    except _DECODER_ERRORS as exc:
        reason = getattr(exc, "error_string", None) or str(exc) or type(exc).__name__
        raise AudioDecodeError(where, reason.strip()) from exc


def read_header(source: Source) -> bytes | None:
    """The first bytes of ``source`` for sniffing (a file object's position is restored), or ``None``.

    Example:
        >>> import io
        >>> handle = io.BytesIO(b"fLaC and more")
        >>> read_header(handle)[:4], handle.tell()
        (b'fLaC', 0)
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[:SNIFF_BYTES])
    try:
        if isinstance(source, (str, os.PathLike)):
            if not os.path.isfile(source):
                return None
            with open(source, "rb") as handle:
                return handle.read(SNIFF_BYTES)
        position = source.tell()
        try:
            header = source.read(SNIFF_BYTES)
        finally:
            source.seek(position)
    except (OSError, ValueError, AttributeError):
        return None
    return header if isinstance(header, bytes) else None


def _check_complete(sound: soundfile.SoundFile, where: str) -> None:
    """Refuse files whose header promises more audio than the file holds (libsndfile would shorten them)."""
    log = sound.extra_info
    match = _DATA_SIZE.search(log)
    if match and sound.format in _WAV_FAMILY:
        declared, present = int(match.group(1)), int(match.group(2))
        if present < declared < _PLACEHOLDER_SIZE:
            raise AudioDecodeError(where, f"header declares {declared} bytes of audio, the file holds {present}")
    if sound.frames == 0 and _OGG_UNTERMINATED in log:
        raise AudioDecodeError(where, "the Ogg stream ends before its last page (truncated)")


class _GuardedReader:
    """A binary file object as libsndfile's callbacks see it: a seek the object refuses (a corrupt header
    can ask for a negative position) leaves the position where it was, for libsndfile to report, instead of
    raising inside the callback, where the exception would be printed and lost."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def readinto(self, buffer: bytearray) -> int:
        # An object without readinto raises AttributeError here, and soundfile falls back to read.
        return cast(int, self._handle.readinto(buffer))  # type: ignore[attr-defined]

    def tell(self) -> int:
        return self._handle.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._handle.seek(offset, whence)
        except (ValueError, OSError):
            return self._handle.tell()


@contextlib.contextmanager
def open_source(source: Source, restore_position: bool = False) -> Iterator[soundfile.SoundFile]:
    """Open a path, bytes or binary file object for reading; with ``restore_position`` a file object's
    position is put back afterwards.

    Example:
        >>> with open_source(b"") as sound:
        ...     pass
        Traceback (most recent call last):
        ...
        tympan.core.errors.AudioDecodeError: cannot decode <0 bytes>: the file is empty
    """
    where = describe_source(source)
    require_file(source)
    if is_empty(source):
        raise AudioDecodeError(where, "the file is empty")
    handle: IO[bytes] | None = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        handle = io.BytesIO(source)
    elif not isinstance(source, (str, os.PathLike)):
        handle = source
    position = handle.tell() if restore_position and handle is not None else None
    try:
        with decode_errors(where):
            sound = soundfile.SoundFile(source if handle is None else _GuardedReader(handle))
        with sound:
            _check_complete(sound, where)
            yield sound
    finally:
        if handle is not None and position is not None:
            handle.seek(position)


def audio_info(sound: soundfile.SoundFile) -> AudioInfo:
    """The :class:`~tympan.core.audio.AudioInfo` of an open file, from its header.

    Example:
        >>> import io, numpy as np, soundfile
        >>> buffer = io.BytesIO()
        >>> soundfile.write(buffer, np.zeros(400, "float32"), 8000, format="FLAC", subtype="PCM_24")
        >>> with open_source(buffer.getvalue()) as sound:
        ...     audio_info(sound)
        AudioInfo(sample_rate=8000, num_frames=400, num_channels=1, bits_per_sample=24, encoding='FLAC', format='flac')
    """
    encoding, bits = encoding_of(sound.format, sound.subtype)
    return AudioInfo(sound.samplerate, sound.frames, sound.channels, bits, encoding, container_name(sound.format))


def _decoded_dtype(sound: soundfile.SoundFile, normalize: bool) -> str:
    if normalize or sound.format not in _WAV_FAMILY:
        return "float32"
    return _NATIVE_DTYPES.get(sound.subtype, "float32")


def _read_block(sound: soundfile.SoundFile, count: int, dtype: str, channels_first: bool, where: str) -> torch.Tensor:
    """Decode exactly ``count`` frames from the current position as a tensor.

    Large reads go in blocks, so memory follows the audio actually decoded, never a header's claim.
    """
    blocks = [np.empty((0, sound.channels), dtype)]
    remaining = count
    while remaining > 0:
        wanted = min(remaining, _BLOCK_FRAMES)
        with decode_errors(where):
            blocks.append(sound.read(wanted, dtype=dtype, always_2d=True))
        if len(blocks[-1]) < wanted:
            stopped = count - remaining + len(blocks[-1])
            raise AudioDecodeError(
                where, f"header declares {sound.frames} frames, decoding stopped {stopped} frames in"
            )
        remaining -= wanted
    data = blocks[-1] if len(blocks) == 2 else np.concatenate(blocks)
    if sound.subtype == "PCM_U8" and dtype == "int16":
        data = ((data >> 8) + 128).astype(np.uint8)
    tensor = torch.from_numpy(data)
    return tensor.T.contiguous() if channels_first else tensor


def _seek(sound: soundfile.SoundFile, frame_offset: int, num_frames: int, where: str) -> int:
    """Seek to ``frame_offset`` (clamped to the end); return how many frames to read from there."""
    total = int(sound.frames)
    start = min(frame_offset, total)
    if start:
        with decode_errors(where):
            sound.seek(start)
    available = total - start
    return available if num_frames == -1 else min(num_frames, available)


def read_frames(
    sound: soundfile.SoundFile,
    frame_offset: int,
    num_frames: int,
    normalize: bool,
    channels_first: bool,
    where: str,
) -> torch.Tensor:
    """Seek to ``frame_offset`` and decode ``num_frames`` frames (-1: to the end); empty past the end.

    ``normalize=True`` gives float32 in [-1, 1]. ``normalize=False`` gives integer PCM in WAV-family
    containers in its own dtype (uint8, int16, int32 for 24/32-bit) and 64-bit float as float64.

    Example:
        >>> import io, numpy as np, soundfile
        >>> buffer = io.BytesIO()
        >>> soundfile.write(buffer, np.zeros((800, 2), "float32"), 8000, format="WAV")
        >>> with open_source(buffer.getvalue()) as sound:
        ...     read_frames(sound, 700, -1, normalize=True, channels_first=False, where="clip").shape
        torch.Size([100, 2])
    """
    count = _seek(sound, frame_offset, num_frames, where)
    return _read_block(sound, count, _decoded_dtype(sound, normalize), channels_first, where)


def read_chunks(
    sound: soundfile.SoundFile,
    frames_per_chunk: int,
    frame_offset: int,
    num_frames: int,
    normalize: bool,
    channels_first: bool,
    where: str,
) -> Iterator[torch.Tensor]:
    """Like :func:`read_frames`, as consecutive chunks of at most ``frames_per_chunk`` frames.

    Example:
        >>> import io, numpy as np, soundfile
        >>> buffer = io.BytesIO()
        >>> soundfile.write(buffer, np.zeros(250, "float32"), 8000, format="WAV")
        >>> with open_source(buffer.getvalue()) as sound:
        ...     [chunk.shape[-1] for chunk in read_chunks(sound, 100, 0, -1, True, True, "clip")]
        [100, 100, 50]
    """
    remaining = _seek(sound, frame_offset, num_frames, where)
    dtype = _decoded_dtype(sound, normalize)
    while remaining > 0:
        count = min(frames_per_chunk, remaining)
        yield _read_block(sound, count, dtype, channels_first, where)
        remaining -= count
