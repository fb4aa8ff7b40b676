"""``io:ffmpeg``: reading what libsndfile cannot (AAC/M4A, WMA, AC-3, ALAC, the audio of video files) and
writing AAC, MP3, Opus, AC-3, ALAC, FLAC and WAV, through FFmpeg's libraries (PyAV).

Sources are paths, bytes or binary file objects; destinations are paths (written atomically) or binary
file objects. The first audio stream of a file is read, and decoded exactly as the ``ffmpeg`` command
line decodes it by default: encoder priming that the file declares (MP3's LAME delay, AAC's edit list,
Opus pre-skip) is dropped, so sample 0 is the first sample ``ffmpeg -i FILE -f f32le -`` writes.

Reading from ``frame_offset`` seeks where the container's timestamps place every sample exactly
(MP4/M4A/MOV, Ogg, FLAC, MP3, WAV) and decodes from the start elsewhere; see
:mod:`tympan.plugins.io.ffmpeg_decoding`, which also says how truncation is found.

``AudioInfo.num_frames`` is the duration the container declares (``ffprobe``'s ``duration_ts``, or the
file's duration where the stream has none) in samples; for raw AAC and AC-3 streams it is FFmpeg's
estimate from the bit rate, and 0 when there is no duration at all. Finding the true length would need a
full decode. For lossy codecs the decoded length can differ from it by the codec's priming and padding
(AAC decodes its last frame whole; Ogg Opus counts its pre-skip).

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

import io
import os
from collections.abc import Iterator
from typing import ClassVar

import av  # at import: without PyAV this backend fails to load, and the registry names the extra to install
import numpy as np
import torch

from tympan.core.audio import AudioInfo
from tympan.core.backend import Backend, Destination, Source, describe_source, extension_of
from tympan.core.errors import UnsupportedFormatError
from tympan.core.files import atomic_write
from tympan.plugins.io.checks import (
    check_chunk,
    check_destination,
    check_frames,
    check_sample_rate,
    check_samples,
    frames_last,
)
from tympan.plugins.io.closing import ClosingIterator
from tympan.plugins.io.decoding import read_header
from tympan.plugins.io.ffmpeg_codecs import (
    choose_writer,
    encoder_options,
    readable_extension,
    sniff_container,
    writable_format,
)
from tympan.plugins.io.ffmpeg_decoding import Decoding, chunks, native_dtype
from tympan.plugins.io.ffmpeg_encoding import encode
from tympan.plugins.io.formats import NO_FORMAT_HINT
from tympan.plugins.io.sources import write_all

__all__ = ["FfmpegBackend"]

# Encodings whose samples are integers: float input outside [-1, 1] cannot be represented.
_INTEGER_ENCODINGS = frozenset({"PCM_S", "PCM_U", "ULAW", "ALAW", "FLAC", "ALAC"})


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
        with Decoding(source, describe_source(source), format) as decoding:
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
        with Decoding(source, where, format) as decoding:
            blocks = [np.empty((decoding.channels, 0), native_dtype(decoding))]
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
        decoding = Decoding(source, where, format)
        pieces = chunks(decoding, frames_per_chunk, frame_offset, stop, normalize, channels_first, strict)
        return ClosingIterator(pieces, decoding.close)

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
        if not isinstance(destination, (str, os.PathLike)):  # encoded here, then handed over whole
            buffer = io.BytesIO()
            encode(buffer, frames, sample_rate, writer, bit_rate, options, where)
            write_all(destination, buffer.getvalue(), context)
            return
        path = os.fspath(destination)
        check_destination(path)
        try:
            with atomic_write(path) as handle:
                encode(handle, frames, sample_rate, writer, bit_rate, options, where)
        except OSError as exc:
            if exc.errno is None:
                raise
            raise OSError(exc.errno, f"cannot write audio file: {exc.strerror}", path) from exc
