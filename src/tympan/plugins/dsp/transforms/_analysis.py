"""Analysis transforms: pitch (normalised cross-correlation, YIN, pYIN) and SoX's voice activity trim.

Example:
    >>> import torch
    >>> t = torch.arange(16000) / 16000
    >>> tone = torch.sin(2 * torch.pi * 250 * t).unsqueeze(0)
    >>> float(Yin(16000, f_min=80.0, f_max=1000.0)(tone)[0, 10].round())
    250.0
"""

from __future__ import annotations

import math
import warnings
from typing import ClassVar, Literal

import torch
from pydantic import Field, model_validator

from tympan.core.budget import check_buffer_bytes
from tympan.core.params import Params
from tympan.plugins.dsp.functional._pitch import pitch_from_lags, pitch_geometry
from tympan.plugins.dsp.functional._vad import vad_geometry, vad_trim, vad_windows, warn_if_batched
from tympan.plugins.dsp.functional._yin import (
    beta_probabilities,
    check_pyin_params,
    check_yin_params,
    pyin_decode,
    pyin_geometry,
    pyin_transition,
    resolve_hop,
    thresholds_grid,
    yin_periods,
    yin_pick,
)
from tympan.plugins.dsp.transforms._base import DspTransform

__all__ = ["DetectPitchFrequency", "PYin", "Vad", "Yin"]

