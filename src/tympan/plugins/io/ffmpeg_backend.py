"""``io:ffmpeg``: reading what libsndfile cannot (AAC/M4A, WMA, AC-3, ALAC, the audio of video files) and
writing AAC, MP3, Opus, AC-3, ALAC, FLAC and WAV, through FFmpeg's libraries (PyAV).

Sources are paths, bytes or binary file objects; destinations are paths (written atomically) or binary
file objects. The first audio stream of a file is read, and decoded exactly as the ``ffmpeg`` command
line decodes it by default: encoder priming that the file declares (MP3's LAME delay, AAC's edit list,
Opus pre-skip) is dropped, so sample 0 is the first sample ``ffmpeg -i FILE -f f32le -`` writes.

Reading from ``frame_offset`` seeks where the container's timestamps place every sample exactly
(MP4/M4A/MOV, Ogg, FLAC, MP3, WAV): to a point at least :data:`PREROLL_SECONDS` before the offset, so the
decoder's state has settled, then decodes and trims to the exact sample. In containers whose timestamps
are coarser than a sample (Matroska/WebM and ASF/WMA count milliseconds) or that have no index (raw
AAC and AC-3 streams), it decodes from the start instead, which is exact but takes time proportional
to the offset. Lossless codecs and MP3, Opus and Vorbis then match a full decode bit for bit; FFmpeg's
AAC decoder draws noise substitution (PNS) from a running random state, so AAC audio after a seek is
sample-aligned but not bit-identical to a full decode.

``AudioInfo.num_frames`` is the duration the container declares (``ffprobe``'s ``duration_ts``, or the
file's duration where the stream has none) in samples; for raw AAC and AC-3 streams it is FFmpeg's
estimate from the bit rate, and 0 when there is no duration at all. Finding the true length would need a
full decode. For lossy codecs the decoded length can differ from it by the codec's priming and padding
(AAC decodes its last frame whole; Ogg Opus counts its pre-skip).

A file is truncated when decoding stops at bad data, or short of the length its header declares
(MP4/MOV, FLAC, WAV, Matroska, ASF; lossy codecs are allowed 4096 frames of priming and padding). MP3,
Ogg and raw streams declare no length of their own, so there only bad data shows truncation.

Example:
    >>> import io, torch
    >>> backend = FfmpegBackend()
    >>> buffer = io.BytesIO()
    >>> backend.save(buffer, torch.zeros(2, 4410), 44100, format="m4a")
    >>> backend.info(buffer.getvalue()).encoding
    'AAC'
    >>> waveform, rate = backend.load(buffer.getvalue(), num_frames=1000)
    >>> waveform.shape, rate
    (torch.Size([2, 1000]), 44100)
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from collections.abc import Iterator
from fractions import Fraction
from typing import IO, Any, ClassVar

import av  # at import: without PyAV this backend fails to load, and the registry names the extra to install
import numpy as np
import torch

from tympan.core.audio import AudioInfo
from tympan.core.backend import Backend, Destination, Source, describe_source, extension_of
from tympan.core.errors import AudioDecodeError, TruncatedAudioWarning, TympanError, UnsupportedFormatError
from tympan.core.files import atomic_write
from tympan.plugins.io.checks import (
    check_chunk,
    check_destination,
    check_frames,
    check_sample_rate,
    check_samples,
    frames_last,
    is_empty,
    require_file,
)
from tympan.plugins.io.decoding import read_header
from tympan.plugins.io.ffmpeg_codecs import (
    Writer,
    choose_writer,
    encoder_options,
    encoding_of_codec,
    is_lossless,
    readable_extension,
    sniff_container,
    writable_format,
)
from tympan.plugins.io.formats import NO_FORMAT_HINT

__all__ = ["PREROLL_SECONDS", "FfmpegBackend"]

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
# Waveform dtypes -> the interleaved frame format they are handed to the encoder in.
_FRAME_FORMATS = {torch.uint8: "u8", torch.int16: "s16", torch.int32: "s32", torch.float32: "flt", torch.float64: "dbl"}
# Encodings whose samples are integers: float input outside [-1, 1] cannot be represented.
_INTEGER_ENCODINGS = frozenset({"PCM_S", "PCM_U", "ULAW", "ALAW", "FLAC", "ALAC"})
# Frames handed to the encoder at a time.
_ENCODE_BLOCK = 1 << 16


@contextlib.contextmanager
def _av_errors(where: str) -> Iterator[None]:
    """Turn FFmpeg's errors into ``AudioDecodeError`` naming ``where``."""
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


