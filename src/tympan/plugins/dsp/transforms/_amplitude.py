"""Sample-wise amplitude transforms: mu-law companding, volume, and fades.

Example:
    >>> import torch
    >>> codes = MuLawEncoding(256)(torch.tensor([-0.5, 0.0, 0.5]))
    >>> codes.tolist(), [round(v, 2) for v in MuLawDecoding(256)(codes).tolist()]
    ([16, 128, 239], [-0.5, 0.0, 0.5])
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.params import Params
from tympan.plugins.dsp.functional._amplitude import mu_law_decoding, mu_law_encoding
from tympan.plugins.dsp.transforms._base import DspTransform

__all__ = ["MuLawEncoding", "MuLawDecoding", "Vol", "Fade"]


class _MuLawParams(Params):
    """Parameters of the mu-law transforms."""

    quantization_channels: int = Field(
        256, ge=2, le=1 << 24, description="Number of codes (mu + 1); 256 gives 8-bit mu-law."
    )


class MuLawEncoding(DspTransform):
    """Mu-law encode ``(...)`` values in ``[-1, 1]`` to int64 codes, as ``torchaudio.transforms.MuLawEncoding``.

    Example:
        >>> import torch
        >>> MuLawEncoding(quantization_channels=16)(torch.tensor([-1.0, 0.0, 1.0])).tolist()
        [0, 8, 15]
    """

    qualified_name = "dsp:mu_law_encoding"
    Params = _MuLawParams

    def __init__(self, quantization_channels: int = 256) -> None:
        params = self.validated(locals())
        super().__init__()
        self.quantization_channels = params.quantization_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Codes in ``[0, quantization_channels - 1]``, same shape, int64."""
        return mu_law_encoding(x, self.quantization_channels)


class MuLawDecoding(DspTransform):
    """Decode mu-law codes to a waveform in ``[-1, 1]``, as ``torchaudio.transforms.MuLawDecoding``.

    Example:
        >>> import torch
        >>> MuLawDecoding(quantization_channels=16)(torch.tensor([0, 15])).tolist()
        [-1.0, 1.0]
    """

    qualified_name = "dsp:mu_law_decoding"
    produces_waveform: ClassVar[bool] = True
    Params = _MuLawParams

    def __init__(self, quantization_channels: int = 256) -> None:
        params = self.validated(locals())
        super().__init__()
        self.quantization_channels = params.quantization_channels

    def forward(self, x_mu: torch.Tensor) -> torch.Tensor:
        """The waveform, same shape (integer codes give float32)."""
        return mu_law_decoding(x_mu, self.quantization_channels)


