"""The streaming step of :class:`~tympan.plugins.dsp.transforms.Resample`: ``(chunk, state) -> (out, state)``.

Each call takes a whole number of ``orig`` input samples (the rates' ratio ``orig:new`` in lowest terms) and
returns as many blocks of ``new`` output samples. An output block needs ``width`` input samples past its own
span, so the step answers ``delay = ceil((width + 1) / orig)`` blocks late; its state is the input those late
blocks and their left context still need. The zeros the state starts with are the silence the offline
resampler pads the signal with, so after dropping the delay the outputs are the offline ones.

Example:
    >>> import torch
    >>> from tympan.plugins.dsp.transforms import Resample
    >>> step = ResampleStep(Resample(44100, 16000), chunk_samples=4410)
    >>> out, state = step(torch.randn(1, 4410), step.initial_state(1))
    >>> out.shape, step.delay, step.output_length(44100)
    (torch.Size([1, 1600]), 160, 16000)
"""

from __future__ import annotations

from typing import Any

import torch

from tympan.core.errors import ExportError
from tympan.core.streaming import StreamingStep, check_chunk_samples
from tympan.plugins.dsp.functional._resample import resample_padded
from tympan.plugins.dsp.functional._sinc import resampled_length

__all__ = ["ResampleStep"]


class ResampleStep(StreamingStep):
    """A resampler's output, a chunk of ``chunk_samples`` input samples at a time.

    ``chunk_samples`` must be a multiple of ``orig``; ``dtype`` is the computation's. The band-limited sinc
    methods stream; ``sinc_interp_kaiser_fft`` and kernels too large to hold raise
    :class:`~tympan.core.errors.ExportError`.

    Example:
        >>> from tympan.plugins.dsp.transforms import Resample
        >>> step = ResampleStep(Resample(16000, 8000), chunk_samples=160)
        >>> step.output_size, step.state_size
        (80, 27)
    """

    def __init__(self, resampler: Any, chunk_samples: int, dtype: torch.dtype = torch.float32) -> None:
        name = resampler.qualified_name
        if resampler.fft or resampler.by_phases:
            reason = (
                f"{name}: a streaming step needs a held sinc kernel; resampling_method="
                f"{resampler.resampling_method!r} at {resampler.orig_freq} -> {resampler.new_freq} Hz has none"
            )
            raise ExportError([reason])
        orig, new, width = resampler.orig, resampler.new, resampler.width
        check_chunk_samples(name, chunk_samples, orig, f"{orig}:{new} is the rates' ratio")
        blocks = -(-(width + 1) // orig)
        super().__init__(chunk_samples, blocks * orig + width, chunk_samples // orig * new, blocks * new, dtype, orig)
        self.orig, self.new, self.width, self.dense = orig, new, width, resampler.dense
        self.register_buffer("kernel", resampler.kernel.to(dtype), persistent=False)
        self.register_buffer("tap_index", resampler.tap_index.clone(), persistent=False)

    def output_length(self, num_samples: int) -> int:
        """``ceil(num_samples * new / orig)``, the offline resampler's length."""
        return resampled_length(num_samples, self.orig, self.new)

    def forward(self, chunk: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, output_size)`` samples, and the input the next call still needs."""
        signal = torch.cat([state, chunk.to(state.dtype)], dim=1)
        out = resample_padded(signal, self.kernel, self.tap_index, self.orig, self.new, self.width, self.dense)
        return out[:, : self.output_size], signal[:, self.chunk_samples :]