class _Decoding:
    """The first audio stream of a source, open for decoding; positions count samples from the first one a
    full decode yields."""

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
            self.close()
            kind = self.container.format.name.split(",")[0]
            raise UnsupportedFormatError(where, f"this {kind} file has no audio stream")
        context = self.stream.codec_context
        self.rate: int = context.sample_rate
        self.channels: int = context.channels
        self.codec: str = context.name
        self.reached = 0  # one past the last sample decoded
        self.exhausted = False  # whether decoding reached the end of the stream (or an error in it)
        self.failure: str | None = None  # why decoding stopped before the end of the data

    def _open(self) -> None:
        target: Any = os.fspath(self._source) if self._handle is None else self._handle  # type: ignore[arg-type]
        if self._handle is not None:
            self._handle.seek(self._start)
        with _av_errors(self.where):
            self.container = av.open(target, "r", format=self._format, metadata_errors="ignore")

    def close(self) -> None:
        """Close the container; a file object's position is put back where it was."""
        if self.container is not None:
            self.container.close()
        if self._handle is not None:
            with contextlib.suppress(OSError, ValueError):
                self._handle.seek(self._start)

    def __enter__(self) -> _Decoding:
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


def _native_dtype(decoding: _Decoding) -> np.dtype:
    return np.dtype(_DTYPES.get(decoding.stream.codec_context.format.name.rstrip("p"), np.float32))


