"""Opening and decoding with libsndfile: sources, seeking reads, chunked reads, truncation and metadata.

Every libsndfile failure on bad data becomes :class:`~tympan.core.errors.AudioDecodeError` naming the
source. Reads seek to ``frame_offset`` and decode only the frames asked for. A file that holds less audio
than its header declares (a truncated file) raises an error naming both frame counts; opened with
``strict=False`` the frames that are there are returned and a
:class:`~tympan.core.errors.TruncatedAudioWarning` says how many are missing.

Example:
    >>> import io, numpy as np, soundfile
    >>> buffer = io.BytesIO()
    >>> soundfile.write(buffer, np.zeros((800, 2), "float32"), 8000, format="WAV", subtype="PCM_16")
    >>> with open_source(buffer.getvalue()) as audio:
    ...     audio.read(100, 50, normalize=False, channels_first=True).dtype
    torch.int16
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import struct
import warnings
from collections.abc import Callable, Iterator
from typing import IO, cast

import numpy as np
import soundfile
import torch

from tympan.core.audio import MAX_SAMPLE_RATE, AudioInfo
from tympan.core.backend import Source, describe_source
from tympan.core.errors import AudioDecodeError, TruncatedAudioWarning, TympanError
from tympan.plugins.io.checks import check_decoded_rate, is_empty, require_file
from tympan.plugins.io.declared_length import declared_frames
from tympan.plugins.io.formats import SNIFF_BYTES, container_name, encoding_of
from tympan.plugins.io.header_rates import declared_rate
from tympan.plugins.io.offset_reader import OffsetReader

__all__ = ["OpenAudio", "audio_info", "decode_errors", "open_source", "read_header"]

# Containers where normalize=False returns integer PCM in its own dtype (torchaudio: "integer WAV" only).
_WAV_FAMILY = frozenset({"WAV", "WAVEX", "W64", "RF64"})
# The numpy dtype libsndfile decodes each subtype to when normalize=False; PCM_U8 becomes uint8 afterwards.
_NATIVE_DTYPES = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32", "PCM_U8": "int16", "DOUBLE": "float64"}
# libsndfile 1.2.2 decodes MP3 right only in one read from the start: after a seek, or after a read that
# stops inside an MPEG frame, what follows is corrupt. These formats are decoded that way, then sliced.
_ONE_READ = frozenset({"MP3"})
# The lowest MP3 bit rate (MPEG-2/2.5 layer III), in bits per second, and the most frames one MPEG frame
# holds: together they bound how many frames a file of a given size can decode to, whatever its header says.
_MP3_MIN_BITRATE = 8000
_MP3_FRAME = 1152
# Reads longer than this are decoded in blocks of this many frames.
_BLOCK_FRAMES = 1 << 20
# Results of up to this many samples (128 MiB of float32) are allocated before decoding starts.
_PREALLOCATED_SAMPLES = 1 << 25
# After a decoder error, what decodes is recovered in halving pieces down to this many frames.
_SMALLEST_PIECE = 1
# How many leading bytes are kept when a file is opened: a NIST SPHERE header, or an AIFF's form type.
_HEADER_BYTES = 1024
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
        raise AudioDecodeError(where, _reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "error_string", None) or str(exc) or type(exc).__name__
    return str(reason).strip()


def read_header(source: Source, size: int = SNIFF_BYTES) -> bytes | None:
    """The first ``size`` bytes of ``source`` (a file object's position is restored), or ``None``.

    Example:
        >>> import io
        >>> handle = io.BytesIO(b"fLaC and more")
        >>> read_header(handle)[:4], handle.tell()
        (b'fLaC', 0)
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[:size])
    try:
        if isinstance(source, (str, os.PathLike)):
            if not os.path.isfile(source):
                return None
            with open(source, "rb") as handle:
                return handle.read(size)
        position = source.tell()
        try:
            header = source.read(size)
        finally:
            source.seek(position)
    except (OSError, ValueError, AttributeError):
        return None
    return header if isinstance(header, bytes) else None


