"""Decibel conversion and MFCC transforms.

Example:
    >>> import torch
    >>> MFCC(sample_rate=16000, n_mfcc=13, melkwargs={"n_mels": 40})(torch.randn(16000)).shape
    torch.Size([13, 81])
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from pydantic import Field, ValidationError, ValidationInfo, field_validator

from tympan.core.params import Params, format_validation_error
from tympan.core.threads import IntraOpThreadsModule
from tympan.plugins.dsp.functional._features import MFCC_TOP_DB, mfcc_from_mel
from tympan.plugins.dsp.functional._filterbanks import create_dct
from tympan.plugins.dsp.functional._precision import as_dtype
from tympan.plugins.dsp.functional._spectral import amplitude_to_db
from tympan.plugins.dsp.transforms._base import DspTransform
from tympan.plugins.dsp.transforms._mel_spectrogram import MelSpectrogram

__all__ = ["AmplitudeToDB", "MFCC"]


class AmplitudeToDB(DspTransform):
    """Power or amplitude to decibels, as ``torchaudio.transforms.AmplitudeToDB``.

    ``stype="power"`` uses ``10 * log10``, ``"magnitude"`` ``20 * log10`` (reference 1, floor ``1e-10``);
    ``top_db`` clips each spectrogram (the last two dimensions) to at most ``top_db`` below its peak, as
    ``librosa.power_to_db`` / ``amplitude_to_db`` do for one spectrogram.

    Example:
        >>> import torch
        >>> AmplitudeToDB(stype="power", top_db=80.0)(torch.tensor([[1.0, 100.0, 0.0]])).tolist()
        [[0.0, 20.0, -60.0]]
    """

    qualified_name = "dsp:amplitude_to_db"

    class Params(Params):
        """Parameters of :class:`AmplitudeToDB`."""

        stype: Literal["power", "magnitude"] = Field("power", description="Whether the input is power or magnitude.")
        top_db: float | None = Field(None, ge=0, description="Dynamic range kept below each spectrogram's peak, in dB.")

    def __init__(self, stype: str = "power", top_db: float | None = None) -> None:
        params = self.validated(locals())
        super().__init__()
        self.stype = params.stype
        self.top_db = params.top_db
        self.multiplier = 10.0 if params.stype == "power" else 20.0
        self.amin = 1e-10
        self.ref_value = 1.0
        self.db_multiplier = math.log10(max(self.amin, self.ref_value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Decibels of ``x``, same shape and dtype."""
        return amplitude_to_db(x, self.multiplier, self.amin, self.db_multiplier, self.top_db)


class MFCC(IntraOpThreadsModule, DspTransform):
    """Mel-frequency cepstral coefficients of ``(..., time)``: ``(..., n_mfcc, frames)``.

    As ``torchaudio.transforms.MFCC``: the DCT-II of the decibel mel spectrogram (``top_db`` 80), or of
    ``log(mel + 1e-6)`` when ``log_mels``. ``melkwargs`` are :class:`MelSpectrogram`'s parameters (128
    mels by default). Equals ``librosa.feature.mfcc(S=librosa.power_to_db(mel))`` for the same options.

    Example:
        >>> import torch
        >>> mfcc = MFCC(sample_rate=16000, n_mfcc=13, melkwargs={"n_fft": 400, "hop_length": 160, "n_mels": 80})
        >>> mfcc(torch.randn(4, 16000)).shape
        torch.Size([4, 13, 101])
    """

    qualified_name = "dsp:mfcc"

    class Params(Params):
        """Parameters of :class:`MFCC`."""

        sample_rate: int = Field(16000, gt=0, le=10_000_000, description="Sample rate of the input, in Hz.")
        n_mfcc: int = Field(40, ge=1, le=4096, description="Number of coefficients kept (<= n_mels).")
        dct_type: Literal[2] = Field(2, description="DCT type; only type 2 is defined.")
        norm: Literal["ortho"] | None = Field("ortho", description="'ortho': orthonormal DCT; None: unscaled.")
        log_mels: bool = Field(False, description="Use log(mel + 1e-6) instead of decibels.")
        melkwargs: dict[str, Any] | None = Field(
            None, validate_default=True, description="MelSpectrogram parameters (sample_rate comes from above)."
        )

        @field_validator("melkwargs")
        @classmethod
        def _valid_mel_spectrogram(cls, value: dict[str, Any] | None, info: ValidationInfo) -> dict[str, Any] | None:
            options = dict(value or {})
            if "sample_rate" in options:
                raise ValueError("give sample_rate to MFCC itself, not in melkwargs")
            sample_rate, n_mfcc = info.data.get("sample_rate"), info.data.get("n_mfcc")
            if sample_rate is None:
                return value
            try:
                mel = MelSpectrogram.Params(sample_rate=sample_rate, **options)
            except ValidationError as err:
                raise ValueError("; ".join(format_validation_error(err))) from None
            if n_mfcc is not None and n_mfcc > mel.n_mels:
                raise ValueError(f"n_mels ({mel.n_mels}) must be at least n_mfcc ({n_mfcc})")
            return value

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mfcc: int = 40,
        dct_type: int = 2,
        norm: str | None = "ortho",
        log_mels: bool = False,
        melkwargs: dict[str, Any] | None = None,
    ) -> None:
        params = self.validated(locals())
        super().__init__()
        self.sample_rate = params.sample_rate
        self.n_mfcc = params.n_mfcc
        self.dct_type = params.dct_type
        self.norm = params.norm
        self.log_mels = params.log_mels
        self.melkwargs = dict(params.melkwargs or {})
        self.top_db = MFCC_TOP_DB
        self.mel_spectrogram = MelSpectrogram(sample_rate=self.sample_rate, **self.melkwargs)
        dct_mat = create_dct(self.n_mfcc, self.mel_spectrogram.n_mels, self.norm)
        self.register_buffer("dct_mat", dct_mat, persistent=False)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` to ``(..., n_mfcc, frames)``."""
        mel = self.mel_spectrogram.power_mel(waveform)
        return as_dtype(mfcc_from_mel(mel, self.dct_mat, self.log_mels, self.top_db), waveform.dtype)
