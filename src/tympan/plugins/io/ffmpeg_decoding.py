"""Decoding for ``io:ffmpeg``: the first audio stream of a source, positioned to the sample, in blocks.

Reading from ``frame_offset`` seeks where the container's timestamps place every sample exactly
(MP4/M4A/MOV, Ogg, FLAC, MP3, WAV): to a point at least :data:`PREROLL_SECONDS` before the offset, so the
decoder's state has settled, then decodes and trims to the exact sample. In containers whose timestamps
are coarser than a sample (Matroska/WebM and ASF/WMA count milliseconds) or that have no index (raw
AAC and AC-3 streams), it decodes from the start instead, which is exact but takes time proportional
to the offset. Lossless codecs and MP3, Opus and Vorbis then match a full decode bit for bit; FFmpeg's
AAC decoder draws noise substitution (PNS) from a running random state, so AAC audio after a seek is
sample-aligned but not bit-identical to a full decode.

A file is truncated when decoding stops at bad data, or short of the length its header declares
(MP4/MOV, FLAC, WAV, Matroska, ASF; lossy codecs are allowed 4096 frames of priming and padding). MP3,
Ogg and raw streams declare no length of their own, so there only bad data shows truncation.

Example:
    >>> import io, torch
    >>> from tympan.plugins.io.ffmpeg_backend import FfmpegBackend
    >>> buffer = io.BytesIO()
    >>> FfmpegBackend().save(buffer, torch.zeros(1, 1000), 8000, format="flac")
    >>> with Decoding(buffer.getvalue(), "clip", None) as decoding:
    ...     [block.shape for block in decoding.blocks(100, 300)]
    [(1, 200)]
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from collections.abc import Iterator
from fractions import Fraction
from typing import IO, Any

import av
import numpy as np
import torch

from tympan.core.audio import AudioInfo
from tympan.core.backend import Source
from tympan.core.errors import AudioDecodeError, TruncatedAudioWarning, TympanError, UnsupportedFormatError
from tympan.plugins.io.checks import check_decoded_rate, is_empty, require_file
from tympan.plugins.io.ffmpeg_codecs import encoding_of_codec, is_lossless
from tympan.plugins.io.offset_reader import OffsetReader

__all__ = ["PREROLL_SECONDS", "Decoding", "av_errors", "chunks", "native_dtype"]

#: A seek lands at least this long (and at least 16384 frames) before ``frame_offset``; the audio between
#: is decoded and dropped, so overlapping transforms, MP3's bit reservoir and Opus's pre-roll have settled.
PREROLL_SECONDS = 0.2
_MIN_PREROLL = 16384
# Demuxers whose timestamps after a seek place the decoded samples exactly (checked against full decodes).
_SEEKABLE = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "ogg", "flac", "mp3", "wav"})
# Demuxers whose headers declare the length (so a file shorter than that is truncated); raw streams' lengths
# are estimated from the bit rate and Ogg's come from the last page present, which truncation moves.
_DECLARING = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "flac", "wav", "w64", "aiff", "caf", "matroska,webm", "asf"})
# Lossy codecs may decode up to this many frames fewer than declared (priming and padding rounding).
_LOSSY_SLACK = 4096
# Decoded sample formats (planar or packed) -> numpy dtype; integer ones are scaled by their full range.
_DTYPES = {"u8": np.uint8, "s16": np.int16, "s32": np.int32, "s64": np.int64, "flt": np.float32, "dbl": np.float64}
_SCALES = {np.dtype(np.int16): 2.0**-15, np.dtype(np.int32): 2.0**-31, np.dtype(np.int64): 2.0**-63}


@contextlib.contextmanager
def av_errors(where: str) -> Iterator[None]:
    """Turn FFmpeg's errors into ``AudioDecodeError`` naming ``where``.

    Example:
        >>> with av_errors("clip.m4a"):
        ...     raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
        Traceback (most recent call last):
        ...
        tympan.core.errors.AudioDecodeError: cannot decode clip.m4a: Invalid data found when processing input
    """
    try:
        yield
    except TympanError:
        raise
    except (av.error.FFmpegError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise AudioDecodeError(where, str(reason).strip()) from exc


def _stream_bits(stream: Any, codec: str, bits: int) -> int:
    """The sample size of a lossless stream, from its codec header (FLAC STREAMINFO, ALAC's magic cookie)."""
    if bits or not is_lossless(codec):
        return bits
    extra = bytes(stream.codec_context.extradata or b"")
    info = extra[8:] if extra.startswith(b"fLaC") else extra
    if codec == "flac" and len(info) >= 14:
        return ((info[12] & 1) << 4 | info[13] >> 4) + 1
    if codec == "alac" and len(extra) >= 24:
        cookie = extra[12:] if extra[4:8] == b"alac" else extra
        return cookie[5]
    return 8 * stream.codec_context.format.bytes


class Decoding:
    """The first audio stream of a source, open for decoding; positions count samples from the first one a
    full decode yields (see the module docstring).

    Example:
        >>> import io, torch
        >>> from tympan.plugins.io.ffmpeg_backend import FfmpegBackend
        >>> buffer = io.BytesIO()
        >>> FfmpegBackend().save(buffer, torch.zeros(2, 800), 8000, format="wav")
        >>> with Decoding(buffer.getvalue(), "clip", None) as decoding:
        ...     decoding.rate, decoding.channels, decoding.declared_frames()
        (8000, 2, 800)
    """

    def __init__(self, source: Source, where: str, format: str | None) -> None:
        require_file(source)
        if is_empty(source):
            raise AudioDecodeError(where, "the file is empty")
        self.where = where
        self._source = source
        self._format = format if format in av.formats_available else None
        self._handle: IO[bytes] | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._handle = io.BytesIO(source)
        elif not isinstance(source, (str, os.PathLike)):
            self._handle = source
        self._start = self._handle.tell() if self._handle is not None else 0
        self.container: Any = None
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        self.stream = self.container.streams.audio[0] if self.container.streams.audio else None
        if self.stream is None:
            kind = self.container.format.name.split(",")[0]
            self.close()
            raise UnsupportedFormatError(where, f"this {kind} file has no audio stream")
        context = self.stream.codec_context
        if context is None or not context.sample_rate or not context.channels:
            self.close()
            what = "no decoder for its audio" if context is None else "audio without a sample rate or channels"
            raise AudioDecodeError(where, f"FFmpeg finds {what}")
        try:
            self.rate: int = check_decoded_rate(context.sample_rate, where)
        except AudioDecodeError:
            self.close()
            raise
        self.channels: int = context.channels
        self.codec: str = context.name
        self.reached = 0  # one past the last sample decoded
        self.exhausted = False  # whether decoding reached the end of the stream (or an error in it)
        self.failure: str | None = None  # why decoding stopped before the end of the data

    def _open(self) -> None:
        target: Any = os.fspath(self._source) if self._handle is None else OffsetReader(self._handle, self._start)  # type: ignore[arg-type]
        if self._handle is not None:
            self._handle.seek(self._start)
        with av_errors(self.where):
            self.container = av.open(target, "r", format=self._format, metadata_errors="ignore")

    def close(self) -> None:
        """Close the container; a file object's position is put back where it was."""
        if self.container is not None:
            self.container.close()
            self.container = None
        if self._handle is not None:
            with contextlib.suppress(OSError, ValueError):
                self._handle.seek(self._start)

    def __enter__(self) -> Decoding:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def info(self) -> AudioInfo:
        """Metadata from the header alone."""
        encoding, bits = encoding_of_codec(self.codec)
        bits = _stream_bits(self.stream, self.codec, bits)
        container = self.container.format.name.split(",")[0]
        return AudioInfo(self.rate, self.declared_frames(), self.channels, bits, encoding, container)

    def declared_frames(self) -> int:
        """The length the container declares, in frames (0 when it declares none)."""
        if self.stream.duration is not None:
            return round(self.stream.duration * self.stream.time_base * self.rate)
        if self.container.duration is not None:
            return round(Fraction(self.container.duration, av.time_base) * self.rate)
        return 0

    def check_complete(self, start: int, stop: int | None, strict: bool) -> None:
        """After decoding to the end: refuse (or, not ``strict``, warn about) a stream that stopped short of
        the length its header declares, where the header declares one, or that stopped at bad data."""
        if not self.exhausted:
            return
        declared = self.declared_frames() if self.container.format.name in _DECLARING else None
        message = None
        if declared is not None:
            wanted = declared if stop is None else min(stop, declared)
            # Lossless: a declaration rounded to the stream's timestamps (Matroska counts milliseconds).
            tick = math.ceil(self.stream.time_base * self.rate) if self.stream.time_base else 1
            slack = tick - 1 if is_lossless(self.codec) else _LOSSY_SLACK
            if self.reached < wanted - slack and start < wanted:
                message = f"header declares {declared} frames, decoding stopped {self.reached} frames in"
        if self.failure is not None:
            message = f"{message or f'decoding stopped {self.reached} frames in'}: {self.failure}"
        if message is None:
            return
        if strict:
            raise AudioDecodeError(self.where, message)
        warnings.warn(f"{self.where}: {message}", TruncatedAudioWarning, stacklevel=4)

    def _seekable(self, start: int) -> bool:
        time_base = self.stream.time_base
        fine = time_base is not None and time_base * self.rate <= 1  # a tick no longer than a sample
        return fine and self.container.format.name in _SEEKABLE and start >= self._preroll()

    def _preroll(self) -> int:
        return max(_MIN_PREROLL, round(PREROLL_SECONDS * self.rate))

    def _frames(self) -> Iterator[Any]:
        """Decoded frames; an error in the data ends them and is kept in ``failure`` for
        :meth:`check_complete` (a truncated file typically ends in a packet cut short)."""
        frames = self.container.decode(self.stream)
        while True:
            try:
                frame = next(frames, None)
            except (av.error.FFmpegError, EOFError) as exc:
                self.failure = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                return
            if frame is None:
                return
            yield frame

    def _positioned(self, start: int) -> Iterator[tuple[int, Any]]:
        """Decoded frames with the position of their first sample, beginning at or before ``start``."""
        if self._seekable(start):
            origin = self.stream.start_time or 0
            time_base = self.stream.time_base
            target = origin + int((start - self._preroll()) / (self.rate * time_base))
            with contextlib.suppress(av.error.FFmpegError):
                self.container.seek(target, stream=self.stream, backward=True)
                frames = self._frames()
                first = next(frames, None)
                if first is not None and first.pts is not None:
                    position = round((first.pts - origin) * time_base * self.rate)
                    if position <= start:
                        yield position, first
                        position += first.samples
                        for frame in frames:
                            yield position, frame
                            position += frame.samples
                        return
            self.container.close()  # the seek did not land before the offset: decode from the start
            self.failure = None
            self._open()
            self.stream = self.container.streams.audio[0]
        position = 0
        for frame in self._frames():
            yield position, frame
            position += frame.samples

    def blocks(self, start: int, stop: int | None) -> Iterator[np.ndarray]:
        """Native ``(channels, n)`` arrays covering frames ``[start, stop)`` (``stop=None``: to the end)."""
        for position, frame in self._positioned(start):
            array = self._planar(frame)
            end = position + array.shape[1]
            self.reached = max(self.reached, end)
            if end <= start:
                continue
            if stop is not None and position >= stop:
                return
            low = max(start - position, 0)
            high = array.shape[1] if stop is None else min(stop - position, array.shape[1])
            yield array[:, low:high]
            if stop is not None and end >= stop:
                return
        self.exhausted = True

    def _planar(self, frame: Any) -> np.ndarray:
        channels = len(frame.layout.channels)
        if channels != self.channels or frame.sample_rate != self.rate:
            found = f"{channels} channel(s) at {frame.sample_rate} Hz"
            raise AudioDecodeError(self.where, f"the stream changes to {found} mid-way; this backend reads one layout")
        array = frame.to_ndarray()
        return array if frame.format.is_planar else array.reshape(-1, channels).T

    def output(self, native: np.ndarray, normalize: bool, channels_first: bool) -> torch.Tensor:
        """Native samples as the waveform ``load`` returns: float32 in [-1, 1], or with ``normalize=False``
        the PCM codecs' own dtype."""
        keep = not normalize and self.codec.startswith("pcm_") and native.dtype != np.float32
        if not keep and native.dtype != np.float32:  # in numpy: one pass, no thread pool to wake
            samples = native.astype(np.float32)
            if native.dtype == np.uint8:
                samples -= np.float32(128.0)
                samples *= np.float32(1.0 / 128.0)
            elif native.dtype in _SCALES:
                samples *= np.float32(_SCALES[native.dtype])
            native = samples
        return torch.from_numpy(np.ascontiguousarray(native if channels_first else native.T))


def native_dtype(decoding: Decoding) -> np.dtype:
    """The numpy dtype the stream decodes to (its sample format's), float32 when it has none of its own.

    Example:
        >>> import io, torch
        >>> from tympan.plugins.io.ffmpeg_backend import FfmpegBackend
        >>> buffer = io.BytesIO()
        >>> FfmpegBackend().save(buffer, torch.zeros(1, 80), 8000, format="wav", bits_per_sample=16)
        >>> with Decoding(buffer.getvalue(), "clip", None) as decoding:
        ...     native_dtype(decoding)
        dtype('int16')
    """
    sample_format = decoding.stream.codec_context.format  # None until a decoder has chosen one
    name = sample_format.name.rstrip("p") if sample_format is not None else ""
    return np.dtype(_DTYPES.get(name, np.float32))


def chunks(
    decoding: Decoding,
    frames_per_chunk: int,
    start: int,
    stop: int | None,
    normalize: bool,
    channels_first: bool,
    strict: bool,
) -> Iterator[torch.Tensor]:
    """Regroup decoded blocks into waveform chunks of ``frames_per_chunk`` frames; closes ``decoding`` at the end.

    Example:
        >>> import io, torch
        >>> from tympan.plugins.io.ffmpeg_backend import FfmpegBackend
        >>> buffer = io.BytesIO()
        >>> FfmpegBackend().save(buffer, torch.zeros(1, 250), 8000, format="flac")
        >>> decoding = Decoding(buffer.getvalue(), "clip", None)
        >>> [c.shape[-1] for c in chunks(decoding, 100, 0, None, True, True, True)]
        [100, 100, 50]
    """
    with decoding:
        pending: list[np.ndarray] = []
        held = 0
        if stop is not None and stop <= start:
            return
        for block in decoding.blocks(start, stop):
            pending.append(block)
            held += block.shape[1]
            if held < frames_per_chunk:
                continue
            joined = pending[0] if len(pending) == 1 else np.concatenate(pending, axis=1)
            whole = held - held % frames_per_chunk
            for begin in range(0, whole, frames_per_chunk):
                yield decoding.output(joined[:, begin : begin + frames_per_chunk], normalize, channels_first)
            rest = joined[:, whole:].copy()  # a copy, so the joined buffer is freed with the last chunk
            pending, held = ([rest] if rest.shape[1] else []), rest.shape[1]
        decoding.check_complete(start, stop, strict)
        if held:
            joined = pending[0] if len(pending) == 1 else np.concatenate(pending, axis=1)
            yield decoding.output(joined, normalize, channels_first)
