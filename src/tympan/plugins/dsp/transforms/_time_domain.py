"""Time-domain transforms: pre- and de-emphasis, speed change, and integrated loudness.

Example:
    >>> import torch
    >>> x = torch.rand(2, 1000) - 0.5
    >>> torch.allclose(Deemphasis(0.9)(Preemphasis(0.9)(x)), x, atol=1e-5)
    True
"""

from __future__ import annotations

from typing import ClassVar

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.params import Params
from tympan.plugins.dsp.functional._convolution import speed_ratio
from tympan.plugins.dsp.functional._loudness import block_geometry, gated_loudness, k_weighting
from tympan.plugins.dsp.functional._recurrence import deemphasis, preemphasis
from tympan.plugins.dsp.transforms._base import DspTransform
from tympan.plugins.dsp.transforms._resample import Resample

__all__ = ["Preemphasis", "Deemphasis", "Speed", "Loudness"]


class _EmphasisParams(Params):
    """Parameters of the emphasis filters."""

    coeff: float = Field(0.97, ge=-1.0, le=1.0, description="Filter coefficient, typically in [0.9, 1.0].")


class _Emphasis(DspTransform):
    """A first-order emphasis filter with coefficient ``coeff``; subclasses give the direction."""

    produces_waveform: ClassVar[bool] = True
    Params = _EmphasisParams

    def __init__(self, coeff: float = 0.97) -> None:
        params = self.validated(locals())
        super().__init__()
        self.coeff = params.coeff


class Preemphasis(_Emphasis):
    """Pre-emphasis ``y[n] = x[n] - coeff * x[n - 1]`` of ``(..., time)``, as ``torchaudio.transforms.Preemphasis``.

    Example:
        >>> import torch
        >>> Preemphasis(coeff=0.5)(torch.tensor([2.0, 2.0, 2.0])).tolist()
        [2.0, 1.0, 1.0]
    """

    qualified_name = "dsp:preemphasis"

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The emphasised waveform, same shape."""
        return preemphasis(waveform, self.coeff)


class Deemphasis(_Emphasis):
    """De-emphasis ``y[n] = x[n] + coeff * y[n - 1]`` of ``(..., time)``, as ``torchaudio.transforms.Deemphasis``.

    Solved in blocks without a loop over samples; the output is clamped to [-1, 1], as torchaudio's is.

    Example:
        >>> import torch
        >>> Deemphasis(coeff=0.5)(torch.tensor([0.5, 0.25, 0.25])).tolist()
        [0.5, 0.5, 0.5]
    """

    qualified_name = "dsp:deemphasis"

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """The de-emphasised waveform, same shape."""
        return deemphasis(waveform, self.coeff)


class Speed(DspTransform):
    """Play ``(..., time)`` ``factor`` times faster at the same rate, as ``torchaudio.transforms.Speed``.

    Resamples from ``int(factor * orig_freq)`` to ``orig_freq`` Hz (ratio reduced), so about
    ``time / factor`` samples come out, at ``orig_freq``. ``forward(waveform, lengths=None)`` returns
    ``(waveform, lengths)``: ``lengths``, the valid samples of each signal, mapped the same way (None stays
    None), as :func:`~tympan.plugins.dsp.functional.speed` maps them.

    Example:
        >>> import torch
        >>> speed = Speed(orig_freq=16000, factor=1.25)
        >>> out, lengths = speed(torch.randn(2, 16000), torch.tensor([16000, 8000]))
        >>> out.shape, lengths.tolist(), speed.output_sample_rate
        (torch.Size([2, 12800]), [12800, 6400], 16000)
    """

    qualified_name = "dsp:speed"
    sample_rate_param: ClassVar[str | None] = "orig_freq"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Speed`."""

        orig_freq: int = Field(gt=0, le=10_000_000, description="Sample rate of the input and output, in Hz.")
        factor: float = Field(ge=0.05, le=100.0, description="Speed-up factor (> 1 faster and shorter).")

        @field_validator("factor")
        @classmethod
        def _source_rate_is_positive(cls, value: float, info: ValidationInfo) -> float:
            orig_freq = info.data.get("orig_freq")
            if orig_freq is not None and int(value * orig_freq) < 1:
                raise ValueError(f"factor * orig_freq must be at least 1 Hz, got {value} * {orig_freq}")
            return value

    def __init__(self, orig_freq: int, factor: float) -> None:
        params = self.validated(locals())
        super().__init__()
        self.orig_freq = params.orig_freq
        self.factor = params.factor
        self.source, self.target = speed_ratio(self.orig_freq, self.factor)
        self.resampler = Resample(self.source, self.target)

    @property
    def output_sample_rate(self) -> int | None:
        """``orig_freq``: the output plays at the input's rate."""
        return self.orig_freq

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise ``(batch, 4000)`` and its valid lengths ``(batch,)``, for the contract checks."""
        waveform = 0.5 * torch.randn(batch, 4000, generator=torch.Generator().manual_seed(0))
        return waveform, 4000 - 1000 * (torch.arange(batch) % 3)

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(..., time)`` to ``(..., ceil(time * target / source))``, and ``lengths`` mapped likewise."""
        out = self.resampler(waveform)
        if lengths is None:
            return out, None
        return out, torch.ceil(lengths * self.target / self.source).to(lengths.dtype)


class Loudness(DspTransform):
    """Integrated loudness (ITU-R BS.1770-4) of ``(..., channels, time)`` in LUFS, as torchaudio's ``Loudness``.

    K-weighting, 400 ms blocks with 75 % overlap, gates at -70 LUFS and -10 LU; up to 5 channels (surround
    channels 4 and 5 weigh 1.41). Returns ``(...)``; silence gives -70. The output has no time axis, so
    ``output_sample_rate`` is None.

    Example:
        >>> import torch
        >>> noise = torch.randn(4, 2, 32000, generator=torch.Generator().manual_seed(0)) * 0.05
        >>> Loudness(sample_rate=16000)(noise).shape
        torch.Size([4])
    """

    qualified_name = "dsp:loudness"

    class Params(Params):
        """Parameters of :class:`Loudness`."""

        sample_rate: int = Field(
            gt=3000, le=10_000_000, description="Sample rate of the input, in Hz (the shelf sits at 1.5 kHz)."
        )

    def __init__(self, sample_rate: int) -> None:
        params = self.validated(locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        numerators, poles = k_weighting(self.sample_rate)
        self.register_buffer("numerators", numerators.clone(), persistent=False)
        self.register_buffer("poles", poles.clone(), persistent=False)
        self.block, self.hop = block_geometry(self.sample_rate)

    @property
    def output_sample_rate(self) -> int | None:
        """None: one loudness value per item, no time axis."""
        return None

    def example_input(self, batch: int) -> torch.Tensor:
        """Half a second of stereo noise ``(batch, 2, time)``, for the contract checks. At most 2**20 samples (at
        rates above 2.6 MHz, shorter than one gating block: the loudness is the gate's -70)."""
        generator = torch.Generator().manual_seed(0)
        return 0.1 * torch.randn(batch, 2, min(self.sample_rate // 2, 1 << 20), generator=generator)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., channels, time)`` to ``(...)`` LUFS."""
        return gated_loudness(waveform, self.numerators, self.poles, self.block, self.hop)
