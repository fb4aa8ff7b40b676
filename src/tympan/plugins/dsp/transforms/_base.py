"""What the DSP transforms share: validated construction and the STFT parameters and state.

Example:
    >>> import torch
    >>> from tympan.plugins.dsp.transforms import Spectrogram
    >>> Spectrogram.Params(n_fft=512).win_length is None
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.components import Transform
from tympan.core.fields import WindowFunction
from tympan.core.params import Params, validate_params
from tympan.plugins.dsp.functional._spectral import normalization_flags
from tympan.plugins.dsp.functional._stft import frame_window, stft_features

__all__ = ["DspTransform", "StftParams", "StftTransform", "check_band"]

_CONSTRUCTOR_NOISE = frozenset({"self", "__class__"})


def check_band(f_min: float | None, f_max: float | None, sample_rate: int | None) -> None:
    """Raise ``ValueError`` unless ``f_min < f_max <= sample_rate / 2`` (``f_max`` None: the Nyquist rate).

    Example:
        >>> check_band(0.0, None, 16000)
    """
    if sample_rate is None or f_min is None:
        return
    top = f_max if f_max is not None else sample_rate / 2
    if top > sample_rate / 2:
        raise ValueError(f"f_max must not exceed sample_rate / 2 ({sample_rate / 2})")
    if f_min >= top:
        raise ValueError(f"f_min ({f_min}) must be below f_max ({top})")


class DspTransform(Transform):
    """A transform whose constructor checks its arguments with the class's ``Params`` model.

    Example:
        >>> from tympan.plugins.dsp.transforms import AmplitudeToDB
        >>> AmplitudeToDB.validated({"stype": "magnitude"}).stype
        'magnitude'
    """

    qualified_name: ClassVar[str]

    @classmethod
    def validated(cls, arguments: Mapping[str, Any]) -> Any:
        """The class's ``Params`` built from constructor ``arguments`` (``locals()`` is fine).

        Raises :class:`~tympan.core.errors.InvalidParameterError` naming the component, field and bound.
        """
        values = {name: value for name, value in arguments.items() if name not in _CONSTRUCTOR_NOISE}
        return validate_params(cls, values, name=cls.qualified_name)


class StftParams(Params):
    """The short-time Fourier transform parameters, with torchaudio's names and defaults.

    Example:
        >>> StftParams(n_fft=400, hop_length=160).win_length is None
        True
    """

    n_fft: int = Field(400, ge=1, le=1 << 20, description="FFT size; the spectrum has n_fft // 2 + 1 bins.")
    win_length: int | None = Field(
        None, ge=1, validate_default=True, description="Window length (<= n_fft); None means n_fft."
    )
    hop_length: int | None = Field(None, ge=1, description="Samples between frames; None means win_length // 2.")
    pad: int = Field(0, ge=0, description="Zeros added to both sides of the signal before the STFT.")
    window_fn: WindowFunction = Field(
        "hann",
        validate_default=True,
        description="Window: a name (hann, hamming, blackman, bartlett, kaiser) or a factory called as "
        "window_fn(win_length, **wkwargs).",
    )
    power: float = Field(2.0, gt=0, le=16, description="Exponent of the magnitude (1: amplitude, 2: power).")
    normalized: bool | Literal["window", "frame_length"] = Field(
        False, description="Normalise by the window's L2 norm (True/'window') or by sqrt(n_fft) ('frame_length')."
    )
    wkwargs: dict[str, Any] | None = Field(None, description="Keyword arguments for window_fn.")
    center: bool = Field(True, description="Pad the signal so that frame t is centred on sample t * hop_length.")
    pad_mode: Literal["reflect", "constant", "replicate", "circular"] = Field(
        "reflect", description="How the signal is padded when center is true."
    )

    @field_validator("win_length")
    @classmethod
    def _window_fits_fft(cls, value: int | None, info: ValidationInfo) -> int | None:
        n_fft = info.data.get("n_fft")
        if value is not None and n_fft is not None and value > n_fft:
            raise ValueError(f"win_length must not exceed n_fft ({n_fft})")
        return value


class StftTransform(DspTransform):
    """A transform computing an STFT: holds the window (centred in ``n_fft`` samples, normalisation folded in)
    as a buffer, and the resolved frame geometry.

    Example:
        >>> from tympan.plugins.dsp.transforms import Spectrogram
        >>> spec = Spectrogram(n_fft=512)
        >>> spec.win_length, spec.hop_length, tuple(spec.window.shape)
        (512, 256, (512,))
    """

    def _setup_stft(self, params: StftParams, power: float | None, onesided: bool) -> None:
        self.n_fft = params.n_fft
        self.win_length = params.win_length if params.win_length is not None else params.n_fft
        self.hop_length = params.hop_length if params.hop_length is not None else self.win_length // 2
        self.pad = params.pad
        self.power = power
        self.normalized = params.normalized
        self.center = params.center
        self.pad_mode = params.pad_mode
        self.onesided = onesided
        window = params.window_fn(self.win_length, **(params.wkwargs or {}))
        framed = frame_window(window, self.n_fft, self.win_length, *normalization_flags(params.normalized))
        self.register_buffer("window", framed, persistent=False)

    def _spectrum(self, waveform: torch.Tensor, fb: torch.Tensor | None) -> torch.Tensor:
        return stft_features(
            waveform, self.window, self.hop_length, self.pad, self.power, self.center, self.pad_mode, self.onesided, fb
        )
