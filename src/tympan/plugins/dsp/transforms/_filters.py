"""IIR filters as transforms: ``LFilter``, ``Filtfilt`` and ``Sosfilt`` with given coefficients, and ``Biquad``.

The coefficients are validated at construction (a non-zero ``a0``, every pole strictly inside the unit
circle) and held, divided by ``a0``, as float64 buffers rebuilt from the parameters (not saved in the state
dict). The designed biquads (``LowpassBiquad`` and its family) live in :mod:`._biquad_filters`.

Example:
    >>> import torch
    >>> LFilter(a_coeffs=[1.0, -0.5], b_coeffs=[0.5, 0.0])(torch.tensor([1.0, 0.0, 0.0])).tolist()
    [0.5, 0.25, 0.125]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch
from pydantic import Field, ValidationInfo, field_validator

from tympan.core.errors import ExportError
from tympan.core.params import Params
from tympan.plugins.dsp.functional._iir import filter_waveform
from tympan.plugins.dsp.transforms._base import DspTransform
from tympan.plugins.dsp.transforms._iir_step import IirStep

__all__ = ["IirTransform", "LFilter", "Filtfilt", "Sosfilt", "Biquad", "stability_problem"]


def stability_problem(a_coeffs: Sequence[float]) -> str | None:
    """Why the denominator ``a_coeffs`` cannot be filtered with, or ``None`` when it is stable.

    Example:
        >>> stability_problem([1.0, -0.5]) is None, stability_problem([1.0, -2.0, 1.0])
        (True, 'poles on or outside the unit circle (largest |pole| = 1)')
    """
    if not a_coeffs or a_coeffs[0] == 0:
        return "the leading coefficient a0 must not be zero"
    if not all(np.isfinite(a_coeffs)):
        return "coefficients must be finite"
    poles = np.roots(np.asarray(a_coeffs, dtype=np.float64)) if len(a_coeffs) > 1 else np.zeros(0)
    radius = float(np.abs(poles).max()) if poles.size else 0.0
    if radius >= 1.0 - 1e-12:
        return f"poles on or outside the unit circle (largest |pole| = {radius:.6g})"
    return None


class IirTransform(DspTransform):
    """A transform filtering ``(..., time)`` by fixed IIR sections held as buffers ``a`` and ``b``.

    ``a`` and ``b`` are ``(sections, N + 1)`` and ``(sections, M + 1)`` with ``a0 = 1``; the sections run in
    cascade, each as :func:`~tympan.plugins.dsp.functional.lfilter`; ``clamp`` limits the final output to
    ``[-1, 1]``.

    Example:
        >>> import torch
        >>> LFilter([1.0, -0.5], [1.0, 0.0]).a.tolist()
        [[1.0, -0.5]]
    """

    produces_waveform: ClassVar[bool] = True
    #: Whether each output sample depends only on the samples up to it (a stream can compute it).
    causal: ClassVar[bool] = True

    def _hold(self, a_rows: Sequence[Sequence[float]], b_rows: Sequence[Sequence[float]], clamp: bool) -> None:
        a = torch.tensor([list(row) for row in a_rows], dtype=torch.float64)
        b = torch.tensor([list(row) for row in b_rows], dtype=torch.float64)
        self.register_buffer("a", a / a[:, :1], persistent=False)
        self.register_buffer("b", b / a[:, :1], persistent=False)
        self.clamp = clamp

    def _cascade(self, waveform: torch.Tensor, clamp: bool) -> torch.Tensor:
        out = waveform
        last = self.a.shape[0] - 1
        for section in range(self.a.shape[0]):
            out = filter_waveform(
                out, self.a[section : section + 1], self.b[section : section + 1], clamp and section == last
            )
        return out

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` filtered, same shape and dtype."""
        return self._cascade(waveform, self.clamp)

    def streaming_step(self, chunk_samples: int, dtype: torch.dtype = torch.float32) -> IirStep:
        """The step filtering ``chunk_samples`` samples a call, carrying the sections' state (for export).

        Raises :class:`~tympan.core.errors.ExportError` for a filter that is not causal (``dsp:filtfilt``).

        Example:
            >>> LFilter([1.0, -0.5], [1.0, 0.0]).streaming_step(160).state_size
            2
        """
        if not self.causal:
            reason = "runs backwards from the end of the signal, so it cannot stream"
            raise ExportError([f"{self.qualified_name}: {reason}"])
        return IirStep(self.qualified_name, self.a, self.b, self.clamp, chunk_samples, dtype)


