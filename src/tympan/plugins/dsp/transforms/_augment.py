"""Random augmentations: speed perturbation and SpecAugment-style frequency and time masks.

Randomness is explicit. ``forward`` takes an optional ``torch.Generator``; without one, a module built with
``seed`` draws from its own generator (seeded once at construction, so a pipeline built twice with the same
seed applies the same sequence of augmentations), and otherwise from torch's global generator. A seeded
module copied to ``DataLoader`` workers gives every worker the same sequence: leave ``seed`` unset there
(torch seeds each worker's global generator differently) or pass per-worker generators. Under TorchScript
the generators must be CPU generators, and a seeded module scripts but cannot be saved with
``torch.jit.save`` (a ``torch.Generator`` has no serialised form); an unseeded one saves as torchaudio's does.

Example:
    >>> import torch
    >>> spec = torch.rand(4, 80, 200)
    >>> a = SpecAugment(2, 20, 2, 10, seed=7)(spec)
    >>> b = SpecAugment(2, 20, 2, 10, seed=7)(spec)
    >>> bool(torch.equal(a, b))
    True
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.params import Params
from tympan.plugins.dsp.functional._masking import (
    band_masks,
    check_mask_arguments,
    effective_mask_param,
    mask_along_axis,
    mask_along_axis_iid,
)
from tympan.plugins.dsp.transforms._base import DspTransform
from tympan.plugins.dsp.transforms._time_domain import Speed

__all__ = ["RandomTransform", "SpeedPerturbation", "FrequencyMasking", "TimeMasking", "SpecAugment"]

_SEED_DESCRIPTION = (
    "Seed of the module's own random generator (same seed, same sequence of draws); None: torch's global "
    "generator. A generator passed to forward takes precedence."
)


class RandomTransform(DspTransform):
    """A transform drawing random numbers from a ``torch.Generator``: the one passed to ``forward``, else its
    own, seeded at construction with ``seed``, else torch's global generator (``seed`` None).

    Example:
        >>> spec = torch.ones(1, 10, 30)
        >>> masking = TimeMasking(20, seed=0)
        >>> bool(torch.equal(masking(spec), TimeMasking(20, seed=0)(spec)))
        True
    """

    def _setup_random(self, seed: int | None) -> None:
        # Only a seeded module holds a generator: a torch.Generator cannot be saved in a TorchScript archive,
        # so an unseeded module scripts and saves like torchaudio's.
        if seed is not None:
            self.seeded_generator = torch.Generator().manual_seed(seed)

    def _generator(self, generator: torch.Generator | None) -> torch.Generator | None:
        if generator is None and hasattr(self, "seeded_generator"):
            return self.seeded_generator
        return generator


def seed_field() -> Any:
    """The ``seed`` parameter of the random transforms."""
    return Field(None, ge=0, le=2**63 - 1, description=_SEED_DESCRIPTION)


def _power_example(batch: int, n_freq: int) -> torch.Tensor:
    """A random power spectrogram ``(batch, n_freq, 40)``, for the contract checks."""
    return torch.rand(batch, n_freq, 40, generator=torch.Generator().manual_seed(0))


class SpeedPerturbation(RandomTransform):
    """Play ``(..., time)`` at one of ``factors`` speeds, drawn uniformly per call (by ``torch.randint``, the
    draw torchaudio makes), as ``torchaudio.transforms.SpeedPerturbation``.

    Each factor is a :class:`~tympan.plugins.dsp.transforms.Speed` (resampling from ``int(factor * orig_freq)``
    to ``orig_freq`` Hz), so about ``time / factor`` samples come out at ``orig_freq``.
    ``forward(waveform, lengths=None, generator=None)`` returns ``(waveform, lengths)`` with ``lengths``
    (valid samples per signal) mapped as ``functional.speed`` maps them, or None. With more than one distinct
    factor the output length changes from call to call: it declares ``data_dependent_length`` (not exportable
    with a dynamic time dimension).

    Example:
        >>> import torch
        >>> perturb = SpeedPerturbation(16000, [0.9, 1.0, 1.1])
        >>> out, lengths = perturb(torch.randn(2, 16000), torch.tensor([16000, 8000]), torch.Generator().manual_seed(0))
        >>> out.shape[-1] in (17778, 16000, 14546), lengths.tolist()[0] == out.shape[-1]
        (True, True)
    """

    qualified_name = "dsp:speed_perturbation"
    sample_rate_param: ClassVar[str | None] = "orig_freq"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`SpeedPerturbation`."""

        orig_freq: int = Field(gt=0, le=10_000_000, description="Sample rate of the input and output, in Hz.")
        factors: list[Annotated[float, Field(ge=0.05, le=100.0)]] = Field(
            min_length=1,
            max_length=16,
            description="Speed factors, one drawn uniformly per call (> 1 faster and shorter).",
        )
        seed: int | None = seed_field()

        @field_validator("factors")
        @classmethod
        def _source_rates_are_positive(cls, value: list[float], info: ValidationInfo) -> list[float]:
            orig_freq = info.data.get("orig_freq")
            for factor in value:
                if orig_freq is not None and int(factor * orig_freq) < 1:
                    raise ValueError(f"factor * orig_freq must be at least 1 Hz, got {factor} * {orig_freq}")
            return value

    def __init__(self, orig_freq: int, factors: list[float], *, seed: int | None = None) -> None:
        params = self.validated(locals())
        super().__init__()
        self.orig_freq = params.orig_freq
        self.factors = list(params.factors)
        self._setup_random(params.seed)
        self.speeders = torch.nn.ModuleList([Speed(orig_freq=self.orig_freq, factor=f) for f in self.factors])
        self.one_factor = len(set(self.factors)) == 1
        if not self.one_factor:
            # no one length formula holds for every call: it cannot be exported with a dynamic time dimension
            self.data_dependent_length = "its output length depends on the speed factor drawn at each call"

    @property
    def output_sample_rate(self) -> int | None:
        """``orig_freq``: the output plays at the input's rate."""
        return self.orig_freq

    def example_input(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise ``(batch, 4000)`` and its valid lengths ``(batch,)``, for the contract checks."""
        waveform = 0.5 * torch.randn(batch, 4000, generator=torch.Generator().manual_seed(0))
        return waveform, 4000 - 1000 * (torch.arange(batch) % 3)

    def forward(
        self,
        waveform: torch.Tensor,
        lengths: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(..., time)`` at a random factor's speed, and ``lengths`` mapped likewise (None stays None)."""
        draw = torch.randint(len(self.speeders), (), generator=self._generator(generator))
        if self.one_factor:
            # the draw still advances the generator; any speeder gives the same output
            return self.speeders[0](waveform, lengths)
        chosen = int(draw)
        for index, speeder in enumerate(self.speeders):
            if index == chosen:
                return speeder(waveform, lengths)
        raise RuntimeError("no speed factor was drawn")


class _AxisMasking(RandomTransform):
    """One random band masked along the frequency (``from_end`` 2) or time (``from_end`` 1) axis."""

    def _setup_masking(self, from_end: int, mask_param: int, iid_masks: bool, p: float, seed: int | None) -> None:
        self.from_end = from_end
        self.mask_param = mask_param
        self.iid_masks = iid_masks
        self.p = p
        self._setup_random(seed)

    def example_input(self, batch: int) -> torch.Tensor:
        """A random power spectrogram ``(batch, 64, 40)``, for the contract checks."""
        return _power_example(batch, 64)

    def forward(
        self,
        specgram: torch.Tensor,
        mask_value: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """``(..., freq, time)`` with one band filled with ``mask_value`` (per spectrogram when ``iid_masks``)."""
        axis = specgram.dim() - self.from_end
        drawn_from = self._generator(generator)
        if self.iid_masks and specgram.dim() >= 3:
            return mask_along_axis_iid(specgram, self.mask_param, mask_value, axis, self.p, drawn_from)
        return mask_along_axis(specgram, self.mask_param, mask_value, axis, self.p, drawn_from)


class FrequencyMasking(_AxisMasking):
    """Mask a random band of frequency bins of ``(..., freq, time)``, as ``torchaudio.transforms.FrequencyMasking``.

    The band is ``[0, freq_mask_param)`` bins wide; with ``iid_masks`` each spectrogram of the batch (every
    leading index) gets its own band, else all share one. ``forward(specgram, mask_value=0.0,
    generator=None)``.

    Example:
        >>> import torch
        >>> spec = torch.ones(2, 80, 100)
        >>> out = FrequencyMasking(freq_mask_param=30, seed=0)(spec)
        >>> masked_bins = (out[0, :, 0] == 0).sum().item()
        >>> masked_bins < 30, bool(((out == 0) == (out[:, :, :1] == 0)).all())  # whole rows are masked
        (True, True)
    """

    qualified_name = "dsp:frequency_masking"

    class Params(Params):
        """Parameters of :class:`FrequencyMasking`."""

        freq_mask_param: int = Field(ge=0, le=1 << 20, description="Masks are [0, freq_mask_param) bins wide.")
        iid_masks: bool = Field(False, description="Draw a band per spectrogram of the batch (else one for all).")
        seed: int | None = seed_field()

    def __init__(self, freq_mask_param: int, iid_masks: bool = False, *, seed: int | None = None) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_masking(2, params.freq_mask_param, params.iid_masks, 1.0, params.seed)


class TimeMasking(_AxisMasking):
    """Mask a random band of frames of ``(..., freq, time)``, as ``torchaudio.transforms.TimeMasking``.

    The band is ``[0, min(time_mask_param, int(time * p)))`` frames wide (``p``: the largest proportion of
    the frames masked); with ``iid_masks`` each spectrogram of the batch gets its own band.
    ``forward(specgram, mask_value=0.0, generator=None)``.

    Example:
        >>> import torch
        >>> out = TimeMasking(time_mask_param=50, p=0.1, seed=0)(torch.ones(1, 40, 100))
        >>> int((out[0, 0] == 0).sum()) < 10  # at most 10 % of 100 frames
        True
    """

    qualified_name = "dsp:time_masking"

    class Params(Params):
        """Parameters of :class:`TimeMasking`."""

        time_mask_param: int = Field(ge=0, le=1 << 30, description="Masks are [0, time_mask_param) frames wide.")
        iid_masks: bool = Field(False, description="Draw a band per spectrogram of the batch (else one for all).")
        p: float = Field(1.0, ge=0.0, le=1.0, description="Largest proportion of the frames one mask covers.")
        seed: int | None = seed_field()

    def __init__(
        self, time_mask_param: int, iid_masks: bool = False, p: float = 1.0, *, seed: int | None = None
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_masking(1, params.time_mask_param, params.iid_masks, params.p, params.seed)


class SpecAugment(RandomTransform):
    """SpecAugment's masks on ``(..., freq, time)``: ``n_time_masks`` time bands and ``n_freq_masks``
    frequency bands, as ``torchaudio.transforms.SpecAugment``.

    Time bands are ``[0, min(time_mask_param, int(time * p)))`` frames wide, frequency bands
    ``[0, min(freq_mask_param, int(freq * p)))`` bins; with ``iid_masks`` every spectrogram of the batch gets
    its own bands, else all share them. Masked cells become 0 with ``zero_masking``, else the mean of their
    own spectrogram (torchaudio takes the mean of the whole batch, which makes an item depend on the others).
    All bands are drawn and applied at once. ``forward(specgram, generator=None)``.

    Example:
        >>> import torch
        >>> augment = SpecAugment(n_time_masks=2, time_mask_param=20, n_freq_masks=2, freq_mask_param=10,
        ...                       zero_masking=True, seed=0)
        >>> out = augment(torch.rand(4, 80, 200) + 1)
        >>> out.shape, bool((out == 0).any())
        (torch.Size([4, 80, 200]), True)
    """

    qualified_name = "dsp:spec_augment"

    class Params(Params):
        """Parameters of :class:`SpecAugment`."""

        n_time_masks: int = Field(ge=0, le=1000, description="Number of time bands per spectrogram.")
        time_mask_param: int = Field(ge=0, le=1 << 30, description="Time bands are [0, time_mask_param) wide.")
        n_freq_masks: int = Field(ge=0, le=1000, description="Number of frequency bands per spectrogram.")
        freq_mask_param: int = Field(ge=0, le=1 << 20, description="Frequency bands are [0, freq_mask_param) wide.")
        iid_masks: bool = Field(True, description="Draw bands per spectrogram of the batch (else one set for all).")
        p: float = Field(1.0, ge=0.0, le=1.0, description="Largest proportion of an axis one band covers.")
        zero_masking: bool = Field(False, description="Fill with 0 (else with the spectrogram's mean).")
        seed: int | None = seed_field()

    def __init__(
        self,
        n_time_masks: int,
        time_mask_param: int,
        n_freq_masks: int,
        freq_mask_param: int,
        iid_masks: bool = True,
        p: float = 1.0,
        zero_masking: bool = False,
        *,
        seed: int | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.n_time_masks = params.n_time_masks
        self.time_mask_param = params.time_mask_param
        self.n_freq_masks = params.n_freq_masks
        self.freq_mask_param = params.freq_mask_param
        self.iid_masks = params.iid_masks
        self.p = params.p
        self.zero_masking = params.zero_masking
        self._setup_random(params.seed)

    def example_input(self, batch: int) -> torch.Tensor:
        """A random power spectrogram ``(batch, 64, 40)``, for the contract checks."""
        return _power_example(batch, 64)

    def _bands(
        self,
        leading: list[int],
        n_masks: int,
        mask_param: int,
        length: int,
        generator: torch.Generator | None,
        device: torch.device,
    ) -> torch.Tensor:
        bound = effective_mask_param(mask_param, self.p, length)
        if n_masks < 1 or bound < 1:
            shape = list(leading)
            shape.append(length)
            return torch.zeros(shape, dtype=torch.bool, device=device)
        return band_masks(leading, n_masks, bound, length, generator, device)

    def forward(self, specgram: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(..., freq, time)`` with the time and frequency bands filled."""
        dim = specgram.dim()
        check_mask_arguments(dim, -1, self.p, 2)
        drawn_from = self._generator(generator)
        leading: list[int] = list(specgram.shape[:-2]) if self.iid_masks else []
        n_freq, n_time = specgram.shape[-2], specgram.shape[-1]
        time_bands = self._bands(leading, self.n_time_masks, self.time_mask_param, n_time, drawn_from, specgram.device)
        freq_bands = self._bands(leading, self.n_freq_masks, self.freq_mask_param, n_freq, drawn_from, specgram.device)
        mask = time_bands.unsqueeze(-2) | freq_bands.unsqueeze(-1)
        if self.zero_masking:
            return specgram.masked_fill(mask, 0.0)
        mean = specgram.mean(dim=[-2, -1], keepdim=True)
        return torch.where(mask, mean, specgram)
