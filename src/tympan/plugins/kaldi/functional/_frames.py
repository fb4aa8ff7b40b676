"""Kaldi's frame geometry and window functions: how a waveform is cut into frames.

A frame is ``window_size`` samples every ``window_shift`` samples, zero-padded to ``padded_window_size`` for
the FFT. With ``snip_edges`` only whole frames are kept (a signal shorter than one frame has none); without
it frame ``f`` is centred on ``f * shift + shift / 2`` and samples before the start or past the end are taken
from the signal reflected about its edges, as Kaldi's ``ExtractWindow``.

Example:
    >>> geometry = FrameGeometry(sample_frequency=16000.0, frame_length=25.0, frame_shift=10.0)
    >>> geometry.window_size, geometry.window_shift, geometry.padded_window_size
    (400, 160, 512)
    >>> geometry.num_frames(16000), FrameGeometry(16000.0, 25.0, 10.0, snip_edges=False).num_frames(16000)
    (98, 100)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

__all__ = ["WINDOW_TYPES", "FrameGeometry", "WindowType", "feature_window", "reflect_indices"]

WindowType = Literal["povey", "hamming", "hanning", "rectangular", "blackman", "sine"]

#: The window types Kaldi knows, by their Kaldi names.
WINDOW_TYPES: tuple[str, ...] = ("povey", "hamming", "hanning", "rectangular", "blackman", "sine")


def _samples(sample_frequency: float, milliseconds: float) -> int:
    """Kaldi's ``samp_freq * 0.001 * ms`` with both options held as float32, truncated."""
    return int(float(np.float32(sample_frequency)) * 0.001 * float(np.float32(milliseconds)))


@dataclass(frozen=True)
class FrameGeometry:
    """Where frames start and how many a signal has, from the options in Kaldi's units (Hz, milliseconds).

    Example:
        >>> FrameGeometry(8000.0, 25.0, 10.0, round_to_power_of_two=False).padded_window_size
        200
    """

    sample_frequency: float = 16000.0
    frame_length: float = 25.0
    frame_shift: float = 10.0
    snip_edges: bool = True
    round_to_power_of_two: bool = True

    @property
    def window_size(self) -> int:
        """Samples in a frame."""
        return _samples(self.sample_frequency, self.frame_length)

    @property
    def window_shift(self) -> int:
        """Samples between the starts of consecutive frames."""
        return _samples(self.sample_frequency, self.frame_shift)

    @property
    def padded_window_size(self) -> int:
        """FFT size: the frame length, rounded up to a power of two with ``round_to_power_of_two``."""
        size = self.window_size
        return 1 << max(size - 1, 0).bit_length() if self.round_to_power_of_two else size

    def check(self) -> None:
        """Raise ``ValueError`` unless a frame holds at least two samples and frames advance.

        Example:
            >>> FrameGeometry(100.0, 10.0, 10.0).check()
            Traceback (most recent call last):
            ...
            ValueError: frame_length=10.0 ms at 100.0 Hz is 1 sample(s); a frame needs at least 2
        """
        if self.window_size < 2:
            raise ValueError(
                f"frame_length={self.frame_length} ms at {self.sample_frequency} Hz is {self.window_size} "
                "sample(s); a frame needs at least 2"
            )
        if self.window_shift < 1:
            raise ValueError(f"frame_shift={self.frame_shift} ms at {self.sample_frequency} Hz is less than one sample")

    def first_sample(self, frame: int) -> int:
        """The (possibly negative) index of the first sample of frame ``frame``.

        Example:
            >>> FrameGeometry(16000.0, 25.0, 10.0, snip_edges=False).first_sample(0)
            -120
        """
        if self.snip_edges:
            return frame * self.window_shift
        return frame * self.window_shift + self.window_shift // 2 - self.window_size // 2

    def num_frames(self, num_samples: int, flush: bool = True) -> int:
        """Frames in ``num_samples`` samples; ``flush=False`` keeps only frames that end inside them.

        ``flush=False`` is what a stream can emit before its input is finished.

        Example:
            >>> FrameGeometry(16000.0, 25.0, 10.0, snip_edges=False).num_frames(1000, flush=False)
            5
        """
        size, shift = self.window_size, self.window_shift
        if self.snip_edges:
            return 0 if num_samples < size else 1 + (num_samples - size) // shift
        frames = (num_samples + shift // 2) // shift
        if flush:
            return frames
        overhang = self.first_sample(frames - 1) + size - num_samples if frames > 0 else 0
        return max(frames - max(-(-overhang // shift), 0), 0)

    def frame_counts(self, lengths: torch.Tensor) -> torch.Tensor:
        """:meth:`num_frames` of every length in an integer tensor, on its device.

        Example:
            >>> FrameGeometry(16000.0, 25.0, 10.0).frame_counts(torch.tensor([0, 399, 400, 16000])).tolist()
            [0, 0, 1, 98]
        """
        lengths = lengths.to(torch.int64)
        size, shift = self.window_size, self.window_shift
        if self.snip_edges:
            return torch.where(lengths < size, 0, 1 + (lengths - size).clamp(min=0) // shift)
        return (lengths + shift // 2) // shift


def reflect_indices(positions: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Map sample positions into ``[0, length)`` by reflecting about the edges, as Kaldi's ``ExtractWindow``.

    Position ``-1`` reads sample 0, ``length`` reads ``length - 1`` (the edge sample repeats); the pattern
    has period ``2 * length``, so positions any distance outside are folded back. ``lengths`` broadcasts
    against ``positions``; a length of zero maps everything to 0.

    Example:
        >>> reflect_indices(torch.arange(-3, 7), torch.tensor(3)).tolist()
        [2, 1, 0, 0, 1, 2, 2, 1, 0, 0]
    """
    period = 2 * lengths.clamp(min=1)
    folded = torch.remainder(positions, period)
    return torch.where(folded >= lengths, period - 1 - folded, folded).clamp(min=0)


def feature_window(
    window_type: str, window_size: int, blackman_coeff: float = 0.42, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """Kaldi's symmetric analysis window of ``window_size`` samples (computed in float64, then cast).

    ``povey`` is a Hann window raised to the power 0.85 (zero at both ends); ``blackman`` uses
    ``blackman_coeff`` as its constant term; ``sine`` is the half period of a sine.

    Example:
        >>> [round(v, 4) for v in feature_window("povey", 5).tolist()]
        [0.0, 0.5548, 1.0, 0.5548, 0.0]
    """
    if window_type not in WINDOW_TYPES:
        raise ValueError(f"window_type must be one of {', '.join(WINDOW_TYPES)}; got {window_type!r}")
    n = torch.arange(window_size, dtype=torch.float64)
    a = 2.0 * math.pi / (window_size - 1) if window_size > 1 else 0.0
    if window_type == "hanning":
        window = 0.5 - 0.5 * torch.cos(a * n)
    elif window_type == "sine":
        window = torch.sin(0.5 * a * n)
    elif window_type == "hamming":
        window = 0.54 - 0.46 * torch.cos(a * n)
    elif window_type == "povey":
        window = (0.5 - 0.5 * torch.cos(a * n)).pow(0.85)
    elif window_type == "rectangular":
        window = torch.ones_like(n)
    else:
        window = blackman_coeff - 0.5 * torch.cos(a * n) + (0.5 - blackman_coeff) * torch.cos(2.0 * a * n)
    return window.to(dtype)