class Vol(DspTransform):
    """Scale the volume and clamp to ``[-1, 1]``, as ``torchaudio.transforms.Vol``.

    ``gain_type`` says how ``gain`` is read: an amplitude ratio (``"amplitude"``, >= 0), a power ratio
    (``"power"``, > 0; amplitude ``sqrt(gain)``) or decibels (``"db"``; amplitude ``10**(gain / 20)``).

    Example:
        >>> import torch
        >>> Vol(6.0, gain_type="db")(torch.tensor([0.1, 0.8])).tolist()
        [0.19952623546123505, 1.0]
    """

    qualified_name = "dsp:vol"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Vol`."""

        gain: float = Field(..., ge=-1000, le=1e6, description="The gain, read according to gain_type.")
        gain_type: Literal["amplitude", "power", "db"] = Field(
            "amplitude", description="amplitude: ratio (>= 0); power: power ratio (> 0); db: decibels."
        )

        @field_validator("gain_type")
        @classmethod
        def _ratio_is_positive(cls, value: str, info: ValidationInfo) -> str:
            gain = info.data.get("gain")
            if gain is not None and value == "amplitude" and gain < 0:
                raise ValueError(f"gain must be >= 0 when gain_type is 'amplitude', got {gain}")
            if gain is not None and value == "power" and gain <= 0:
                raise ValueError(f"gain must be > 0 when gain_type is 'power', got {gain}")
            return value

    def __init__(self, gain: float, gain_type: str = "amplitude") -> None:
        params = self.validated(locals())
        super().__init__()
        self.gain = params.gain
        self.gain_type = params.gain_type
        if params.gain_type == "amplitude":
            self.ratio = params.gain
        elif params.gain_type == "power":
            self.ratio = math.sqrt(params.gain)
        else:
            self.ratio = 10.0 ** (params.gain / 20.0)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``clamp(waveform * ratio, -1, 1)``."""
        return torch.clamp(waveform * self.ratio, -1.0, 1.0)


def fade_in_curve(progress: torch.Tensor, fade_shape: str) -> torch.Tensor:
    """Fade-in gain at ``progress`` in ``[0, 1]`` for each torchaudio shape; the fade-out is its mirror.

    Example:
        >>> [round(v, 3) for v in fade_in_curve(torch.tensor([0.0, 0.5, 1.0]), "half_sine").tolist()]
        [0.0, 0.5, 1.0]
    """
    if fade_shape == "linear":
        return progress
    if fade_shape == "exponential":
        return torch.pow(2.0, (progress - 1) * 5) * progress
    if fade_shape == "logarithmic":
        return torch.log10(0.1 + progress) + 1
    if fade_shape == "quarter_sine":
        return torch.sin(progress * math.pi / 2)
    return torch.sin(progress * math.pi - math.pi / 2) / 2 + 0.5


class Fade(DspTransform):
    """Fade in the first ``fade_in_len`` and out the last ``fade_out_len`` samples, as ``torchaudio.transforms.Fade``.

    Over a fade of ``n`` samples the progress runs ``linspace(0, 1, n)``; the gain is
    ``linear: p``, ``exponential: 2**(5 (p - 1)) p``, ``logarithmic: log10(0.1 + p) + 1``,
    ``quarter_sine: sin(p pi / 2)`` or ``half_sine: (1 + sin(p pi - pi / 2)) / 2`` (clamped to [0, 1]), and
    the fade-out applies the same curve at ``1 - p``. A fade longer than the signal is cut to its length.

    Example:
        >>> import torch
        >>> Fade(fade_in_len=3, fade_out_len=2)(torch.ones(6)).tolist()
        [0.0, 0.5, 1.0, 1.0, 1.0, 0.0]
    """

    qualified_name = "dsp:fade"
    produces_waveform: ClassVar[bool] = True

    class Params(Params):
        """Parameters of :class:`Fade`."""

        fade_in_len: int = Field(0, ge=0, le=1 << 31, description="Length of the fade-in, in samples.")
        fade_out_len: int = Field(0, ge=0, le=1 << 31, description="Length of the fade-out, in samples.")
        fade_shape: Literal["quarter_sine", "half_sine", "linear", "logarithmic", "exponential"] = Field(
            "linear", description="Shape of both fades."
        )

    def __init__(self, fade_in_len: int = 0, fade_out_len: int = 0, fade_shape: str = "linear") -> None:
        params = self.validated(locals())
        super().__init__()
        self.fade_in_len = params.fade_in_len
        self.fade_out_len = params.fade_out_len
        self.fade_shape = params.fade_shape

    def _ramp(self, length: int, fade_len: int, like: torch.Tensor, rising: bool) -> torch.Tensor:
        if fade_len <= length:
            progress = torch.linspace(0.0, 1.0, fade_len, dtype=like.dtype, device=like.device)
        else:  # only the part of a fade longer than the signal that falls on it, not the whole fade
            first = 0 if rising else fade_len - length
            positions = torch.arange(first, first + length, dtype=torch.float64, device=like.device)
            progress = (positions / max(fade_len - 1, 1)).to(like.dtype)
        curve = fade_in_curve(progress if rising else 1 - progress, self.fade_shape).clamp(0.0, 1.0)
        ones = torch.ones(max(length - fade_len, 0), dtype=like.dtype, device=like.device)
        if rising:
            return torch.cat([curve, ones])[:length]
        return torch.cat([ones, curve])[-length:] if length > 0 else ones

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` times the fade envelope."""
        dtype = waveform.dtype if waveform.is_floating_point() else torch.float32
        like = torch.empty(0, dtype=dtype, device=waveform.device)
        length = waveform.shape[-1]
        envelope = self._ramp(length, self.fade_in_len, like, True) * self._ramp(length, self.fade_out_len, like, False)
        return waveform * envelope
