"""``tympan.load``, ``save``, ``info`` and ``stream``: audio IO dispatched to the installed backends.

An explicit ``backend="namespace:name"`` wins; otherwise the ``tympan_select_backend`` hook picks one for
the source (by default the highest-priority backend that accepts it). Arguments are checked before any
backend is asked. Paths are handed to the backend as they are (a backend may read URLs); when no backend
fits, a missing file raises ``FileNotFoundError`` and anything else
:class:`~tympan.core.errors.UnsupportedFormatError`, naming the file and what would read it.

The options every backend gets from here, on top of what it decodes: ``channels=`` (pick or average
channels), ``check_finite=`` (refuse NaN and infinities), ``sample_rate=`` (resample on load) and, for
``save``, ``clip=`` (clamp to [-1, 1]). Sources are made readable by every backend first
(:mod:`tympan.plugins.io.sources`: pipes and devices read once, short reads completed, unusable file objects
refused), and a sample rate no audio has (0, or above :data:`~tympan.core.audio.MAX_SAMPLE_RATE`) is an
:class:`~tympan.core.errors.AudioDecodeError` whatever backend reported it.

Example:
    >>> import pathlib, tempfile, torch
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "noise.wav"
    >>> save(path, torch.rand(2, 8000) - 0.5, 16000, bits_per_sample=16)
    >>> info(path).num_frames
    8000
    >>> waveform, sample_rate = load(path, frame_offset=4000, channels="mean", sample_rate=8000)
    >>> waveform.shape, sample_rate
    (torch.Size([1, 2000]), 8000)
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import torch

from tympan import registry
from tympan.core.audio import AudioInfo
from tympan.core.backend import Backend, Destination, Source, describe_source, extension_of
from tympan.core.errors import AudioDecodeError, InvalidParameterError, TympanError, UnsupportedFormatError
from tympan.plugins.io.checks import (
    ChannelSpec,
    check_channel_range,
    check_channels,
    check_chunk,
    check_decoded_rate,
    check_frames,
    check_sample_rate,
    is_empty,
    require_file,
)
from tympan.plugins.io.closing import ClosingIterator
from tympan.plugins.io.formats import NO_FORMAT_HINT
from tympan.plugins.io.sources import check_writable, readable_source
from tympan.registry import hooks

__all__ = ["info", "load", "save", "stream"]

_LISTING = "`tympan list backend` shows the installed backends"
_FFMPEG = "io:ffmpeg"
_FFMPEG_HINT = "pip install 'tympan[ffmpeg]' adds the io:ffmpeg backend, for most other formats (m4a, aac, wma, ...)"


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
        raise UnsupportedFormatError(where, f"no installed backend writes {wanted!r}; {_install_hint()}")
    require_file(source)
    if is_empty(source):
        raise AudioDecodeError(where, "the file is empty")
    what = f"{wanted!r} files" if wanted else "this data (its header matches no known format)"
    raise UnsupportedFormatError(where, f"no installed backend reads {what}; {_install_hint()}")


def _readable(src: Source, format: str | None, backend: str | None, context: str) -> Source:
    """``src`` as every backend reads it; a pipe's first bytes must be something a backend reads."""

    def reads(head: bytes) -> bool:
        if backend is not None:
            return bool(registry.backend(backend).can_read(head, format))
        return hooks.select_backend(head, format, "r") is not None

    return readable_source(src, context, reads)


def _install_hint() -> str:
    """What to install, unless the FFmpeg backend is already there (and refused too)."""
    if any(name == _FFMPEG for name, _ in registry.backends_by_priority()):
        return _LISTING
    return f"{_FFMPEG_HINT}; {_LISTING}"


def info(src: Source, format: str | None = None, backend: str | None = None) -> AudioInfo:
    """Sample rate, length, channels, sample size, encoding and container of ``src``, from its header.

    ``src`` is a path, bytes or a binary file object (its position is restored). A file holding less audio
    than its header declares is an :class:`~tympan.core.errors.AudioDecodeError` (``load(...,
    strict=False)`` reads what it holds).

    Example:
        >>> import io, torch
        >>> buffer = io.BytesIO()
        >>> save(buffer, torch.zeros(1, 800), 8000, format="wav", encoding="ULAW")
        >>> info(buffer.getvalue())
        AudioInfo(sample_rate=8000, num_frames=800, num_channels=1, bits_per_sample=8, encoding='ULAW', format='wav')
    """
    where = describe_source(src)
    src = _readable(src, format, backend, f"info of {where}")
    found = _backend_for(src, format, "r", backend).info(src, format)
    check_decoded_rate(found.sample_rate, where)
    return found