class _GuardedReader:
    """A binary file object as libsndfile's callbacks see it. An exception raised inside a callback would
    be printed and lost (libsndfile would see the data end): a failing read is recorded instead and
    :meth:`raise_failure` raises it afterwards; a seek the object refuses (a corrupt header can ask for a
    negative position) leaves the position where it was, for libsndfile to report."""

    def __init__(self, handle: IO[bytes] | OffsetReader) -> None:
        self._handle = handle
        self.failure: Exception | None = None

    def _failed(self, exc: Exception) -> None:
        if self.failure is None:
            self.failure = exc

    def read(self, size: int = -1) -> bytes:
        try:
            return self._handle.read(size)
        except Exception as exc:  # recorded, raised by raise_failure once libsndfile returns
            self._failed(exc)
            return b""

    def readinto(self, buffer: bytearray) -> int:
        readinto = getattr(self._handle, "readinto", None)
        if readinto is None:  # soundfile falls back to read
            raise AttributeError("readinto")
        try:
            return cast(int, readinto(buffer))
        except Exception as exc:  # recorded, raised by raise_failure once libsndfile returns
            self._failed(exc)
            return 0

    def tell(self) -> int:
        try:
            return self._handle.tell()
        except Exception as exc:  # recorded, raised by raise_failure once libsndfile returns
            self._failed(exc)
            return 0

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        try:
            return self._handle.seek(offset, whence)
        except (ValueError, OSError):
            return self.tell()

    def raise_failure(self, where: str) -> None:
        """Raise the failure of a read, if one happened: an ``OSError`` the system reported as it is, anything
        else as ``AudioDecodeError``."""
        failure, self.failure = self.failure, None
        if failure is None:
            return
        if isinstance(failure, OSError) and failure.errno is not None:
            raise failure
        raise AudioDecodeError(where, f"reading the file object failed: {type(failure).__name__}: {failure}")


