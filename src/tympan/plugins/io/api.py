"""``tympan.load``, ``save``, ``info`` and ``stream``: audio IO dispatched to the installed backends.

An explicit ``backend="namespace:name"`` wins; otherwise the ``tympan_select_backend`` hook picks one for
the source (by default the highest-priority backend that accepts it). Arguments are checked before any
backend is asked. Paths are handed to the backend as they are (a backend may read URLs); when no backend
fits, a missing file raises ``FileNotFoundError`` and anything else
:class:`~tympan.core.errors.UnsupportedFormatError`, naming the file and what would read it.

Example:
    >>> import pathlib, tempfile, torch
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "noise.wav"
    >>> save(path, torch.rand(2, 8000) - 0.5, 16000, bits_per_sample=16)
    >>> info(path).num_frames
    8000
    >>> waveform, sample_rate = load(path, frame_offset=4000)
    >>> waveform.shape, sample_rate
    (torch.Size([2, 4000]), 16000)
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from tympan import registry
from tympan.core.audio import AudioInfo
from tympan.core.backend import Backend, Destination, Source, describe_source, extension_of
from tympan.core.errors import AudioDecodeError, UnsupportedFormatError
from tympan.plugins.io.checks import check_chunk, check_frames, is_empty, require_file
from tympan.plugins.io.formats import NO_FORMAT_HINT
from tympan.registry import hooks

__all__ = ["info", "load", "save", "stream"]

_LISTING = "`tympan list backend` shows the installed backends"


def _backend_for(
    source: Source | Destination, format: str | None, mode: str, backend: str | None, encoding: str | None = None
) -> Backend:
    """The backend named by ``backend``, else the one the hooks select for ``source`` in ``mode``."""
    if backend is not None:
        return registry.backend(backend)
    name = hooks.select_backend(source, format, mode, encoding)
    if name is None and encoding is not None:  # the format's writer then says why it cannot hold this encoding
        name = hooks.select_backend(source, format, mode, None)
    if name is not None:
        return registry.backend(name)
    where = describe_source(source)
    wanted = format or extension_of(source)
    if mode == "w":
        if wanted is None:
            raise UnsupportedFormatError(where, NO_FORMAT_HINT)
        raise UnsupportedFormatError(where, f"no installed backend writes {wanted!r}; {_LISTING}")
    require_file(source)
    if is_empty(source):
        raise AudioDecodeError(where, "the file is empty")
    what = f"{wanted!r} files" if wanted else "this data (its header matches no known format)"
    hint = "install a backend plugin that does (an FFmpeg-based one reads most formats)"
    raise UnsupportedFormatError(where, f"no installed backend reads {what}; {hint}; {_LISTING}")


def info(src: Source, format: str | None = None, backend: str | None = None) -> AudioInfo:
    """Sample rate, length, channels, sample size, encoding and container of ``src``, from its header.

    ``src`` is a path, bytes or a binary file object (its position is restored).

    Example:
        >>> import io, torch
        >>> buffer = io.BytesIO()
        >>> save(buffer, torch.zeros(1, 800), 8000, format="wav", encoding="ULAW")
        >>> info(buffer.getvalue())
        AudioInfo(sample_rate=8000, num_frames=800, num_channels=1, bits_per_sample=8, encoding='ULAW', format='wav')
    """
    return _backend_for(src, format, "r", backend).info(src, format)


def load(
    src: Source,
    frame_offset: int = 0,
    num_frames: int = -1,
    normalize: bool = True,
    channels_first: bool = True,
    format: str | None = None,
    backend: str | None = None,
) -> tuple[torch.Tensor, int]:
    """Decode ``src`` into ``(waveform, sample_rate)``, seeking to ``frame_offset`` first.

    ``num_frames=-1`` reads to the end. ``normalize=True`` gives float32 in [-1, 1]; ``normalize=False``
    keeps integer WAV samples in their own dtype (uint8, int16, int32). The waveform is
    ``(channels, time)``, or ``(time, channels)`` with ``channels_first=False``.

    Example:
        >>> import io, torch
        >>> buffer = io.BytesIO()
        >>> save(buffer, torch.full((2, 100), 0.5), 8000, format="wav", bits_per_sample=16)
        >>> waveform, rate = load(buffer.getvalue(), num_frames=10, normalize=False, channels_first=False)
        >>> waveform.shape, waveform.dtype, int(waveform[0, 0]), rate
        (torch.Size([10, 2]), torch.int16, 16384, 8000)
    """
    check_frames(frame_offset, num_frames, f"load of {describe_source(src)}")
    chosen = _backend_for(src, format, "r", backend)
    return chosen.load(src, frame_offset, num_frames, normalize, channels_first, format)


def save(
    dst: Destination,
    waveform: torch.Tensor,
    sample_rate: int,
    channels_first: bool = True,
    format: str | None = None,
    encoding: str | None = None,
    bits_per_sample: int | None = None,
    compression: float | None = None,
    backend: str | None = None,
) -> None:
    """Encode ``waveform`` to ``dst`` (a path, replaced atomically, or a binary file object).

    ``format`` defaults to the extension; ``encoding`` and ``bits_per_sample`` use torchaudio's names
    (``PCM_S``, ``PCM_U``, ``PCM_F``, ``ULAW``, ``ALAW``, ``VORBIS``, ``OPUS``, ``MP3``); ``compression``
    is FLAC's level (0-8) or Ogg's quality (-1 to 10).

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "quiet.flac"
        >>> save(path, torch.zeros(1, 400), 8000, bits_per_sample=24, compression=8)
        >>> info(path).bits_per_sample
        24
    """
    chosen = _backend_for(dst, format, "w", backend, encoding)
    chosen.save(dst, waveform, sample_rate, channels_first, format, encoding, bits_per_sample, compression)


def stream(
    src: Source,
    frames_per_chunk: int,
    frame_offset: int = 0,
    num_frames: int = -1,
    normalize: bool = True,
    channels_first: bool = True,
    format: str | None = None,
    backend: str | None = None,
) -> Iterator[torch.Tensor]:
    """Consecutive chunks of at most ``frames_per_chunk`` frames, holding one chunk in memory at a time.

    The chunks concatenate (along time) to what :func:`load` returns for the same arguments.

    Example:
        >>> import io, torch
        >>> buffer = io.BytesIO()
        >>> save(buffer, torch.zeros(1, 1000), 8000, format="flac")
        >>> [chunk.shape[-1] for chunk in stream(buffer.getvalue(), 400)]
        [400, 400, 200]
    """
    context = f"stream of {describe_source(src)}"
    check_chunk(frames_per_chunk, context)
    check_frames(frame_offset, num_frames, context)
    chosen = _backend_for(src, format, "r", backend)
    return chosen.stream(src, frames_per_chunk, frame_offset, num_frames, normalize, channels_first, format)
