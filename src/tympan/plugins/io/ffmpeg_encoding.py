"""Encoding for ``io:ffmpeg``: a ``(time, channels)`` waveform handed to one of FFmpeg's encoders and muxers.

Example:
    >>> import io, torch
    >>> from tympan.plugins.io.ffmpeg_codecs import choose_writer
    >>> buffer = io.BytesIO()
    >>> encode(buffer, torch.zeros(960, 1), 48000, choose_writer("opus", "float32", None, None), None, {}, "x")
    >>> buffer.getvalue()[:4]
    b'OggS'
"""

from __future__ import annotations

from fractions import Fraction
from typing import IO, Any

import av
import numpy as np
import torch

from tympan.core.errors import UnsupportedFormatError
from tympan.plugins.io.ffmpeg_codecs import Writer

__all__ = ["encode"]

# Waveform dtypes -> the interleaved frame format they are handed to the encoder in.
_FRAME_FORMATS = {torch.uint8: "u8", torch.int16: "s16", torch.int32: "s32", torch.float32: "flt", torch.float64: "dbl"}
# Frames handed to the encoder at a time.
_ENCODE_BLOCK = 1 << 16


def _layout(channels: int) -> Any:
    """FFmpeg's default layout for ``channels`` (mono, stereo, 5.1, ...), else one of unspecified order."""
    try:
        return av.AudioLayout(f"{channels}c")
    except ValueError:
        return av.AudioLayout(f"{channels} channels")


def encode(
    target: IO[bytes],
    frames: torch.Tensor,
    sample_rate: int,
    writer: Writer,
    bit_rate: int | None,
    options: dict[str, str],
    where: str,
) -> None:
    """Encode ``frames`` (time, channels) with FFmpeg; its refusals become ``UnsupportedFormatError``.

    Example:
        >>> import io, torch
        >>> from tympan.plugins.io.ffmpeg_codecs import choose_writer
        >>> buffer = io.BytesIO()
        >>> writer = choose_writer("flac", "float32", None, None)
        >>> encode(buffer, torch.zeros(400, 2), 8000, writer, None, {}, "clip.flac")
        >>> buffer.getvalue()[:4]
        b'fLaC'
    """
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