class OpenAudio:
    """An open source being decoded: libsndfile's handle, the frame count its header declares, and what a
    short file means (``strict``: an error; otherwise a warning and the frames that are there).

    Built by :func:`open_source`; :meth:`read` and :meth:`chunks` decode.

    Example:
        >>> import io, numpy as np, soundfile
        >>> buffer = io.BytesIO()
        >>> soundfile.write(buffer, np.zeros(250, "float32"), 8000, format="WAV")
        >>> with open_source(buffer.getvalue()) as audio:
        ...     audio.declared, [chunk.shape[-1] for chunk in audio.chunks(100, 0, -1, True, True)]
        (250, [100, 100, 50])
    """

    def __init__(
        self,
        sound: soundfile.SoundFile,
        where: str,
        header: bytes,
        declared: int,
        strict: bool,
        reopen: Callable[[], soundfile.SoundFile],
        size: int | None = None,
        source_failed: Callable[[], None] = lambda: None,
    ) -> None:
        self.sound = sound
        self.where = where
        self.header = header
        self.declared = declared
        self.strict = strict
        self._reopen = reopen
        self._size = size
        self._source_failed = source_failed
        self._warned = False

    def info(self) -> AudioInfo:
        """The :class:`~tympan.core.audio.AudioInfo` of the file, from its header.

        Example:
            >>> import io, numpy as np, soundfile
            >>> buffer = io.BytesIO()
            >>> soundfile.write(buffer, np.zeros(400, "float32"), 8000, format="FLAC", subtype="PCM_24")
            >>> with open_source(buffer.getvalue()) as audio:
            ...     audio.info().num_frames, audio.info().encoding
            (400, 'FLAC')
        """
        return audio_info(self.sound, self.header)

    def read(self, frame_offset: int, num_frames: int, normalize: bool, channels_first: bool) -> torch.Tensor:
        """Seek to ``frame_offset`` and decode ``num_frames`` frames (-1: to the end); empty past the end.

        ``normalize=True`` gives float32 in [-1, 1]. ``normalize=False`` gives integer PCM in WAV-family
        containers in its own dtype (uint8, int16, int32 for 24/32-bit) and 64-bit float as float64.

        Example:
            >>> import io, numpy as np, soundfile
            >>> buffer = io.BytesIO()
            >>> soundfile.write(buffer, np.zeros((800, 2), "float32"), 8000, format="WAV")
            >>> with open_source(buffer.getvalue()) as audio:
            ...     audio.read(700, -1, normalize=True, channels_first=False).shape
            torch.Size([100, 2])
        """
        dtype = _decoded_dtype(self.sound, normalize)
        if self.sound.format in _ONE_READ:
            return self._tensor(self._decode_from_start(frame_offset, num_frames, dtype), channels_first)
        count = self._seek(frame_offset, num_frames)
        return self._tensor(self._decode(frame_offset, count, dtype), channels_first)

    def chunks(
        self, frames_per_chunk: int, frame_offset: int, num_frames: int, normalize: bool, channels_first: bool
    ) -> Iterator[torch.Tensor]:
        """Like :meth:`read`, as consecutive chunks of at most ``frames_per_chunk`` frames.

        Example:
            >>> import io, numpy as np, soundfile
            >>> buffer = io.BytesIO()
            >>> soundfile.write(buffer, np.zeros(250, "float32"), 8000, format="WAV")
            >>> with open_source(buffer.getvalue()) as audio:
            ...     [chunk.shape[-1] for chunk in audio.chunks(100, 20, -1, True, True)]
            [100, 100, 30]
        """
        dtype = _decoded_dtype(self.sound, normalize)
        if self.sound.format in _ONE_READ:  # decoded at once (see _ONE_READ), handed out in chunks
            data = self._decode_from_start(frame_offset, num_frames, dtype)
            for start in range(0, len(data), frames_per_chunk):
                yield self._tensor(data[start : start + frames_per_chunk], channels_first)
            return
        remaining = self._seek(frame_offset, num_frames)
        position = min(frame_offset, self.sound.frames)
        while remaining > 0:
            count = min(frames_per_chunk, remaining)
            data = self._decode(position, count, dtype)
            if len(data):
                yield self._tensor(data, channels_first)
            if len(data) < count:
                return
            position += count
            remaining -= count

    def truncated(self, found: int, cause: str = "") -> None:
        """Report a file that holds ``found`` of its declared frames: an error, or with ``strict=False`` a
        warning (once).

        Example:
            >>> import io, numpy as np, soundfile
            >>> buffer = io.BytesIO()
            >>> soundfile.write(buffer, np.zeros(250, "float32"), 8000, format="WAV")
            >>> with open_source(buffer.getvalue()) as audio:
            ...     audio.truncated(200)
            Traceback (most recent call last):
            ...
            tympan.core.errors.AudioDecodeError: cannot decode <544 bytes>: header declares 250 frames, ...
        """
        reason = f"header declares {self.declared} frames, the file holds {found}"
        if cause:
            reason = f"{reason} (decoding stops: {cause})"
        if self.strict:
            raise AudioDecodeError(self.where, f"{reason} (strict=False reads them)")
        if not self._warned:
            self._warned = True
            warnings.warn(f"{self.where}: {reason}; returning those", TruncatedAudioWarning, stacklevel=4)

    def _seek(self, frame_offset: int, num_frames: int) -> int:
        """Seek to ``frame_offset`` (clamped to the end); return how many frames to read from there."""
        total = int(self.sound.frames)
        start = min(frame_offset, total)
        if start:
            try:
                self.sound.seek(start)
                self._source_failed()
            except _DECODER_ERRORS as exc:
                self._source_failed()
                if self.strict:
                    raise AudioDecodeError(self.where, f"cannot seek to frame {start}: {_reason(exc)}") from exc
                warnings.warn(
                    f"{self.where}: cannot seek to frame {start} of the {self.declared} the header declares "
                    f"({_reason(exc)}); returning no frames",
                    TruncatedAudioWarning,
                    stacklevel=4,
                )
                return 0
        available = total - start
        return available if num_frames == -1 else min(num_frames, available)

    def _decode(self, position: int, count: int, dtype: str) -> np.ndarray:
        """Decode ``count`` frames from ``position`` (the current position), fewer where the file ends early.

        Large reads go in blocks, so memory follows the audio actually decoded, never a header's claim.
        """
        # A result of up to _PREALLOCATED_SAMPLES is allocated once and decoded into, block by block (no
        # concatenation); longer ones grow block by block, so a header's claim alone allocates little.
        channels = self.sound.channels
        preallocated = count * channels <= _PREALLOCATED_SAMPLES
        out = np.empty((count if preallocated else 0, channels), dtype)
        blocks = [out[:0]]
        done, recovered = 0, False
        while done < count:
            wanted = min(count - done, _BLOCK_FRAMES)
            target = out[done : done + wanted] if preallocated else None
            try:
                block = self.sound.read(wanted, dtype=dtype, always_2d=True, out=target)
                self._source_failed()
            except _DECODER_ERRORS as exc:
                self._source_failed()
                blocks.extend(self._recover(position + done, count - done, dtype))
                recovered = True
                self.truncated(position + sum(len(block) for block in blocks), _reason(exc))
                break
            blocks.append(block)
            done += len(block)
            if len(block) < wanted:
                self.truncated(position + done)
                break
        if preallocated and not recovered:
            return out[:done]
        return blocks[-1] if len(blocks) == 2 else np.concatenate(blocks)

    def _decode_from_start(self, frame_offset: int, num_frames: int, dtype: str) -> np.ndarray:
        """Frames ``frame_offset`` to ``frame_offset + num_frames`` (-1: to the end) of a freshly opened file,
        decoded in one read from its first frame."""
        total = int(self.sound.frames)
        start = min(frame_offset, total)
        end = total if num_frames == -1 else min(total, start + num_frames)
        if end == start:
            return np.empty((0, self.sound.channels), dtype)
        wanted = end
        if self._size is not None:  # a header's count is allocated up front: never more than the bytes hold
            most = self._size * 8 * self.sound.samplerate // _MP3_MIN_BITRATE + _MP3_FRAME
            wanted = min(end, most)
        try:
            with decode_errors(self.where):
                data = self.sound.read(wanted, dtype=dtype, always_2d=True)
        finally:
            self._source_failed()
        if len(data) < end:
            self.truncated(len(data))
        return data[start:]

    def _recover(self, position: int, count: int, dtype: str) -> list[np.ndarray]:
        """What decodes from ``position`` on, after a decoder error, in pieces that halve at each failure
        (down to one frame).

        The decoder is unusable after an error, so each attempt opens the source again.
        """
        blocks: list[np.ndarray] = []
        piece = min(count, _BLOCK_FRAMES)
        while piece >= _SMALLEST_PIECE and count > 0:
            try:
                with self._reopen() as sound:
                    sound.seek(position)
                    while count > 0:
                        wanted = min(piece, count)
                        block = sound.read(wanted, dtype=dtype, always_2d=True)
                        self._source_failed()
                        blocks.append(block)
                        position, count = position + len(block), count - len(block)
                        if len(block) < wanted:
                            return blocks
            except _DECODER_ERRORS:
                piece //= 2
        return blocks

    def _tensor(self, data: np.ndarray, channels_first: bool) -> torch.Tensor:
        if self.sound.subtype == "PCM_U8" and data.dtype == np.int16:
            data = ((data >> 8) + 128).astype(np.uint8)
        # numpy transposes interleaved frames several times faster than torch's strided copy
        return torch.from_numpy(np.ascontiguousarray(data.T) if channels_first else data)