def load(
    src: Source,
    frame_offset: int = 0,
    num_frames: int = -1,
    normalize: bool = True,
    channels_first: bool = True,
    format: str | None = None,
    backend: str | None = None,
    *,
    sample_rate: int | None = None,
    channels: ChannelSpec | None = None,
    strict: bool = True,
    check_finite: bool = False,
) -> tuple[torch.Tensor, int]:
    """Decode ``src`` into ``(waveform, sample_rate)``, seeking to ``frame_offset`` first.

    ``num_frames=-1`` reads to the end. ``normalize=True`` gives float32 in [-1, 1]; ``normalize=False``
    keeps integer WAV samples in their own dtype (uint8, int16, int32). The waveform is
    ``(channels, time)``, or ``(time, channels)`` with ``channels_first=False``.

    Options (keyword-only):

    - ``channels``: an index (one channel), a list of indices (those channels, in that order, repeats
      allowed) or ``"mean"`` (their average, one channel). An index the file lacks is an
      :class:`~tympan.core.errors.InvalidParameterError` naming the file, raised before decoding.
    - ``sample_rate``: resample to this rate with :func:`tympan.functional.resample` (its defaults) and
      return it. ``frame_offset`` and ``num_frames`` still count frames at the file's own rate.
      Resampling gives float samples, so it needs ``normalize=True`` when the file holds integer PCM.
    - ``strict``: a file holding less audio than its header declares raises
      :class:`~tympan.core.errors.AudioDecodeError` with both frame counts; with ``strict=False`` the
      frames that are there are returned and a :class:`~tympan.core.errors.TruncatedAudioWarning` is issued.
    - ``check_finite``: a NaN or infinite sample in the decoded (float) data raises
      :class:`~tympan.core.errors.AudioDecodeError` naming the file and the first such frame.

    Example:
        >>> import io, torch
        >>> buffer = io.BytesIO()
        >>> save(buffer, torch.full((2, 100), 0.5), 8000, format="wav", bits_per_sample=16)
        >>> waveform, rate = load(buffer.getvalue(), num_frames=10, normalize=False, channels_first=False)
        >>> waveform.shape, waveform.dtype, int(waveform[0, 0]), rate
        (torch.Size([10, 2]), torch.int16, 16384, 8000)
        >>> load(buffer.getvalue(), channels=[1], sample_rate=16000)[0].shape
        torch.Size([1, 200])
    """
    where = describe_source(src)
    context = f"load of {where}"
    check_frames(frame_offset, num_frames, context)
    wanted = check_channels(channels, context)
    if sample_rate is not None:
        check_sample_rate(sample_rate, context)
    src = _readable(src, format, backend, context)
    chosen = _backend_for(src, format, "r", backend)
    _precheck_channels(chosen, src, format, wanted, context)
    waveform, rate = chosen.load(src, frame_offset, num_frames, normalize, channels_first, format, **_strict(strict))
    rate = check_decoded_rate(rate, where)
    waveform = _select_channels(waveform, wanted, channels_first, context)
    if check_finite:
        _require_finite(waveform, channels_first, frame_offset, where)
    if sample_rate is not None and sample_rate != rate:
        waveform = _resample(waveform, rate, sample_rate, channels_first, context)
        rate = sample_rate
    return waveform, rate


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
    *,
    clip: bool = False,
) -> None:
    """Encode ``waveform`` to ``dst`` (a path, replaced atomically, or a binary file object).

    ``format`` defaults to the extension; ``encoding`` and ``bits_per_sample`` use torchaudio's names
    (``PCM_S``, ``PCM_U``, ``PCM_F``, ``ULAW``, ``ALAW``, ``VORBIS``, ``OPUS``, ``MP3``); ``compression``
    is FLAC's level (0-8) or Ogg's quality (-1 to 10).

    Float samples outside [-1, 1], NaN or infinite, cannot be held by an integer encoding: saving them is an
    :class:`~tympan.core.errors.InvalidParameterError` raised before ``dst`` is touched. ``clip=True``
    clamps float samples to [-1, 1] first, whatever the encoding (infinities become -1 or 1); NaN, which
    has no clamped value, stays an error.

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "quiet.flac"
        >>> save(path, torch.zeros(1, 400), 8000, bits_per_sample=24, compression=8)
        >>> info(path).bits_per_sample
        24
        >>> save(path, torch.tensor([[0.5, 1.5, -float("inf")]]), 8000, clip=True)
        >>> load(path)[0]
        tensor([[ 0.5000,  1.0000, -1.0000]])
    """
    context = f"save to {describe_source(dst)}"
    check_writable(dst, context)
    check_sample_rate(sample_rate, context)
    if clip:
        waveform = _clipped(waveform, context)
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
    *,
    channels: ChannelSpec | None = None,
    strict: bool = True,
    check_finite: bool = False,
) -> Iterator[torch.Tensor]:
    """Consecutive chunks of at most ``frames_per_chunk`` frames, holding one chunk in memory at a time.

    The chunks concatenate (along time) to what :func:`load` returns for the same arguments.
    ``channels``, ``strict`` and ``check_finite`` work as in :func:`load` (a truncated file read with
    ``strict=False`` ends where its audio does). There is no ``sample_rate``: resample the whole signal
    with :func:`load`, or each chunk with a stateful resampler.

    Example:
        >>> import io, torch
        >>> buffer = io.BytesIO()
        >>> save(buffer, torch.zeros(2, 1000), 8000, format="flac")
        >>> [tuple(chunk.shape) for chunk in stream(buffer.getvalue(), 400, channels="mean")]
        [(1, 400), (1, 400), (1, 200)]
    """
    where = describe_source(src)
    context = f"stream of {where}"
    check_chunk(frames_per_chunk, context)
    check_frames(frame_offset, num_frames, context)
    wanted = check_channels(channels, context)
    src = _readable(src, format, backend, context)
    chosen = _backend_for(src, format, "r", backend)
    _precheck_channels(chosen, src, format, wanted, context)
    chunks = chosen.stream(
        src, frames_per_chunk, frame_offset, num_frames, normalize, channels_first, format, **_strict(strict)
    )
    if wanted is None and not check_finite:
        return chunks
    processed = _processed(chunks, wanted, channels_first, frame_offset if check_finite else None, where, context)
    return ClosingIterator(processed, getattr(chunks, "close", lambda: None))


