"""What the DSP transforms share: validated construction and the STFT parameters and state.

Example:
    >>> import torch
    >>> from tympan.plugins.dsp.transforms import Spectrogram
    >>> Spectrogram.Params(n_fft=512).win_length is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.budget import check_buffer_bytes
from tympan.core.components import Transform
from tympan.core.errors import InvalidParameterError
from tympan.core.fields import WindowFunction
from tympan.core.params import Params, validate_params
from tympan.plugins.dsp.functional._spectral import normalization_flags
from tympan.plugins.dsp.functional._stft import frame_window, stft_features

__all__ = [
    "BandHigh",
    "BandLow",
    "DspTransform",
    "StftParams",
    "StftTransform",
    "band_within_nyquist",
    "build_window",
    "check_band",
    "check_filterbank",
    "finite_filterbank",
]

#: Bytes a filterbank matrix element costs while it is built (float64, with its temporaries).
_FILTERBANK_ELEMENT_BYTES = 32

_CONSTRUCTOR_NOISE = frozenset({"self", "__class__"})

#: Keyword arguments that place a tensor rather than shape a window: refused before the factory runs (a
#: device or pinned memory can cost seconds of set-up, or fail deep inside torch); a window is built on the
#: CPU and moves with its module (``.to(device)``).
_PLACEMENT_KEYWORDS = ("device", "layout", "out", "pin_memory")


def build_window(
    component: str, window_fn: Callable[..., torch.Tensor], length: int, wkwargs: Mapping[str, Any] | None
) -> torch.Tensor:
    """``window_fn(length, **wkwargs)``, checked: whatever the factory or its keyword arguments do wrong (an
    unknown keyword, a meta or integer tensor, the wrong length, NaN) is an ``InvalidParameterError`` naming
    ``window_fn`` and ``wkwargs``. Keywords that place the tensor (``device``, ``layout``, ``out``,
    ``pin_memory``) are refused before the factory is called.

    Example:
        >>> build_window("dsp:spectrogram", torch.hann_window, 4, {"periodic": True}).tolist()
        [0.0, 0.5, 1.0, 0.5]
        >>> build_window("dsp:spectrogram", torch.hann_window, 4, {"device": "meta"})
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for dsp:spectrogram:
          wkwargs: device is not a window option; windows are built on the CPU and follow their module's .to()
    """
    placing = [key for key in _PLACEMENT_KEYWORDS if key in (wkwargs or {})]
    if placing:
        problem = f"wkwargs: {', '.join(placing)} is not a window option; "
        raise InvalidParameterError(
            component, [problem + "windows are built on the CPU and follow their module's .to()"]
        )
    try:
        window = window_fn(length, **dict(wkwargs or {}))
    except Exception as exc:  # a factory's refusal of its arguments, whatever it raises
        problem = f"window_fn, wkwargs: window_fn({length}, **{dict(wkwargs or {})!r:.200}) fails: "
        raise InvalidParameterError(component, [problem + f"{type(exc).__name__}: {str(exc)[:300]}"]) from None
    flaw = _window_problem(window, length)
    if flaw is not None:
        wanted = f"it must be a real tensor of {length} samples on the CPU"
        raise InvalidParameterError(component, [f"window_fn, wkwargs: the window is {flaw}; {wanted}"])
    return window


def _window_problem(window: Any, length: int) -> str | None:
    """What makes ``window`` unusable as a window of ``length`` samples, or ``None``."""
    if not isinstance(window, torch.Tensor):
        return f"a {type(window).__name__}"
    if window.is_meta:
        return "a meta tensor"
    if window.device.type != "cpu":
        return f"on {window.device}"
    if not window.is_floating_point():
        return f"of dtype {window.dtype}"
    if tuple(window.shape) != (length,):
        return f"of shape {tuple(window.shape)}"
    if not bool(torch.isfinite(window).all()):
        return "not finite"
    return None


def finite_filterbank(component: str, bounds: str, filters: torch.Tensor) -> torch.Tensor:
    """``filters``, unless a degenerate band (``f_max`` a hair above ``f_min``) made them NaN or infinite:
    then an ``InvalidParameterError`` naming the ``bounds`` parameters.

    Example:
        >>> finite_filterbank("dsp:mel_scale", "f_min, f_max", torch.ones(2, 2)).shape
        torch.Size([2, 2])
    """
    if not bool(torch.isfinite(filters).all()):
        raise InvalidParameterError(component, [f"{bounds}: the band is too narrow; its filters are not finite"])
    return filters


def check_filterbank(component: str, sizes: Mapping[str, object], rows: int, columns: int) -> None:
    """Refuse, before it is built, a ``rows x columns`` filterbank over the buffer budget (counting the float64
    temporaries of its construction); ``sizes`` are the parameters it derives from.

    Example:
        >>> check_filterbank("dsp:mel_scale", {"n_stft": 201, "n_mels": 80}, 201, 80)
    """
    check_buffer_bytes(component, sizes, float(_FILTERBANK_ELEMENT_BYTES) * rows * columns)


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


#: A filterbank's lowest filter edge; with :data:`BandHigh` and :func:`band_within_nyquist`.
BandLow = Annotated[float, Field(ge=0, description="Lowest filter edge, in Hz.")]
#: A filterbank's highest filter edge (checked against ``sample_rate`` by :func:`band_within_nyquist`).
BandHigh = Annotated[
    float | None,
    Field(
        gt=0,
        validate_default=True,
        description="Highest filter edge in Hz (<= sample_rate / 2); None: half the sample rate.",
    ),
]


def band_within_nyquist(value: float | None, info: ValidationInfo) -> float | None:
    """The ``f_max`` validator of a ``Params`` with ``sample_rate``, ``f_min`` and ``f_max`` (in that order): see
    :func:`check_band`.

    Example:
        >>> from pydantic import field_validator
        >>> class Band(Params):
        ...     sample_rate: int = 16000
        ...     f_min: BandLow = 0.0
        ...     f_max: BandHigh = None
        ...     _band_within_nyquist = field_validator("f_max")(band_within_nyquist)
        >>> Band(f_max=9000.0)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for Band
        f_max
          Value error, f_max must not exceed sample_rate / 2 (8000.0) ...
    """
    check_band(info.data.get("f_min"), value, info.data.get("sample_rate"))
    return value


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
        None, ge=1, le=1 << 20, validate_default=True, description="Window length (<= n_fft); None means n_fft."
    )
    hop_length: int | None = Field(
        None, ge=1, le=1 << 20, description="Samples between frames; None means win_length // 2."
    )
    pad: int = Field(0, ge=0, le=1 << 20, description="Zeros added to both sides of the signal before the STFT.")
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
        if self.hop_length < 1:
            raise InvalidParameterError(
                self.qualified_name, [f"win_length: {self.win_length} // 2 is 0; give hop_length"]
            )
        self.pad = params.pad
        self.power = power
        self.normalized = params.normalized
        self.center = params.center
        self.pad_mode = params.pad_mode
        self.onesided = onesided
        # even the shortest input becomes this many frames, from the padding alone
        frames = (2 * self.pad + (self.n_fft if self.center else 0)) // self.hop_length + 1
        sizes = {"n_fft": self.n_fft, "hop_length": self.hop_length, "pad": self.pad}
        check_buffer_bytes(self.qualified_name, sizes, 8.0 * frames * (self.n_fft // 2 + 1), "output for any input")
        window = build_window(self.qualified_name, params.window_fn, self.win_length, params.wkwargs)
        framed = frame_window(window, self.n_fft, self.win_length, *normalization_flags(params.normalized))
        self.register_buffer("window", framed, persistent=False)

    def _spectrum(self, waveform: torch.Tensor, fb: torch.Tensor | None) -> torch.Tensor:
        return stft_features(
            waveform, self.window, self.hop_length, self.pad, self.power, self.center, self.pad_mode, self.onesided, fb
        )
