"""The streaming step of a Kaldi feature: ``(chunk, state) -> (frames, state)``, for export.

Each call takes a whole number of frame shifts and returns that many frames; the state is the last samples
(a whole number of shifts, at least a window less one shift) that the next call's frames still need. Frames
of a stream come ``delay`` frames late: the first ``delay`` frames returned start in the silence before the
signal and are dropped (see :class:`~tympan.core.streaming.StreamingStep`). Frames with ``snip_edges=False``
reflect the signal about its start and end, and dither draws noise per call, so the step needs
``snip_edges=True`` and ``dither=0`` (for streams that reflect, :class:`~tympan.plugins.kaldi.OnlineFbank`
and its siblings run eagerly).

Example:
    >>> import torch
    >>> from tympan.plugins.kaldi.features import Fbank
    >>> step = KaldiFeatureStep(Fbank(num_mel_bins=40), chunk_samples=1600)
    >>> frames, state = step(torch.randn(2, 1600), step.initial_state(2))
    >>> frames.shape, state.shape, step.delay
    (torch.Size([2, 10, 40]), torch.Size([2, 320]), 2)
"""

from __future__ import annotations

import torch

from tympan.core.errors import ExportError
from tympan.core.streaming import StreamingStep, check_chunk_samples
from tympan.plugins.kaldi._base import KaldiFeature
from tympan.plugins.kaldi.functional._compute import frame_features

__all__ = ["KaldiFeatureStep"]


class KaldiFeatureStep(StreamingStep):
    """A Kaldi feature module's frames, computed a chunk at a time from a state of past samples.

    ``chunk_samples`` must be a multiple of the frame shift in samples; ``dtype`` is the computation's
    (float32 or float64). Raises :class:`~tympan.core.errors.ExportError` naming the option when the
    feature cannot stream as a step.

    Example:
        >>> from tympan.plugins.kaldi.features import Mfcc
        >>> step = KaldiFeatureStep(Mfcc(), chunk_samples=320)
        >>> step.output_size, step.output_length(16000)
        (2, 98)
    """

    def __init__(self, extractor: KaldiFeature, chunk_samples: int, dtype: torch.dtype = torch.float32) -> None:
        options, name = extractor.options, extractor.qualified_name
        for option, value, needed in (
            ("snip_edges", options.snip_edges, True),
            ("dither", options.dither, 0.0),
            ("subtract_mean", options.subtract_mean, False),
        ):
            if value != needed:
                raise ExportError([f"{name}: a streaming step needs {option}={needed}, got {value}"])
        geometry = options.geometry
        shift, size = geometry.window_shift, geometry.window_size
        check_chunk_samples(name, chunk_samples, shift, "the frame shift in samples")
        context = shift * (-(-size // shift) - 1)
        super().__init__(chunk_samples, context, chunk_samples // shift, context // shift, dtype, shift)
        self.options = options
        self.window_size, self.window_shift = size, shift
        for key, table in extractor._tables(dtype).items():
            self.register_buffer(key, table.clone(), persistent=False)

    def output_length(self, num_samples: int) -> int:
        """The frames offline extraction gives for ``num_samples`` samples."""
        return self.options.geometry.num_frames(num_samples)

    def forward(self, chunk: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, frames, feature_dim)`` frames ending in ``chunk``, and the samples the next call needs."""
        signal = torch.cat([state, chunk.to(state.dtype)], dim=1)
        frames = signal.unfold(1, self.window_size, self.window_shift)[:, : self.output_size]
        features = frame_features(frames, self.options, dict(self.named_buffers()))
        return features, signal[:, self.chunk_samples :]