def _strict(strict: bool) -> dict[str, bool]:
    """``strict`` for the backend; left out at its default, so backends written before it existed still work."""
    return {} if strict else {"strict": False}


def _processed(
    chunks: Iterator[torch.Tensor],
    wanted: tuple[int, ...] | str | None,
    channels_first: bool,
    check_from: int | None,
    where: str,
    context: str,
) -> Iterator[torch.Tensor]:
    """``chunks`` with their channels selected and, from frame ``check_from`` on, checked to be finite."""
    position = check_from
    for chunk in chunks:
        chunk = _select_channels(chunk, wanted, channels_first, context)
        if position is not None:
            _require_finite(chunk, channels_first, position, where)
            position += chunk.shape[-1 if channels_first else 0]
        yield chunk


def _precheck_channels(
    chosen: Backend, src: Source, format: str | None, wanted: tuple[int, ...] | str | None, context: str
) -> None:
    """Check channel indices against the header before decoding, where reading the header twice is free
    (paths and bytes); other sources are checked on the decoded audio."""
    if not isinstance(wanted, tuple) or not isinstance(src, (str, os.PathLike, bytes, bytearray, memoryview)):
        return
    try:
        num_channels = chosen.info(src, format).num_channels
    except TympanError:  # the decoder reports what is wrong with the file, with the caller's options
        return
    check_channel_range(wanted, num_channels, context)


def _select_channels(
    waveform: torch.Tensor, wanted: tuple[int, ...] | str | None, channels_first: bool, context: str
) -> torch.Tensor:
    if wanted is None:
        return waveform
    axis = 0 if channels_first else 1
    if wanted == "mean":
        if waveform.is_floating_point():
            return waveform.mean(dim=axis, keepdim=True)
        average = waveform.to(torch.float64).mean(dim=axis, keepdim=True)
        return average.round().to(waveform.dtype)  # an average of integer samples fits their dtype
    indices = tuple(wanted)
    check_channel_range(indices, waveform.shape[axis], context)
    return waveform.index_select(axis, torch.tensor(indices, dtype=torch.long)).contiguous()


def _require_finite(waveform: torch.Tensor, channels_first: bool, first_frame: int, where: str) -> None:
    """Raise ``AudioDecodeError`` naming the first frame (counted in the file) holding NaN or an infinity."""
    if not waveform.is_floating_point() or waveform.numel() == 0:
        return
    finite = torch.isfinite(waveform).all(dim=0 if channels_first else 1)
    if bool(finite.all()):
        return
    frame = int(torch.argmin(finite.to(torch.uint8)))
    samples = waveform[:, frame] if channels_first else waveform[frame]
    what = "NaN" if bool(torch.isnan(samples).any()) else "an infinite sample"
    raise AudioDecodeError(where, f"frame {first_frame + frame} holds {what} (check_finite=True)")


def _resample(
    waveform: torch.Tensor, orig_freq: int, new_freq: int, channels_first: bool, context: str
) -> torch.Tensor:
    if not waveform.is_floating_point():
        reason = f"resampling {orig_freq} Hz to {new_freq} Hz gives float samples; pass normalize=True"
        raise InvalidParameterError(context, [f"sample_rate: {reason}"])
    from tympan.plugins.dsp.functional import HIGH_QUALITY_RESAMPLING, resample

    if channels_first:
        return resample(waveform, orig_freq, new_freq, **HIGH_QUALITY_RESAMPLING)
    return resample(waveform.T, orig_freq, new_freq, **HIGH_QUALITY_RESAMPLING).T.contiguous()


def _clipped(waveform: torch.Tensor, context: str) -> torch.Tensor:
    if not isinstance(waveform, torch.Tensor) or not waveform.is_floating_point() or waveform.is_meta:
        return waveform
    if bool(torch.isnan(waveform).any()):
        reason = "contains NaN samples, which clip=True cannot clamp"
        raise InvalidParameterError(context, [f"waveform: {reason}"])
    return waveform.clamp(-1.0, 1.0)
