"""``io:soundfile``: reading and writing through libsndfile (WAV, FLAC, Ogg Vorbis/Opus, MP3, AIFF, ...).

Sources are paths, bytes or binary file objects; destinations are paths (written atomically) or binary
file objects. Semantics follow torchaudio (before 2.9): float32 in [-1, 1] by default, the native integer
dtype of integer WAV with ``normalize=False``, ``(channels, time)`` unless ``channels_first=False``.

Example:
    >>> import pathlib, tempfile, torch
    >>> backend = SoundfileBackend()
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tone.flac"
    >>> backend.save(path, torch.zeros(2, 1600), 16000, bits_per_sample=24)
    >>> backend.info(path)
    AudioInfo(sample_rate=16000, num_frames=1600, num_channels=2, bits_per_sample=24, encoding='FLAC', format='flac')
    >>> waveform, rate = backend.load(path, frame_offset=100, num_frames=50)
    >>> waveform.shape, rate
    (torch.Size([2, 50]), 16000)
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from typing import IO, ClassVar

import numpy as np
import soundfile
import torch

from tympan.core.audio import AudioInfo
from tympan.core.backend import Backend, Destination, Source, describe_source, extension_of
from tympan.core.errors import UnsupportedFormatError
from tympan.core.files import atomic_write
from tympan.plugins.io import decoding
from tympan.plugins.io.checks import (
    check_chunk,
    check_destination,
    check_frames,
    check_sample_rate,
    check_samples,
    frames_last,
    to_array,
)
from tympan.plugins.io.closing import ClosingIterator
from tympan.plugins.io.formats import (
    NO_FORMAT_HINT,
    Container,
    choose_subtype,
    compression_level,
    container_of,
    encoding_of,
    sniff,
    writable,
)
from tympan.plugins.io.sources import write_all

__all__ = ["SoundfileBackend"]

# Encodings whose samples are integers: float input outside [-1, 1] cannot be represented.
_INTEGER_ENCODINGS = frozenset({"PCM_S", "PCM_U", "ULAW", "ALAW", "FLAC"})
_FLOAT_ENCODING = "PCM_F"


class SoundfileBackend(Backend):
    """The default backend, on the ``soundfile`` package (libsndfile).

    Reading probes a path's extension (or, when it has none it knows, the file's first bytes) and the
    header of bytes and file objects; libsndfile then decodes by the header, whatever the name says.

    Example:
        >>> backend = SoundfileBackend()
        >>> backend.can_read("speech.wav"), backend.can_read(b"OggS..."), backend.can_write("flac", "VORBIS")
        (True, True, False)
    """

    name: ClassVar[str] = "io:soundfile"
    priority: ClassVar[int] = 50

    def can_read(self, source: Source, format: str | None = None) -> bool:
        """Whether ``format`` or the path's extension is a container libsndfile reads, else whether the
        first bytes announce one (a file object's position is restored).

        Example:
            >>> SoundfileBackend().can_read("a.m4a"), SoundfileBackend().can_read("a.bin", "flac")
            (False, True)
        """
        if container_of(format) is not None or container_of(extension_of(source)) is not None:
            return True
        header = decoding.read_header(source)
        return header is not None and sniff(header) is not None

    def can_write(self, format: str, encoding: str | None = None) -> bool:
        """Whether libsndfile writes ``format`` (with ``encoding`` when given).

        Example:
            >>> SoundfileBackend().can_write("wav", "ULAW"), SoundfileBackend().can_write("ogg", "PCM_S")
            (True, False)
        """
        return writable(format, encoding)

    def info(self, source: Source, format: str | None = None) -> AudioInfo:
        """Metadata from the header alone; a file object's position is restored.

        Example:
            >>> import io, numpy as np, soundfile
            >>> buffer = io.BytesIO()
            >>> soundfile.write(buffer, np.zeros((80, 6), "float32"), 8000, format="WAV", subtype="ULAW")
            >>> SoundfileBackend().info(buffer.getvalue()).encoding
            'ULAW'
        """
        with decoding.open_source(source, restore_position=True) as audio:
            return audio.info()

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
        """Seek to ``frame_offset`` and decode ``num_frames`` frames (-1: all); see the module docstring.

        A file holding fewer frames than its header declares raises
        :class:`~tympan.core.errors.AudioDecodeError` naming both counts; with ``strict=False`` the frames
        that decode are returned, with a :class:`~tympan.core.errors.TruncatedAudioWarning`.

        Example:
            >>> import io, numpy as np, soundfile
            >>> buffer = io.BytesIO()
            >>> soundfile.write(buffer, np.zeros(80, "int16"), 8000, format="WAV")
            >>> waveform, rate = SoundfileBackend().load(buffer.getvalue(), normalize=False)
            >>> waveform.dtype, waveform.shape, rate
            (torch.int16, torch.Size([1, 80]), 8000)
        """
        where = describe_source(source)
        check_frames(frame_offset, num_frames, f"load of {where}")
        with decoding.open_source(source, strict=strict) as audio:
            return audio.read(frame_offset, num_frames, normalize, channels_first), audio.sound.samplerate

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
        """Chunks of at most ``frames_per_chunk`` frames; the source is opened (and checked) at once, and
        closed when the iterator is exhausted or closed. ``strict`` treats a truncated file as :meth:`load`
        does; with ``strict=False`` the stream ends where the audio does.

        Example:
            >>> import io, numpy as np, soundfile
            >>> buffer = io.BytesIO()
            >>> soundfile.write(buffer, np.zeros(250, "float32"), 8000, format="FLAC")
            >>> [c.shape[-1] for c in SoundfileBackend().stream(buffer.getvalue(), 100, frame_offset=20)]
            [100, 100, 30]
        """
        where = describe_source(source)
        check_chunk(frames_per_chunk, f"stream of {where}")
        check_frames(frame_offset, num_frames, f"stream of {where}")
        resources = contextlib.ExitStack()
        with resources:
            audio = resources.enter_context(decoding.open_source(source, strict=strict))
            chunks = audio.chunks(frames_per_chunk, frame_offset, num_frames, normalize, channels_first)
            return ClosingIterator(chunks, resources.pop_all().close)

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
        atomically (a failure leaves the old file as it was and no temporary file).

        ``format`` defaults to the destination's extension. ``encoding`` / ``bits_per_sample`` pick the
        sample format (torchaudio's names: PCM_S, PCM_U, PCM_F, ULAW, ALAW, VORBIS, OPUS, MP3); without
        them a WAV keeps the waveform's dtype and FLAC is 16-bit. ``compression`` is FLAC's level (0-8) or
        Ogg's quality (-1 to 10). Integer encodings refuse NaN/Inf and float samples outside [-1, 1].

        Example:
            >>> import io, torch
            >>> buffer = io.BytesIO()
            >>> SoundfileBackend().save(buffer, torch.zeros(1, 80), 8000, format="wav", encoding="ALAW")
            >>> SoundfileBackend().info(buffer.getvalue()).encoding
            'ALAW'
        """
        where = describe_source(destination)
        context = f"save to {where}"
        check_sample_rate(sample_rate, context)
        frames = frames_last(waveform, channels_first, context)
        container = _container_for(destination, format, where)
        dtype = str(frames.dtype).removeprefix("torch.")
        subtype = choose_subtype(container, dtype, encoding, bits_per_sample, where)
        level = compression_level(container.major, compression, where)
        sample_encoding = encoding_of(container.major, subtype)[0]
        check_samples(frames, sample_encoding != _FLOAT_ENCODING, sample_encoding in _INTEGER_ENCODINGS, context)
        data = to_array(frames)
        if not isinstance(destination, (str, os.PathLike)):  # encoded here, then handed over whole
            buffer = io.BytesIO()
            _encode(buffer, data, sample_rate, container, subtype, level, where)
            write_all(destination, buffer.getvalue(), context)
            return
        path = os.fspath(destination)
        check_destination(path)
        try:
            with atomic_write(path) as handle:
                _encode(handle, data, sample_rate, container, subtype, level, where)
        except OSError as exc:
            if exc.errno is None:
                raise
            raise OSError(exc.errno, f"cannot write audio file: {exc.strerror}", path) from exc


def _container_for(destination: Destination, format: str | None, where: str) -> Container:
    wanted = format or extension_of(destination)
    if wanted is None:
        raise UnsupportedFormatError(where, NO_FORMAT_HINT)
    container = container_of(wanted)
    if container is None:
        raise UnsupportedFormatError(where, f"libsndfile does not write {wanted!r}")
    return container


def _encode(
    target: IO[bytes],
    data: np.ndarray,
    sample_rate: int,
    container: Container,
    subtype: str,
    level: float | None,
    where: str,
) -> None:
    """Write ``data`` (time, channels) with libsndfile; its refusals become ``UnsupportedFormatError``."""
    try:
        with soundfile.SoundFile(
            target, "w", sample_rate, data.shape[1], subtype, format=container.major, compression_level=level
        ) as sound:
            sound.write(data)
    except (soundfile.SoundFileError, RuntimeError, TypeError) as exc:
        reason = getattr(exc, "error_string", None) or str(exc)
        detail = (
            f"libsndfile cannot write {container.major} {subtype} at {sample_rate} Hz with {data.shape[1]} channel(s)"
        )
        raise UnsupportedFormatError(where, f"{detail}: {reason}") from exc
