"""SoX's biquad filters: its filter widths turned into the Q of the DSP plugin's designs, and the few
designs SoX has that the DSP plugin does not (the one-pole low- and high-pass, the experimental all-passes).

SoX sizes a filter by a width in one of several units; every one of them is an ``alpha`` of the audio-EQ
cookbook, so each maps to an equivalent Q (``alpha = sin(w0) / (2 Q)``):

- ``q``: Q itself;  ``h``: a bandwidth in Hz, ``Q = f / bandwidth``;
- ``o``: a bandwidth in octaves, ``1 / Q = 2 sinh(ln 2 / 2 * octaves * w0 / sin w0)``;
- ``s``: a shelf slope ``S``, ``1 / Q = sqrt((A + 1/A)(1/S - 1) + 2)`` with ``A = 10 ** (gain / 40)``.

Example:
    >>> round(equivalent_q(8000, 1000.0, 0.5, "s", 6.0), 4), equivalent_q(8000, 1000.0, 250.0, "h")
    (0.4926, 4.0)
"""

from __future__ import annotations

import math

import torch

__all__ = ["equivalent_q", "band_bandwidth", "one_pole_coefficients", "experimental_allpass_coefficients"]


def equivalent_q(sample_rate: float, frequency: float, width: float, width_type: str, gain: float = 0.0) -> float:
    """The Q giving the same ``alpha`` as SoX's ``width`` of unit ``width_type`` (``q``, ``o``, ``h``, ``s``).

    Example:
        >>> round(equivalent_q(44100, 1000.0, 1.0, "o"), 4)
        1.4092
    """
    if width_type == "q":
        return width
    if width_type == "h":
        return frequency / width
    w0 = 2 * math.pi * frequency / sample_rate
    if width_type == "o":
        return 1.0 / (2.0 * math.sinh(math.log(2.0) / 2 * width * w0 / math.sin(w0)))
    if width_type == "s":
        amplitude = 10.0 ** (gain / 40)
        return 1.0 / math.sqrt((amplitude + 1 / amplitude) * (1 / width - 1) + 2)
    raise ValueError(f"unknown width type {width_type!r}")


def band_bandwidth(frequency: float, width: float | None, width_type: str) -> float:
    """The bandwidth in Hz of SoX's ``band`` resonator (``None``: half the centre frequency).

    Example:
        >>> band_bandwidth(1000.0, None, "h"), band_bandwidth(1000.0, 2.0, "q")
        (500.0, 500.0)
    """
    if width is None:
        return frequency / 2
    if width_type == "q":
        return frequency / width
    if width_type == "h":
        return width
    return frequency * (2.0**width - 1) * 2.0 ** (-0.5 * width)


def one_pole_coefficients(sample_rate: float, frequency: float, high: bool) -> torch.Tensor:
    """SoX's single-pole low-pass (``-1``) or high-pass as ``[b0, b1, b2, a0, a1, a2]`` (float64).

    The pole is ``exp(-w0)``; the low-pass has unit gain at DC, the high-pass at the Nyquist frequency.

    Example:
        >>> [round(c, 4) for c in one_pole_coefficients(8000, 1000.0, high=False).tolist()]
        [0.5441, 0.0, 0.0, 1.0, -0.4559, 0.0]
    """
    a1 = -math.exp(-2 * math.pi * frequency / sample_rate)
    if high:
        b0 = (1 - a1) / 2
        return torch.tensor([b0, -b0, 0.0, 1.0, a1, 0.0], dtype=torch.float64)
    return torch.tensor([1 + a1, 0.0, 0.0, 1.0, a1, 0.0], dtype=torch.float64)


def experimental_allpass_coefficients(sample_rate: float, frequency: float, poles: int) -> torch.Tensor:
    """SoX's experimental one- or two-pole all-pass (``allpass -1`` / ``-2``) as ``[b0, b1, b2, a0, a1, a2]``.

    Example:
        >>> c = experimental_allpass_coefficients(8000, 1000.0, 1)
        >>> [round(v, 4) for v in c.tolist()]
        [0.4559, -1.0, 0.0, 1.0, -0.4559, 0.0]
    """
    w0 = 2 * math.pi * frequency / sample_rate
    if poles == 1:
        pole = math.exp(-w0)
        return torch.tensor([pole, -1.0, 0.0, 1.0, -pole, 0.0], dtype=torch.float64)
    sin, cos = math.sin(w0), math.cos(w0)
    return torch.tensor([1 - sin, -2 * cos, 1 + sin, 1 + sin, -2 * cos, 1 - sin], dtype=torch.float64)
