"""Streaming Kaldi pitch: ``OnlinePitch`` takes audio in chunks and returns (NCCF, pitch) frames.

It follows Kaldi's ``OnlinePitchFeature`` (see :mod:`tympan.plugins.kaldi.functional._pitch_stream`). By
default a frame is returned once no later input can change it: when every state of the newest frame traces
back through the same lag there, and, among the first ``recompute_frame`` frames, once Kaldi's ballast
correction is done (at that frame, or at the end). Everything returned then equals ``kaldi_pitch`` of the
whole signal given the same chunk sizes (with ``nccf_ballast_online``, any sizes give the offline result).
With ``simulate_first_pass_online=True`` frames come out as Kaldi's online extractor makes them ready, with
at most ``max_frames_latency`` frames of delay, valued on the best path so far (a first pass, as
``compute-kaldi-pitch-feats --simulate-first-pass-online``). ``input_finished()`` returns the rest. The
stream is computed on the CPU in float32.

Example:
    >>> import math, torch
    >>> t = torch.arange(32000) / 16000
    >>> audio = 1000 * torch.sin(2 * math.pi * 180 * t)
    >>> stream = OnlinePitch(nccf_ballast_online=True)
    >>> parts = [stream.accept_waveform(chunk) for chunk in audio.split(3200)] + [stream.input_finished()]
    >>> streamed = torch.cat(parts)
    >>> streamed.shape, torch.equal(streamed, Pitch(nccf_ballast_online=True)(audio))
    (torch.Size([198, 2]), True)
"""

from __future__ import annotations

from typing import Any

import torch

from tympan.plugins.kaldi.functional._pitch_stream import PitchStream
from tympan.plugins.kaldi.online import checked_chunk
from tympan.plugins.kaldi.pitch import Pitch

__all__ = ["OnlinePitch"]


class OnlinePitch(PitchStream):
    """Kaldi's pitch tracker on a stream, built with :class:`~tympan.plugins.kaldi.pitch.Pitch`'s options.

    ``frames_per_chunk`` is not an option here: the chunks are the stream's own.

    Example:
        >>> import torch
        >>> stream = OnlinePitch(sample_frequency=8000.0)
        >>> stream.accept_waveform(torch.randn(800)).shape[1], stream.input_finished().shape[1]
        (2, 2)
        >>> first_pass = OnlinePitch(simulate_first_pass_online=True, max_frames_latency=3)
        >>> noise = torch.randn(16000, generator=torch.Generator().manual_seed(0))
        >>> first_pass.accept_waveform(noise).shape[0], first_pass.input_finished().shape[0]
        (93, 5)
    """

    def __init__(self, **options: Any) -> None:
        if options.get("frames_per_chunk", 0):
            raise ValueError("frames_per_chunk does not apply to a stream: its chunks are the ones it receives")
        super().__init__(Pitch(**options).options)

    def accept_waveform(self, chunk: torch.Tensor) -> torch.Tensor:
        """Append a 1-D chunk; returns the ``(frames, 2)`` (NCCF, pitch) frames that became ready."""
        self.accept(checked_chunk(chunk, self._finished))
        return self.take()

    def input_finished(self) -> torch.Tensor:
        """End the stream; returns the remaining frames."""
        self.finish()
        return self.take()
