"""Filterbank transforms: mel scaling and its least-squares inverse, and linear-frequency cepstra (LFCC).

Example:
    >>> import torch
    >>> spec = torch.rand(2, 201, 30)
    >>> mel = MelScale(n_mels=40, sample_rate=16000, n_stft=201)(spec)
    >>> mel.shape, InverseMelScale(n_stft=201, n_mels=40)(mel).shape
    (torch.Size([2, 40, 30]), torch.Size([2, 201, 30]))
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from tympan.core.errors import InvalidParameterError
from tympan.core.params import Params, format_validation_error
from tympan.core.threads import IntraOpThreadsModule
from tympan.plugins.dsp.functional._features import MFCC_TOP_DB, mfcc_from_mel
from tympan.plugins.dsp.functional._filterbank_ops import (
    apply_inverse_mel,
    inverse_mel_matrix,
    is_rank_deficient,
    linear_fbanks,
    mel_scale,
)
from tympan.plugins.dsp.functional._filterbanks import create_dct, melscale_fbanks
from tympan.plugins.dsp.functional._precision import as_dtype
from tympan.plugins.dsp.transforms._base import (
    BandHigh,
    BandLow,
    DspTransform,
    band_within_nyquist,
    check_filterbank,
    finite_filterbank,
)
from tympan.plugins.dsp.transforms._spectrogram import Spectrogram

__all__ = ["MelScale", "InverseMelScale", "LFCC"]


class _MelBandParams(Params):
    """The mel filterbank's parameters, shared by :class:`MelScale` and :class:`InverseMelScale`."""

    n_mels: int = Field(128, ge=1, le=4096, description="Number of mel filters.")
    sample_rate: int = Field(16000, gt=0, le=10_000_000, description="Sample rate of the audio, in Hz.")
    f_min: BandLow = 0.0
    f_max: BandHigh = None
    n_stft: int = Field(201, ge=1, le=1 << 19, description="Frequency bins of the spectrogram (n_fft // 2 + 1).")
    norm: Literal["slaney"] | None = Field(None, description="'slaney': scale each filter to unit area.")
    mel_scale: Literal["htk", "slaney"] = Field("htk", description="Mel scale: 'htk' or 'slaney'.")

    _band_within_nyquist = field_validator("f_max")(band_within_nyquist)

    def filterbank(self) -> torch.Tensor:
        """The filters ``(n_stft, n_mels)`` these parameters describe."""
        f_max = self.f_max if self.f_max is not None else self.sample_rate / 2
        return melscale_fbanks(self.n_stft, self.f_min, f_max, self.n_mels, self.sample_rate, self.norm, self.mel_scale)


class _MelBandTransform(DspTransform):
    """Holds the mel filterbank ``fb`` ``(n_stft, n_mels)`` as a buffer, and its parameters."""

    def _setup_band(self, params: _MelBandParams) -> None:
        self.n_mels = params.n_mels
        self.sample_rate = params.sample_rate
        self.f_min = params.f_min
        self.f_max = params.f_max if params.f_max is not None else params.sample_rate / 2
        self.n_stft = params.n_stft
        self.norm = params.norm
        self.mel_scale = params.mel_scale
        sizes = {"n_stft": self.n_stft, "n_mels": self.n_mels}
        check_filterbank(self.qualified_name, sizes, self.n_stft, self.n_mels)
        filters = finite_filterbank(self.qualified_name, "f_min, f_max", params.filterbank())
        self.register_buffer("fb", filters, persistent=False)