class FfmpegBackend(Backend):
    """The fallback backend for everything FFmpeg decodes, on PyAV; see the module docstring.

    ``normalize=False`` keeps integer PCM (in WAV, MOV, ...) in its own dtype (uint8, int16, int32) and
    64-bit float as float64; every other codec, lossy or lossless, decodes to float32 in [-1, 1].

    Example:
        >>> backend = FfmpegBackend()
        >>> backend.can_read("talk.m4a"), backend.can_read("clip.webm"), backend.can_write("mp3", "MP3")
        (True, True, True)
    """

    name: ClassVar[str] = "io:ffmpeg"
    priority: ClassVar[int] = 20

    def can_read(self, source: Source, format: str | None = None) -> bool:
        """Whether ``format`` or the extension is a container FFmpeg reads, else whether the first bytes
        announce one (a file object's position is restored).

        Example:
            >>> FfmpegBackend().can_read("a.wma"), FfmpegBackend().can_read(b"\\x1a\\x45\\xdf\\xa3...")
            (True, True)
        """
        if readable_extension(format) or readable_extension(extension_of(source)):
            return True
        header = read_header(source)
        return header is not None and sniff_container(header) is not None

    def can_write(self, format: str, encoding: str | None = None) -> bool:
        """Whether this backend writes ``format`` (with ``encoding`` when given).

        Example:
            >>> FfmpegBackend().can_write("m4a", "ALAC"), FfmpegBackend().can_write("m4a", "MP3")
            (True, False)
        """
        if writable_format(format) is None:
            return False
        try:
            choose_writer(format, "float32", encoding, None)
        except UnsupportedFormatError:
            return False
        return True

    def info(self, source: Source, format: str | None = None) -> AudioInfo:
        """Metadata from the header alone; a file object's position is restored.

        Example:
            >>> import io, torch
            >>> buffer = io.BytesIO()
            >>> FfmpegBackend().save(buffer, torch.zeros(1, 800), 8000, format="wav", encoding="PCM_S")
            >>> FfmpegBackend().info(buffer.getvalue())  # doctest: +NORMALIZE_WHITESPACE
            AudioInfo(sample_rate=8000, num_frames=800, num_channels=1, bits_per_sample=16,
                      encoding='PCM_S', format='wav')
        """
        with _Decoding(source, describe_source(source), format) as decoding:
            return decoding.info()

    def load(
        self,
        source: Source,
        frame_offset: int = 0,
        num_frames: int = -1,
        normalize: bool = True,
        channels_first: bool = True,
        format: str | None = None,
        *,
        strict: bool = True,
    ) -> tuple[torch.Tensor, int]:
        """Seek to ``frame_offset`` and decode ``num_frames`` frames (-1: all); empty past the end.

        A file whose header declares more audio than it holds raises
        :class:`~tympan.core.errors.AudioDecodeError`; with ``strict=False`` what is there is returned with
        a :class:`~tympan.core.errors.TruncatedAudioWarning`.

        Example:
            >>> import io, torch
            >>> buffer = io.BytesIO()
            >>> FfmpegBackend().save(buffer, torch.full((1, 100), 0.25), 8000, format="wav", bits_per_sample=16)
            >>> waveform, rate = FfmpegBackend().load(buffer.getvalue(), frame_offset=90, normalize=False)
            >>> waveform.dtype, waveform.shape, int(waveform[0, 0])
            (torch.int16, torch.Size([1, 10]), 8192)
        """
        where = describe_source(source)
        check_frames(frame_offset, num_frames, f"load of {where}")
        stop = None if num_frames == -1 else frame_offset + num_frames
        with _Decoding(source, where, format) as decoding:
            blocks = [np.empty((decoding.channels, 0), _native_dtype(decoding))]
            if stop is None or stop > frame_offset:
                blocks += list(decoding.blocks(frame_offset, stop))
                decoding.check_complete(frame_offset, stop, strict)
            native = blocks[-1] if len(blocks) == 2 else np.concatenate(blocks, axis=1)
            return decoding.output(native, normalize, channels_first), decoding.rate

    def stream(
        self,
        source: Source,
        frames_per_chunk: int,
        frame_offset: int = 0,
        num_frames: int = -1,
        normalize: bool = True,
        channels_first: bool = True,
        format: str | None = None,
        *,
        strict: bool = True,
    ) -> Iterator[torch.Tensor]:
        """Chunks of ``frames_per_chunk`` frames (the last may be shorter), holding one chunk and one codec
        frame at a time; the source is opened (and checked) at once and closed when the iterator ends.

        Example:
            >>> import io, torch
            >>> buffer = io.BytesIO()
            >>> FfmpegBackend().save(buffer, torch.zeros(1, 250), 8000, format="flac")
            >>> [c.shape[-1] for c in FfmpegBackend().stream(buffer.getvalue(), 100, frame_offset=20)]
            [100, 100, 30]
        """
        where = describe_source(source)
        check_chunk(frames_per_chunk, f"stream of {where}")
        check_frames(frame_offset, num_frames, f"stream of {where}")
        stop = None if num_frames == -1 else frame_offset + num_frames
        decoding = _Decoding(source, where, format)
        return _chunks(decoding, frames_per_chunk, frame_offset, stop, normalize, channels_first, strict)

    def save(
        self,
        destination: Destination,
        waveform: torch.Tensor,
        sample_rate: int,
        channels_first: bool = True,
        format: str | None = None,
        encoding: str | None = None,
        bits_per_sample: int | None = None,
        compression: float | None = None,
    ) -> None:
        """Encode ``waveform``; every check runs before the destination is touched, and a path is replaced
        atomically.

        ``format`` (default: the extension) is one of m4a, mp4, aac, mp3, opus, ogg, webm, mka, flac, wav
        and ac3; ``encoding`` one it holds (AAC, ALAC, MP3, OPUS, AC3, FLAC, PCM_S, PCM_U, PCM_F, ULAW,
        ALAW; default: the format's first, a WAV keeping the waveform's dtype). ``bits_per_sample`` is 16
        or 24 for FLAC and ALAC, a PCM size for WAV, and unset for lossy codecs. ``compression`` is the
        bit rate in kbit/s for AAC, MP3, Opus and AC-3 and the level 0-12 for FLAC. A sample rate the
        encoder does not take (Opus: 8, 12, 16, 24 or 48 kHz) raises
        :class:`~tympan.core.errors.UnsupportedFormatError`.

        Example:
            >>> import io, torch
            >>> buffer = io.BytesIO()
            >>> FfmpegBackend().save(buffer, torch.zeros(2, 960), 48000, format="opus", compression=64)
            >>> FfmpegBackend().info(buffer.getvalue()).encoding
            'OPUS'
        """
        where = describe_source(destination)
        context = f"save to {where}"
        check_sample_rate(sample_rate, context)
        frames = frames_last(waveform, channels_first, context)
        wanted = format or extension_of(destination)
        if wanted is None:
            raise UnsupportedFormatError(where, NO_FORMAT_HINT)
        dtype = str(frames.dtype).removeprefix("torch.")
        writer = choose_writer(wanted, dtype, encoding, bits_per_sample, where)
        bit_rate, options = encoder_options(writer.encoding, compression, where)
        rates = av.Codec(writer.codec, "w").audio_rates
        if rates and sample_rate not in rates:
            listed = ", ".join(str(rate) for rate in sorted(rates))
            raise UnsupportedFormatError(
                where, f"{writer.encoding} is not encoded at {sample_rate} Hz; it takes {listed}"
            )
        check_samples(frames, writer.encoding != "PCM_F", writer.encoding in _INTEGER_ENCODINGS, context)
        if not isinstance(destination, (str, os.PathLike)):
            _encode(destination, frames, sample_rate, writer, bit_rate, options, where)
            return
        path = os.fspath(destination)
        check_destination(path)
        try:
            with atomic_write(path) as handle:
                _encode(handle, frames, sample_rate, writer, bit_rate, options, where)
        except OSError as exc:
            if exc.errno is None:
                raise
            raise OSError(exc.errno, f"cannot write audio file: {exc.strerror}", path) from exc


