"""Argument checks shared by the IO functions and the soundfile backend; each error names the file.

Bad values raise :class:`~tympan.core.errors.InvalidParameterError` (a ``ValueError``) naming the
parameter and the file, before any file is opened or written.

Example:
    >>> check_frames(0, -1, "load of a.wav")
    >>> check_frames(-5, -1, "load of a.wav")
    Traceback (most recent call last):
    ...
    tympan.core.errors.InvalidParameterError: invalid parameters for load of a.wav:
      frame_offset: must be >= 0, got -5
"""

from __future__ import annotations

import errno
import operator
import os
from collections.abc import Sequence
from typing import Literal, Union

import numpy as np
import torch

from tympan.core.audio import MAX_SAMPLE_RATE
from tympan.core.errors import AudioDecodeError, InvalidParameterError
from tympan.core.files import writable_destination

__all__ = [
    "ChannelSpec",
    "check_channel_range",
    "check_channels",
    "check_destination",
    "check_chunk",
    "check_decoded_rate",
    "check_frames",
    "check_samples",
    "check_sample_rate",
    "frames_last",
    "is_empty",
    "require_file",
    "to_array",
]

#: What ``load(channels=...)`` takes: one index, a list of indices (kept in that order), or ``"mean"``.
ChannelSpec = Union[int, Sequence[int], Literal["mean"]]

# The largest frame count or offset a file can have (a signed 64-bit integer).
_MAX_FRAMES = 2**63 - 1
# Tensor dtypes libsndfile writes as they are (uint8 is widened to int16 on the way, see to_array).
_WRITABLE_DTYPES = (torch.float32, torch.float64, torch.int32, torch.int16, torch.uint8)


def require_file(source: object) -> None:
    """For a path: raise ``FileNotFoundError`` / ``IsADirectoryError`` naming it unless it is a file.

    Example:
        >>> require_file(b"bytes are not paths")
        >>> require_file("no/such/clip.wav")
        Traceback (most recent call last):
        ...
        FileNotFoundError: [Errno 2] no such audio file: 'no/such/clip.wav'
    """
    if not isinstance(source, (str, os.PathLike)) or os.path.isfile(source):
        return
    path = os.fspath(source)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "a directory, not an audio file", path)
    raise FileNotFoundError(errno.ENOENT, "no such audio file", path)


def is_empty(source: object) -> bool:
    """Whether ``source`` is an existing empty file or empty bytes (file objects are not probed).

    Example:
        >>> is_empty(b""), is_empty(b"RIFF")
        (True, False)
    """
    if isinstance(source, (str, os.PathLike)):
        return os.path.isfile(source) and os.path.getsize(source) == 0
    return isinstance(source, (bytes, bytearray, memoryview)) and len(source) == 0


def _invalid(context: str, parameter: str, problem: str) -> InvalidParameterError:
    return InvalidParameterError(context, [f"{parameter}: {problem}"])


def check_frames(frame_offset: int, num_frames: int, context: str) -> None:
    """``frame_offset`` >= 0 and ``num_frames`` >= -1 (-1 means to the end).

    Example:
        >>> check_frames(10, -2, "load of a.wav")
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for load of a.wav:
          num_frames: must be >= 0, or -1 for all, got -2
    """
    for name, value in (("frame_offset", frame_offset), ("num_frames", num_frames)):
        try:
            operator.index(value)
        except TypeError:
            raise _invalid(context, name, f"must be an integer, got {value!r:.60}") from None
        if isinstance(value, bool):
            raise _invalid(context, name, f"must be an integer, not a bool ({value})")
        if value > _MAX_FRAMES:
            raise _invalid(context, name, f"must be at most 2**63 - 1, got {value}")
    if frame_offset < 0:
        raise _invalid(context, "frame_offset", f"must be >= 0, got {frame_offset}")
    if num_frames < -1:
        raise _invalid(context, "num_frames", f"must be >= 0, or -1 for all, got {num_frames}")