class _TransferFunctionParams(Params):
    a_coeffs: list[float] = Field(..., min_length=1, max_length=64, description="Denominator [a0, a1, ...].")
    b_coeffs: list[float] = Field(..., min_length=1, max_length=64, description="Numerator [b0, b1, ...].")
    clamp: bool = Field(True, description="Clamp the output to [-1, 1].")

    @field_validator("a_coeffs")
    @classmethod
    def _stable(cls, value: list[float]) -> list[float]:
        problem = stability_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class LFilter(IirTransform):
    """The filter ``b / a`` as a module, as ``torchaudio.functional.lfilter`` with fixed coefficients.

    Example:
        >>> import torch
        >>> LFilter(a_coeffs=[1.0, -0.9], b_coeffs=[0.1])(torch.ones(2, 1000))[:, -1].tolist()
        [1.0, 1.0]
    """

    qualified_name = "dsp:lfilter"

    class Params(_TransferFunctionParams):
        """Parameters of :class:`LFilter`."""

    def __init__(self, a_coeffs: Sequence[float], b_coeffs: Sequence[float], clamp: bool = True) -> None:
        params = self.validated(locals())
        super().__init__()
        self._hold([params.a_coeffs], [params.b_coeffs], params.clamp)


class Filtfilt(IirTransform):
    """Zero-phase filtering by ``b / a``, as ``torchaudio.functional.filtfilt`` with fixed coefficients.

    Example:
        >>> import torch
        >>> x = torch.zeros(61, dtype=torch.float64)
        >>> x[30] = 1.0
        >>> y = Filtfilt(a_coeffs=[1.0, -0.5], b_coeffs=[0.5])(x)
        >>> torch.allclose(y, y.flip(-1), atol=1e-8)
        True
    """

    qualified_name = "dsp:filtfilt"
    causal: ClassVar[bool] = False

    class Params(_TransferFunctionParams):
        """Parameters of :class:`Filtfilt`."""

    def __init__(self, a_coeffs: Sequence[float], b_coeffs: Sequence[float], clamp: bool = True) -> None:
        params = self.validated(locals())
        super().__init__()
        self._hold([params.a_coeffs], [params.b_coeffs], params.clamp)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """``(..., time)`` filtered forward then backward in time, same shape and dtype."""
        forward = self._cascade(waveform, False)
        return self._cascade(forward.flip(-1), self.clamp).flip(-1)


class Sosfilt(IirTransform):
    """A cascade of second-order sections, as ``scipy.signal.sosfilt`` (output not clamped).

    Example:
        >>> import torch
        >>> cascade = Sosfilt([[1.0, 0.0, 0.0, 1.0, -0.5, 0.0], [2.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
        >>> cascade(torch.tensor([1.0, 0.0])).tolist()
        [2.0, 1.0]
    """

    qualified_name = "dsp:sosfilt"

    class Params(Params):
        """Parameters of :class:`Sosfilt`."""

        sos: list[list[float]] = Field(
            ..., min_length=1, max_length=256, description="Sections, one row [b0, b1, b2, a0, a1, a2] each."
        )

        @field_validator("sos")
        @classmethod
        def _stable_sections(cls, value: list[list[float]]) -> list[list[float]]:
            for index, row in enumerate(value):
                if len(row) != 6:
                    raise ValueError(f"section {index} has {len(row)} coefficients, expected 6")
                problem = stability_problem(row[3:])
                if problem is not None:
                    raise ValueError(f"section {index}: {problem}")
            return value

    def __init__(self, sos: Sequence[Sequence[float]]) -> None:
        params = self.validated(locals())
        super().__init__()
        self._hold([row[3:] for row in params.sos], [row[:3] for row in params.sos], False)


class Biquad(IirTransform):
    """One second-order section ``(b0, b1, b2) / (a0, a1, a2)``, as ``torchaudio.functional.biquad``.

    Example:
        >>> import torch
        >>> Biquad(b0=0.5, b1=0.0, b2=0.0, a0=1.0, a1=-0.5, a2=0.0)(torch.tensor([1.0, 0.0])).tolist()
        [0.5, 0.25]
    """

    qualified_name = "dsp:biquad"

    class Params(Params):
        """Parameters of :class:`Biquad`."""

        b0: float = Field(..., description="Numerator coefficient of z^0.")
        b1: float = Field(..., description="Numerator coefficient of z^-1.")
        b2: float = Field(..., description="Numerator coefficient of z^-2.")
        a0: float = Field(..., description="Denominator coefficient of z^0 (not zero).")
        a1: float = Field(..., description="Denominator coefficient of z^-1.")
        a2: float = Field(..., description="Denominator coefficient of z^-2; with a1, poles inside the unit circle.")

        @field_validator("a2")
        @classmethod
        def _stable(cls, value: float, info: ValidationInfo) -> float:
            a0, a1 = info.data.get("a0"), info.data.get("a1")
            if a0 is not None and a1 is not None:
                problem = stability_problem([a0, a1, value])
                if problem is not None:
                    raise ValueError(f"a0, a1, a2: {problem}")
            return value

    def __init__(self, b0: float, b1: float, b2: float, a0: float, a1: float, a2: float) -> None:
        params = self.validated(locals())
        super().__init__()
        self._hold([[params.a0, params.a1, params.a2]], [[params.b0, params.b1, params.b2]], True)