def _chunks(
    decoding: _Decoding,
    frames_per_chunk: int,
    start: int,
    stop: int | None,
    normalize: bool,
    channels_first: bool,
    strict: bool,
) -> Iterator[torch.Tensor]:
    """Regroup decoded blocks into chunks of ``frames_per_chunk`` frames; closes ``decoding`` at the end."""
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


def _layout(channels: int) -> Any:
    """FFmpeg's default layout for ``channels`` (mono, stereo, 5.1, ...), else one of unspecified order."""
    try:
        return av.AudioLayout(f"{channels}c")
    except ValueError:
        return av.AudioLayout(f"{channels} channels")


def _encode(
    target: IO[bytes],
    frames: torch.Tensor,
    sample_rate: int,
    writer: Writer,
    bit_rate: int | None,
    options: dict[str, str],
    where: str,
) -> None:
    """Encode ``frames`` (time, channels) with FFmpeg; its refusals become ``UnsupportedFormatError``."""
    count, channels = frames.shape
    frame_format = _FRAME_FORMATS[frames.dtype]
    interleaved = np.ascontiguousarray(frames.numpy()).reshape(1, -1)
    detail = (
        f"FFmpeg cannot write {writer.encoding} ({writer.codec}) in {writer.muxer} "
        f"at {sample_rate} Hz with {channels} channel(s)"
    )
    layout = _layout(channels)
    try:
        with av.open(target, "w", format=writer.muxer) as container:
            stream = container.add_stream(writer.codec, rate=sample_rate, layout=layout, options=options)
            if bit_rate is not None:
                stream.codec_context.bit_rate = bit_rate
            if writer.sample_format is not None:
                stream.codec_context.format = writer.sample_format
            container.start_encoding()  # the header, even when no samples follow
            for begin in range(0, count, _ENCODE_BLOCK):
                block = interleaved[:, begin * channels : (begin + _ENCODE_BLOCK) * channels]
                frame = av.AudioFrame.from_ndarray(block, format=frame_format, layout=layout)
                frame.sample_rate = sample_rate
                frame.pts = begin
                frame.time_base = Fraction(1, sample_rate)
                container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    except (av.error.FFmpegError, ValueError) as exc:
        raise UnsupportedFormatError(where, f"{detail}: {exc}") from exc