def check_chunk(frames_per_chunk: int, context: str) -> None:
    """``frames_per_chunk`` > 0.

    Example:
        >>> check_chunk(0, "stream of a.wav")
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for stream of a.wav:
          frames_per_chunk: must be > 0, got 0
    """
    if isinstance(frames_per_chunk, bool) or not isinstance(frames_per_chunk, int):
        raise _invalid(context, "frames_per_chunk", f"must be an integer, got {frames_per_chunk!r:.60}")
    if not 0 < frames_per_chunk <= _MAX_FRAMES:
        raise _invalid(context, "frames_per_chunk", f"must be > 0, got {frames_per_chunk}")


def check_channels(channels: ChannelSpec | None, context: str) -> tuple[int, ...] | str | None:
    """``channels`` as ``None``, ``"mean"`` or a tuple of indices (>= 0; at least one).

    Example:
        >>> check_channels(1, "load of a.wav"), check_channels([2, 0], "load of a.wav"), check_channels("mean", "")
        ((1,), (2, 0), 'mean')
        >>> check_channels([], "load of a.wav")
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for load of a.wav:
          channels: must be a channel index, a list of indices or 'mean', got []
    """
    if channels is None or channels == "mean":
        return channels
    indices = (channels,) if isinstance(channels, int) else channels
    if (
        isinstance(indices, str)
        or not isinstance(indices, Sequence)
        or not indices
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in indices)
    ):
        raise _invalid(context, "channels", f"must be a channel index, a list of indices or 'mean', got {channels!r}")
    negative = [i for i in indices if i < 0]
    if negative:
        raise _invalid(context, "channels", f"indices count from 0, got {negative[0]}")
    return tuple(indices)


def check_channel_range(indices: tuple[int, ...], num_channels: int, context: str) -> None:
    """Every index in ``indices`` names one of the ``num_channels`` channels.

    Example:
        >>> check_channel_range((0, 2), 2, "load of a.wav")
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for load of a.wav:
          channels: index 2 is out of range; the audio has 2 channel(s), 0 to 1
    """
    for index in indices:
        if index >= num_channels:
            span = f"0 to {num_channels - 1}" if num_channels > 1 else "only 0"
            reason = f"index {index} is out of range; the audio has {num_channels} channel(s), {span}"
            raise _invalid(context, "channels", reason)