@contextlib.contextmanager
def open_source(source: Source, restore_position: bool = False, strict: bool = True) -> Iterator[OpenAudio]:
    """Open a path, bytes or binary file object for reading; with ``restore_position`` a file object's
    position is put back afterwards.

    A header declaring more frames than the file holds raises at once (naming both counts) when ``strict``;
    otherwise reads return the frames there are, with a :class:`~tympan.core.errors.TruncatedAudioWarning`.

    Example:
        >>> with open_source(b"") as audio:
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
    start = handle.tell() if handle is not None else 0

    guards: list[_GuardedReader] = []

    def reopen() -> soundfile.SoundFile:
        if handle is None:
            return soundfile.SoundFile(source)
        handle.seek(start)
        guards.append(_GuardedReader(OffsetReader(handle, start)))
        return soundfile.SoundFile(guards[-1])

    def source_failed() -> None:
        for guard in guards:
            guard.raise_failure(where)

    header = read_header(source, _HEADER_BYTES) or b""
    size = _size_of(source, handle)
    try:
        try:
            with decode_errors(where):
                sound = reopen()
        finally:
            source_failed()
        with sound:
            _check_header(sound, where, header)
            declared = declared_frames(sound, header)
            total = sound.frames if declared is None else declared
            audio = OpenAudio(sound, where, header, total, strict, reopen, size, source_failed)
            if declared is not None:
                audio.truncated(sound.frames)
            elif sound.frames == 0 and _OGG_UNTERMINATED in sound.extra_info:
                _unterminated_ogg(where, strict)
            yield audio
    finally:
        if handle is not None and restore_position:
            handle.seek(start)


def _size_of(source: Source, handle: IO[bytes] | None) -> int | None:
    """The size in bytes of a path, bytes or seekable file object (from its start position); else ``None``."""
    try:
        if handle is None:
            return os.path.getsize(source)  # type: ignore[arg-type]
        position = handle.tell()
        size = handle.seek(0, io.SEEK_END) - position
        handle.seek(position)
        return size
    except (OSError, ValueError, AttributeError):
        return None


def _check_header(sound: soundfile.SoundFile, where: str, header: bytes) -> None:
    if sound.format == "RAW":  # libsndfile's reading of an .au name without a header, as 8 kHz mu-law
        raise AudioDecodeError(where, "no audio header found (the name says AU, the bytes do not)")
    declared = declared_rate(header) if sound.format in ("AIFF", "CAF") else None
    if declared is not None and not (math.isfinite(declared) and 1 <= declared <= MAX_SAMPLE_RATE):
        raise AudioDecodeError(where, f"the header declares a sample rate of {declared:g} Hz")
    check_decoded_rate(sound.samplerate, where)
    if sound.channels <= 0:
        raise AudioDecodeError(where, f"the header declares {sound.channels} channels")


def _unterminated_ogg(where: str, strict: bool) -> None:
    reason = "the Ogg stream ends before its last page (truncated), so its length is unknown"
    if strict:
        raise AudioDecodeError(where, f"{reason} (strict=False returns what libsndfile decodes of it: nothing)")
    warnings.warn(f"{where}: {reason}; libsndfile decodes none of it", TruncatedAudioWarning, stacklevel=4)


def audio_info(sound: soundfile.SoundFile, header: bytes = b"") -> AudioInfo:
    """The :class:`~tympan.core.audio.AudioInfo` of an open libsndfile handle, from its header.

    libsndfile names AIFF and AIFF-C alike; the file's first bytes (``header``), when given, tell them apart.

    Example:
        >>> import io, numpy as np, soundfile
        >>> buffer = io.BytesIO()
        >>> soundfile.write(buffer, np.zeros(80, "float32"), 8000, format="WAV", subtype="ULAW")
        >>> with soundfile.SoundFile(io.BytesIO(buffer.getvalue())) as sound:
        ...     audio_info(sound).encoding
        'ULAW'
    """
    encoding, bits = encoding_of(sound.format, sound.subtype)
    container = container_name(sound.format)
    if sound.format == "AIFF" and header[8:12] == b"AIFC":
        container = "aifc"
    return AudioInfo(sound.samplerate, sound.frames, sound.channels, bits, encoding, container)


def _decoded_dtype(sound: soundfile.SoundFile, normalize: bool) -> str:
    if normalize or sound.format not in _WAV_FAMILY:
        return "float32"
    return _NATIVE_DTYPES.get(sound.subtype, "float32")