_RATE = Field(16000, gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")
PadMode = Literal["constant", "reflect", "replicate", "circular", "edge", "wrap"]


class DetectPitchFrequency(DspTransform):
    """Pitch in Hz of ``(..., time)`` per frame, as ``torchaudio.functional.detect_pitch_frequency``.

    See :func:`~tympan.plugins.dsp.functional._pitch.detect_pitch_frequency`; returns ``(..., frames)``.

    Example:
        >>> import torch
        >>> tone = torch.sin(2 * torch.pi * 160 * torch.arange(8000) / 16000)
        >>> DetectPitchFrequency(16000)(tone)[5].item()
        160.0
    """

    qualified_name = "dsp:detect_pitch_frequency"

    class Params(Params):
        """Parameters of :class:`DetectPitchFrequency`."""

        sample_rate: int = _RATE
        frame_time: float = Field(0.01, gt=0, le=10.0, description="Frame length in seconds.")
        win_length: int = Field(30, ge=1, le=10_000, description="Frames in the median smoothing window.")
        freq_low: float = Field(85, gt=0, le=10_000_000, description="Lowest pitch searched, in Hz.")
        freq_high: float = Field(3400, gt=0, le=10_000_000, description="Highest pitch searched, in Hz.")

        @model_validator(mode="after")
        def _lags_exist(self) -> DetectPitchFrequency.Params:
            pitch_geometry(self.sample_rate, self.frame_time, self.freq_low, self.freq_high)
            return self

    def __init__(
        self,
        sample_rate: int = 16000,
        frame_time: float = 10**-2,
        win_length: int = 30,
        freq_low: float = 85,
        freq_high: float = 3400,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.win_length = params.win_length
        self.frame_size, self.max_lag, self.min_lag = pitch_geometry(
            params.sample_rate, params.frame_time, params.freq_low, params.freq_high
        )
        # the median needs win_length // 2 + 1 frames; the exported program holds from two output frames on
        self.export_min_frames = (self.win_length // 2 + 1) * self.frame_size + 1

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., frames)`` in Hz."""
        return pitch_from_lags(waveform, self.sample_rate, self.frame_size, self.max_lag, self.min_lag, self.win_length)


class _YinParams(Params):
    """Parameters shared by :class:`Yin` and :class:`PYin` (librosa's, with torchaudio-style names)."""

    sample_rate: int = _RATE
    f_min: float = Field(65.0, gt=0, description="Lowest pitch, in Hz (librosa fmin).")
    f_max: float = Field(2093.0, gt=0, description="Highest pitch, in Hz (<= sample_rate / 2; librosa fmax).")
    frame_length: int = Field(2048, ge=3, le=1 << 20, description="Samples per analysis frame.")
    win_length: int | None = Field(
        None, ge=1, le=1 << 20, description="No effect (deprecated in librosa 0.11); kept for calls."
    )
    hop_length: int | None = Field(
        None, ge=1, le=1 << 20, description="Samples between frames; None means frame_length // 4."
    )
    center: bool = Field(True, description="Pad by frame_length // 2 so frame t is centred on t * hop_length.")
    pad_mode: PadMode = Field("constant", description="How the signal is padded when center is true.")

    @model_validator(mode="after")
    def _periods_fit(self) -> _YinParams:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            check_yin_params(self.sample_rate, self.f_min, self.f_max, self.frame_length)
        return self


class _YinBase(DspTransform):
    """Framing and period range of the YIN transforms."""

    def _setup_frames(self, params: _YinParams) -> None:
        self.sample_rate = params.sample_rate
        self.frame_length = params.frame_length
        self.hop_length = resolve_hop(params.frame_length, params.hop_length)
        self.center = params.center
        self.pad_mode = params.pad_mode
        self.min_period, self.max_period = check_yin_params(
            params.sample_rate, params.f_min, params.f_max, params.frame_length
        )

    def _periods(self, waveform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return yin_periods(
            waveform, self.frame_length, self.hop_length, self.min_period, self.max_period, self.center, self.pad_mode
        )


class Yin(_YinBase):
    """YIN fundamental frequency of ``(..., time)`` in Hz, ``(..., frames)``, as ``librosa.yin``.

    See :func:`~tympan.plugins.dsp.functional._yin.yin`.

    Example:
        >>> import torch
        >>> t = torch.arange(8000) / 8000
        >>> round(float(Yin(8000, f_min=60.0, f_max=500.0, frame_length=1024)(torch.sin(2 * torch.pi * 110 * t))[4]), 1)
        110.2
    """

    qualified_name = "dsp:yin"

    class Params(_YinParams):
        """Parameters of :class:`Yin`."""

        trough_threshold: float = Field(0.1, gt=0, le=10.0, description="Absolute threshold on the normalised dips.")

    def __init__(
        self,
        sample_rate: int = 16000,
        f_min: float = 65.0,
        f_max: float = 2093.0,
        frame_length: int = 2048,
        win_length: int | None = None,
        hop_length: int | None = None,
        trough_threshold: float = 0.1,
        center: bool = True,
        pad_mode: str = "constant",
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_frames(params)
        self.trough_threshold = params.trough_threshold

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., frames)`` in Hz."""
        cmnd, shifts, troughs = self._periods(waveform)
        f0 = self.sample_rate / yin_pick(cmnd, shifts, troughs, self.min_period, self.trough_threshold)
        return f0.reshape(waveform.shape[:-1] + f0.shape[-1:]).to(waveform.dtype)


class PYin(_YinBase):
    """pYIN fundamental frequency of ``(..., time)`` in Hz, ``(..., frames)``, as ``librosa.pyin``'s ``f0``.

    Unvoiced frames read ``fill_na`` (0 by default, so that the output stays finite; librosa's default is
    NaN). The functional form :func:`~tympan.plugins.dsp.functional._yin.pyin` also returns the voicing flags
    and probabilities. The transition matrix and threshold prior are buffers.

    Example:
        >>> import torch
        >>> t = torch.arange(16000) / 16000
        >>> f0 = PYin(16000, f_min=80.0, f_max=800.0, frame_length=1024)(0.5 * torch.sin(2 * torch.pi * 200 * t))
        >>> round(float(f0[3:-3].median()))
        200
    """

    qualified_name = "dsp:pyin"

    class Params(_YinParams):
        """Parameters of :class:`PYin`."""

        n_thresholds: int = Field(100, ge=1, le=10_000, description="Thresholds in the prior over dips.")
        beta_parameters: tuple[float, float] = Field((2.0, 18.0), description="Beta prior shape over thresholds.")
        boltzmann_parameter: float = Field(2.0, gt=0, description="Boltzmann prior shape over dips (rank weight).")
        resolution: float = Field(0.1, ge=1e-3, lt=1, description="Pitch bin width in semitones.")
        max_transition_rate: float = Field(
            35.92, gt=0, le=1000, description="Fastest pitch change, octaves per second."
        )
        switch_prob: float = Field(0.01, gt=0, lt=1, description="Probability of switching voicing per frame.")
        no_trough_prob: float = Field(0.01, ge=0, le=1, description="Mass on the global minimum when no dip is low.")
        fill_na: float | None = Field(
            0.0, allow_inf_nan=True, description="f0 of unvoiced frames (NaN as librosa); None: the decoded pitch."
        )

        @model_validator(mode="after")
        def _model_fits(self) -> PYin.Params:
            check_pyin_params(
                self.n_thresholds, self.beta_parameters, self.boltzmann_parameter, self.switch_prob, self.no_trough_prob
            )
            hop = resolve_hop(self.frame_length, self.hop_length)
            _, n_bins, width = pyin_geometry(
                self.sample_rate, self.f_min, self.f_max, hop, self.resolution, self.max_transition_rate
            )
            if width > n_bins:
                raise ValueError(f"max_transition_rate allows {width} bins per frame, more than the {n_bins} bins")
            return self

    def __init__(
        self,
        sample_rate: int = 16000,
        f_min: float = 65.0,
        f_max: float = 2093.0,
        frame_length: int = 2048,
        win_length: int | None = None,
        hop_length: int | None = None,
        n_thresholds: int = 100,
        beta_parameters: tuple[float, float] = (2.0, 18.0),
        boltzmann_parameter: float = 2.0,
        resolution: float = 0.1,
        max_transition_rate: float = 35.92,
        switch_prob: float = 0.01,
        no_trough_prob: float = 0.01,
        fill_na: float | None = 0.0,
        center: bool = True,
        pad_mode: str = "constant",
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_frames(params)
        self.f_min = params.f_min
        self.boltzmann_parameter = params.boltzmann_parameter
        self.no_trough_prob = params.no_trough_prob
        self.fill_na = params.fill_na
        self.bins_per_semitone, self.n_pitch_bins, width = pyin_geometry(
            params.sample_rate,
            params.f_min,
            params.f_max,
            self.hop_length,
            params.resolution,
            params.max_transition_rate,
        )
        # the transition matrix (2 n x 2 n, float64) and its temporaries
        sizes = {"f_min": params.f_min, "f_max": params.f_max, "resolution": params.resolution}
        check_buffer_bytes(self.qualified_name, sizes, 80.0 * self.n_pitch_bins**2)
        alpha, beta = params.beta_parameters
        self.register_buffer("thresholds", thresholds_grid(params.n_thresholds)[1:], persistent=False)
        self.register_buffer("beta_probs", beta_probabilities(params.n_thresholds, alpha, beta), persistent=False)
        self.register_buffer(
            "log_transition", pyin_transition(self.n_pitch_bins, width, params.switch_prob), persistent=False
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., frames)`` in Hz."""
        cmnd, shifts, troughs = self._periods(waveform)
        f0, _, _ = pyin_decode(
            cmnd,
            shifts,
            troughs,
            self.thresholds,
            self.beta_probs,
            self.log_transition,
            float(self.sample_rate),
            self.min_period,
            self.f_min,
            self.n_pitch_bins,
            self.bins_per_semitone,
            self.boltzmann_parameter,
            self.no_trough_prob,
            self.fill_na,
        )
        return f0.reshape(waveform.shape[:-1] + f0.shape[-1:]).to(waveform.dtype)


class Vad(DspTransform):
    """Trim leading silence and noise from ``(..., time)`` as ``sox in out vad``, like ``torchaudio.transforms.Vad``.

    See :func:`~tympan.plugins.dsp.functional._vad.vad` for the algorithm. All leading dimensions are channels
    of one recording, as SoX treats a multichannel file: on a batch the detector triggers when any item does
    and the same number of samples is cut from every item (trim items one by one for separate decisions).
    Parameter ranges are SoX's. Returns ``(..., time')``, empty when nothing triggers.

    Example:
        >>> import torch
        >>> Vad(16000)(torch.zeros(2, 16000)).shape
        torch.Size([2, 0])
    """

    qualified_name = "dsp:vad"
    produces_waveform: ClassVar[bool] = True
    data_dependent_length: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Vad` (SoX option in brackets)."""

        sample_rate: int = _RATE
        trigger_level: float = Field(7.0, ge=0, le=20, description="Measurement level that triggers [-t].")
        trigger_time: float = Field(0.25, ge=0.01, le=1, description="Averaging time of the trigger, s [-T].")
        search_time: float = Field(1.0, ge=0.1, le=4, description="How far back to search from the trigger, s [-s].")
        allowed_gap: float = Field(0.25, ge=0.1, le=1, description="Longest gap inside the activity, s [-g].")
        pre_trigger_time: float = Field(0.0, ge=0, le=4, description="Audio kept before the start, s [-p].")
        boot_time: float = Field(0.35, ge=0.1, le=10, description="Initial noise estimation time, s [-b].")
        noise_up_time: float = Field(0.1, ge=0.1, le=10, description="Noise estimate rise time constant, s [-N].")
        noise_down_time: float = Field(0.01, ge=0.001, le=0.1, description="Noise estimate fall time constant, s [-n].")
        noise_reduction_amount: float = Field(1.35, ge=0, le=2, description="Noise subtracted, times estimate [-r].")
        measure_freq: float = Field(20.0, ge=5, le=50, description="Measurements per second [-f].")
        measure_duration: float | None = Field(
            None, ge=0.01, le=1, description="Measurement window, s; None means 2 / measure_freq [-m]."
        )
        measure_smooth_time: float = Field(0.4, ge=0.1, le=1, description="Spectral smoothing time constant, s [-M].")
        hp_filter_freq: float = Field(50.0, ge=10, description="High-pass edge of the spectrum, Hz [-h].")
        lp_filter_freq: float = Field(6000.0, ge=1000, description="Low-pass edge of the spectrum, Hz [-l].")
        hp_lifter_freq: float = Field(150.0, ge=10, description="High-pass edge of the cepstrum, Hz [-H].")
        lp_lifter_freq: float = Field(2000.0, ge=1000, description="Low-pass edge of the cepstrum, Hz [-L].")

        @model_validator(mode="after")
        def _bins_exist(self) -> Vad.Params:
            vad_geometry(**self.model_dump(exclude={"trigger_level", "noise_reduction_amount"}))
            return self

    def __init__(
        self,
        sample_rate: int,
        trigger_level: float = 7.0,
        trigger_time: float = 0.25,
        search_time: float = 1.0,
        allowed_gap: float = 0.25,
        pre_trigger_time: float = 0.0,
        boot_time: float = 0.35,
        noise_up_time: float = 0.1,
        noise_down_time: float = 0.01,
        noise_reduction_amount: float = 1.35,
        measure_freq: float = 20.0,
        measure_duration: float | None = None,
        measure_smooth_time: float = 0.4,
        hp_filter_freq: float = 50.0,
        lp_filter_freq: float = 6000.0,
        hp_lifter_freq: float = 150.0,
        lp_lifter_freq: float = 2000.0,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.trigger_level = params.trigger_level
        self.noise_reduction_amount = params.noise_reduction_amount
        g = vad_geometry(**params.model_dump(exclude={"trigger_level", "noise_reduction_amount"}))
        for name, value in g._asdict().items():  # pre_trigger_len ... trigger_mult, read by forward
            setattr(self, name, value)
        spectrum_window, cepstrum_window = vad_windows(g)
        self.register_buffer("spectrum_window", spectrum_window, persistent=False)
        self.register_buffer("cepstrum_window", cepstrum_window, persistent=False)

    def example_input(self, batch: int) -> torch.Tensor:
        """``(batch, 2, 1.5 s)``: quiet noise, then a harmonic tone from 0.6 s in every item (phases and noise
        differ), so that each item triggers at the same place; for the contract checks. At most 2**20 samples
        (at rates above 700 kHz, the tone is not reached)."""
        generator = torch.Generator().manual_seed(0)
        t = torch.arange(min(self.sample_rate * 3 // 2, 1 << 20)) / self.sample_rate
        phases = 2 * math.pi * torch.rand(batch, 2, 1, generator=generator)
        tone = sum(torch.sin(2 * math.pi * 140 * k * t + k * phases) / k for k in range(1, 8))
        noise = 1e-3 * torch.randn(batch, 2, t.numel(), generator=generator)
        return 0.3 * tone * (t >= 0.6) + noise

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., time')``: the input from the detected start of activity."""
        warn_if_batched(waveform)
        return vad_trim(
            waveform,
            self.spectrum_window,
            self.cepstrum_window,
            self.trigger_level,
            self.noise_reduction_amount,
            self.pre_trigger_len,
            self.measure_len,
            self.measure_period,
            self.dft_len,
            self.measures_len,
            self.gap_len,
            self.boot_count_max,
            self.spectrum_start,
            self.spectrum_end,
            self.cepstrum_start,
            self.cepstrum_end,
            self.noise_up_mult,
            self.noise_down_mult,
            self.measure_mult,
            self.trigger_mult,
        )