class MelScale(_MelBandTransform):
    """Spectrogram ``(..., n_stft, time)`` to mel spectrogram ``(..., n_mels, time)``, as
    ``torchaudio.transforms.MelScale``: one matmul with the filterbank ``fb`` (``librosa.filters.mel``).

    Example:
        >>> import torch
        >>> MelScale(n_mels=64, sample_rate=16000, n_stft=257)(torch.rand(3, 257, 20)).shape
        torch.Size([3, 64, 20])
    """

    qualified_name = "dsp:mel_scale"

    class Params(_MelBandParams):
        """Parameters of :class:`MelScale`."""

    def __init__(
        self,
        n_mels: int = 128,
        sample_rate: int = 16000,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_stft: int = 201,
        norm: str | None = None,
        mel_scale: str = "htk",
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_band(params)

    def example_input(self, batch: int) -> torch.Tensor:
        """A random power spectrogram ``(batch, n_stft, 20)``, for the contract checks."""
        return torch.rand(batch, self.n_stft, 20, generator=torch.Generator().manual_seed(0))

    def forward(self, specgram: torch.Tensor) -> torch.Tensor:
        """``(..., n_stft, time)`` to ``(..., n_mels, time)``."""
        return mel_scale(specgram, self.fb)


class InverseMelScale(_MelBandTransform):
    """Mel spectrogram ``(..., n_mels, time)`` back to a spectrogram ``(..., n_stft, time)``, as
    ``torchaudio.transforms.InverseMelScale``.

    Solves ``fb.T @ S = melspec`` by least squares (the minimum-norm solution when ``n_mels < n_stft``), as
    ``torch.linalg.lstsq`` does, and sets negative values to zero. The solution is one product with the
    pseudo-inverse of ``fb.T``, computed in float64 at construction (a non-persistent buffer), so the transform
    exports with a dynamic number of frames. ``driver`` names the least-squares method of
    ``torchaudio``'s interface; ``"gels"`` needs every mel filter to cover a bin, which is checked at
    construction (the rank-revealing drivers accept dependent filters: their pseudo-inverse drops the
    null directions).

    Example:
        >>> import torch
        >>> inverse = InverseMelScale(n_stft=257, n_mels=40, sample_rate=16000)
        >>> inverse(torch.rand(2, 40, 15)).shape
        torch.Size([2, 257, 15])
    """

    qualified_name = "dsp:inverse_mel_scale"

    class Params(_MelBandParams):
        """Parameters of :class:`InverseMelScale`."""

        n_stft: int = Field(..., ge=1, le=1 << 19, description="Frequency bins of the output (n_fft // 2 + 1).")
        driver: Literal["gels", "gelsy", "gelsd", "gelss"] = Field(
            "gels", description="LAPACK driver of torch.linalg.lstsq (CUDA supports only 'gels')."
        )

    def __init__(
        self,
        n_stft: int,
        n_mels: int = 128,
        sample_rate: int = 16000,
        f_min: float = 0.0,
        f_max: float | None = None,
        norm: str | None = None,
        mel_scale: str = "htk",
        driver: str = "gels",
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self._setup_band(params)
        self.driver = params.driver
        if self.driver == "gels" and is_rank_deficient(self.fb):
            raise InvalidParameterError(
                self.qualified_name,
                [
                    f"n_mels: the {self.n_mels} filters over {self.n_stft} bins are linearly dependent (some cover "
                    "no bin or the same single bin); use fewer filters, more bins, or driver='gelsd'"
                ],
            )
        self.register_buffer("inverse", inverse_mel_matrix(self.fb), persistent=False)

    def example_input(self, batch: int) -> torch.Tensor:
        """A random mel spectrogram ``(batch, n_mels, 20)``, for the contract checks."""
        return torch.rand(batch, self.n_mels, 20, generator=torch.Generator().manual_seed(0))

    def forward(self, melspec: torch.Tensor) -> torch.Tensor:
        """``(..., n_mels, time)`` to ``(..., n_stft, time)``."""
        return apply_inverse_mel(melspec, self.inverse)


class LFCC(IntraOpThreadsModule, DspTransform):
    """Linear-frequency cepstral coefficients of ``(..., time)``: ``(..., n_lfcc, frames)``, as
    ``torchaudio.transforms.LFCC``.

    The DCT-II of the decibel (``top_db`` 80; ``log(x + 1e-6)`` when ``log_lf``) output of ``n_filter``
    triangular filters evenly spaced in Hz between ``f_min`` and ``f_max``, applied to the power
    spectrogram made with ``speckwargs`` (:class:`Spectrogram`'s parameters).

    Example:
        >>> import torch
        >>> LFCC(sample_rate=16000, n_filter=64, n_lfcc=20, speckwargs={"n_fft": 512})(torch.randn(2, 8000)).shape
        torch.Size([2, 20, 32])
    """

    qualified_name = "dsp:lfcc"

    class Params(Params):
        """Parameters of :class:`LFCC`."""

        sample_rate: int = Field(16000, gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")
        n_filter: int = Field(128, ge=1, le=4096, description="Number of linear filters.")
        f_min: BandLow = 0.0
        f_max: BandHigh = None
        n_lfcc: int = Field(40, ge=1, le=4096, description="Number of coefficients kept (<= n_filter).")
        dct_type: Literal[2] = Field(2, description="DCT type; only type 2 is defined.")
        norm: Literal["ortho"] | None = Field("ortho", description="'ortho': orthonormal DCT; None: unscaled.")
        log_lf: bool = Field(False, description="Use log(x + 1e-6) of the filter outputs instead of decibels.")
        speckwargs: dict[str, Any] | None = Field(None, description="Spectrogram parameters (a real power spectrum).")

        _band_within_nyquist = field_validator("f_max")(band_within_nyquist)

        @field_validator("n_lfcc")
        @classmethod
        def _at_most_n_filter(cls, value: int, info: ValidationInfo) -> int:
            n_filter = info.data.get("n_filter")
            if n_filter is not None and value > n_filter:
                raise ValueError(f"n_lfcc must not exceed n_filter ({n_filter})")
            return value

        @field_validator("speckwargs")
        @classmethod
        def _valid_spectrogram(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
            try:
                spec = Spectrogram.Params(**(value or {}))
            except ValidationError as err:
                raise ValueError("; ".join(format_validation_error(err))) from None
            if spec.power is None or not spec.onesided:
                raise ValueError("LFCC needs a real onesided spectrogram (power not None, onesided true)")
            return value

    def __init__(
        self,
        sample_rate: int = 16000,
        n_filter: int = 128,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_lfcc: int = 40,
        dct_type: int = 2,
        norm: str | None = "ortho",
        log_lf: bool = False,
        speckwargs: dict[str, Any] | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.n_filter = params.n_filter
        self.f_min = params.f_min
        self.f_max = params.f_max if params.f_max is not None else params.sample_rate / 2
        self.n_lfcc = params.n_lfcc
        self.dct_type = params.dct_type
        self.norm = params.norm
        self.log_lf = params.log_lf
        self.speckwargs = dict(params.speckwargs or {})
        self.top_db = MFCC_TOP_DB
        self.spectrogram = Spectrogram(**self.speckwargs)
        n_freqs = self.spectrogram.n_fft // 2 + 1
        check_filterbank(
            self.qualified_name, {"n_fft": self.spectrogram.n_fft, "n_filter": self.n_filter}, n_freqs, self.n_filter
        )
        filter_mat = linear_fbanks(n_freqs, self.f_min, self.f_max, self.n_filter, self.sample_rate)
        filter_mat = finite_filterbank(self.qualified_name, "f_min, f_max", filter_mat)
        self.register_buffer("filter_mat", filter_mat, persistent=False)
        self.register_buffer("dct_mat", create_dct(self.n_lfcc, self.n_filter, self.norm), persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., n_lfcc, frames)``."""
        linear = self.spectrogram._spectrum(waveform, self.filter_mat)
        return as_dtype(mfcc_from_mel(linear, self.dct_mat, self.log_lf, self.top_db), waveform.dtype)