def check_sample_rate(sample_rate: int, context: str) -> None:
    """``sample_rate`` is a positive integer of at most :data:`~tympan.core.audio.MAX_SAMPLE_RATE`.

    Example:
        >>> check_sample_rate(16000, "save to a.wav")
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise _invalid(context, "sample_rate", f"must be a positive integer, got {sample_rate!r:.60}")
    if sample_rate > MAX_SAMPLE_RATE:
        raise _invalid(context, "sample_rate", f"must be at most {MAX_SAMPLE_RATE} Hz, got {sample_rate}")


def check_decoded_rate(sample_rate: object, where: str) -> int:
    """The sample rate a header declares, if it is one audio can have (1 to ``MAX_SAMPLE_RATE`` Hz, whole);
    else ``AudioDecodeError`` naming the file.

    Example:
        >>> check_decoded_rate(44100, "a.wav")
        44100
        >>> check_decoded_rate(2147483647, "a.wav")
        Traceback (most recent call last):
        ...
        tympan.core.errors.AudioDecodeError: cannot decode a.wav: the header declares a sample rate of 2147483647 Hz ...
    """
    whole = isinstance(sample_rate, int) and not isinstance(sample_rate, bool)
    if not whole or not 1 <= sample_rate <= MAX_SAMPLE_RATE:  # type: ignore[operator]
        reason = f"the header declares a sample rate of {sample_rate} Hz (1 to {MAX_SAMPLE_RATE} Hz are read)"
        raise AudioDecodeError(where, reason)
    return sample_rate  # type: ignore[return-value]


def frames_last(waveform: torch.Tensor, channels_first: bool, context: str) -> torch.Tensor:
    """``waveform`` as a CPU ``(time, channels)`` tensor of a dtype libsndfile writes.

    1-D input is mono. Other floating dtypes become float32; other integer, bool and complex dtypes are
    refused.

    Example:
        >>> frames_last(torch.zeros(2, 100), True, "save to a.wav").shape
        torch.Size([100, 2])
        >>> frames_last(torch.zeros(100, dtype=torch.float16), True, "save to a.wav").dtype
        torch.float32
    """
    if not isinstance(waveform, torch.Tensor):
        raise _invalid(context, "waveform", f"must be a torch.Tensor, got {type(waveform).__name__}")
    if waveform.is_meta:
        raise _invalid(context, "waveform", "is on the meta device, which holds no samples")
    if waveform.dim() not in (1, 2):
        raise _invalid(context, "waveform", f"must be 1-D or 2-D (channels, time), got shape {tuple(waveform.shape)}")
    frames = waveform.detach().cpu()
    frames = frames.unsqueeze(1) if frames.dim() == 1 else frames.T if channels_first else frames
    if frames.shape[1] == 0:
        raise _invalid(context, "waveform", f"has no channels (shape {tuple(waveform.shape)})")
    if frames.is_floating_point() and frames.dtype not in _WRITABLE_DTYPES:
        frames = frames.float()
    if frames.dtype not in _WRITABLE_DTYPES:
        allowed = ", ".join(str(dtype).removeprefix("torch.") for dtype in _WRITABLE_DTYPES)
        raise _invalid(context, "waveform", f"dtype {str(frames.dtype).removeprefix('torch.')} is not one of {allowed}")
    return frames


def check_samples(frames: torch.Tensor, finite: bool, in_range: bool, context: str) -> None:
    """Refuse NaN/Inf when ``finite`` and float samples outside [-1, 1] when ``in_range`` is asked for.

    Example:
        >>> check_samples(torch.tensor([[0.5], [1.5]]), True, True, "save to a.wav")
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for save to a.wav:
          waveform: samples span [0.5, 1.5]; this encoding holds [-1, 1] (scale or clamp first)
    """
    if not frames.is_floating_point() or frames.numel() == 0:
        return
    if finite and not bool(torch.isfinite(frames).all()):
        raise _invalid(context, "waveform", "contains NaN or infinite samples, which this encoding cannot hold")
    low, high = (float(value) for value in torch.aminmax(frames))
    if in_range and (low < -1.0 or high > 1.0):
        reason = f"samples span [{low:g}, {high:g}]; this encoding holds [-1, 1] (scale or clamp first)"
        raise _invalid(context, "waveform", reason)


def to_array(frames: torch.Tensor) -> np.ndarray:
    """A C-contiguous array libsndfile writes; uint8 (offset binary) becomes int16 at the same level.

    Example:
        >>> to_array(torch.tensor([[0], [128], [255]], dtype=torch.uint8)).ravel().tolist()
        [-32768, 0, 32512]
    """
    if frames.dtype == torch.uint8:
        frames = (frames.to(torch.int16) - 128) * 256
    return np.ascontiguousarray(frames.numpy())


def check_destination(path: str) -> None:
    """Refuse a save to a directory, a device, a FIFO or into a directory that does not exist, before
    anything is written (a link is judged by its final target; see :func:`tympan.core.files.atomic_write`).

    Example:
        >>> import tempfile
        >>> check_destination(tempfile.mkdtemp() + "/out.wav")
        >>> check_destination(tempfile.mkdtemp())
        Traceback (most recent call last):
        IsADirectoryError: [Errno 21] a directory, cannot be overwritten with audio: '...'
    """
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "a directory, cannot be overwritten with audio", path)
    target = writable_destination(path)
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent):
        raise FileNotFoundError(errno.ENOENT, f"no directory {parent} to save into", path)
