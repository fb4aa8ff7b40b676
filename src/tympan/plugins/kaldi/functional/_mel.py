"""Kaldi's mel filter bank: triangles on the mel scale ``1127 ln(1 + f / 700)``, with optional VTLN warping.

Bin ``m`` of ``num_bins`` rises from mel ``low + m * delta`` to ``low + (m + 1) * delta`` and falls to
``low + (m + 2) * delta``, where ``delta = (mel(high) - mel(low)) / (num_bins + 1)``. Its weight on FFT bin
``i`` (frequency ``i * sample_frequency / n_fft``) is the triangle evaluated at that bin's mel frequency;
the Nyquist bin gets no weight. With a VTLN warp factor other than 1 the triangles' corners are moved by
Kaldi's piecewise-linear frequency warp.

Example:
    >>> banks = mel_banks(num_bins=23, n_fft=512, sample_frequency=16000.0, low_freq=20.0, high_freq=0.0)
    >>> banks.shape, bool(banks[:, -1].eq(0).all())
    (torch.Size([23, 257]), True)
"""

from __future__ import annotations

import torch

__all__ = ["check_vtln", "inverse_mel_scale", "mel_banks", "mel_scale", "resolve_band", "vtln_warp_freq"]


def mel_scale(freq: torch.Tensor) -> torch.Tensor:
    """Hz to Kaldi's mel: ``1127 ln(1 + f / 700)``.

    Example:
        >>> round(mel_scale(torch.tensor(700.0, dtype=torch.float64)).item(), 3)
        781.177
    """
    return 1127.0 * torch.log1p(freq / 700.0)


def inverse_mel_scale(mel: torch.Tensor) -> torch.Tensor:
    """Kaldi's mel back to Hz.

    Example:
        >>> round(inverse_mel_scale(mel_scale(torch.tensor(440.0, dtype=torch.float64))).item(), 6)
        440.0
    """
    return 700.0 * torch.expm1(mel / 1127.0)


def resolve_band(sample_frequency: float, low_freq: float, high_freq: float) -> tuple[float, float]:
    """``(low, high)`` in Hz, where a ``high_freq`` <= 0 counts down from the Nyquist frequency.

    Raises ``ValueError`` unless ``0 <= low < high <= nyquist``.

    Example:
        >>> resolve_band(16000.0, 20.0, -400.0)
        (20.0, 7600.0)
    """
    nyquist = 0.5 * sample_frequency
    high = high_freq if high_freq > 0.0 else nyquist + high_freq
    if low_freq < 0.0 or low_freq >= nyquist or high <= 0.0 or high > nyquist or high <= low_freq:
        raise ValueError(
            f"low_freq={low_freq} and high_freq={high_freq} give the band [{low_freq}, {high}] Hz, which must "
            f"satisfy 0 <= low < high <= {nyquist} (the Nyquist frequency; high_freq <= 0 counts down from it)"
        )
    return float(low_freq), float(high)


def _vtln_cutoffs(vtln_low: float, vtln_high: float, nyquist: float) -> tuple[float, float]:
    return vtln_low, vtln_high + nyquist if vtln_high < 0.0 else vtln_high


def check_vtln(
    sample_frequency: float, low_freq: float, high_freq: float, vtln_low: float, vtln_high: float, vtln_warp: float
) -> None:
    """Raise ``ValueError`` unless the VTLN cutoffs lie strictly inside the mel band (when warping).

    Example:
        >>> check_vtln(16000.0, 20.0, 0.0, 100.0, -500.0, 0.9)
    """
    if vtln_warp == 1.0:
        return
    low, high = resolve_band(sample_frequency, low_freq, high_freq)
    cut_low, cut_high = _vtln_cutoffs(vtln_low, vtln_high, 0.5 * sample_frequency)
    if not (low < cut_low < high and 0.0 < cut_high < high and cut_low < cut_high):
        raise ValueError(
            f"vtln_low={vtln_low} and vtln_high={vtln_high} give the cutoffs [{cut_low}, {cut_high}] Hz, which must "
            f"lie inside the band ({low}, {high}) Hz with vtln_low below vtln_high (vtln_high <= 0 counts down "
            "from the Nyquist frequency)"
        )


def vtln_warp_freq(
    vtln_low_cutoff: float,
    vtln_high_cutoff: float,
    low_freq: float,
    high_freq: float,
    vtln_warp_factor: float,
    freq: torch.Tensor,
) -> torch.Tensor:
    """Kaldi's VTLN frequency warp: ``f / warp`` between two inflection points, linear to the band edges beyond.

    The lower inflection point is ``vtln_low_cutoff * max(1, warp)``, the upper ``vtln_high_cutoff * min(1,
    warp)``; frequencies outside ``[low_freq, high_freq]`` are returned unchanged.

    Example:
        >>> f = torch.tensor([20.0, 1000.0, 8000.0], dtype=torch.float64)
        >>> [round(v, 3) for v in vtln_warp_freq(100.0, 7500.0, 20.0, 8000.0, 1.25, f).tolist()]
        [20.0, 800.0, 8000.0]
    """
    low_point = vtln_low_cutoff * max(1.0, vtln_warp_factor)
    high_point = vtln_high_cutoff * min(1.0, vtln_warp_factor)
    scale = 1.0 / vtln_warp_factor
    scale_left = (scale * low_point - low_freq) / (low_point - low_freq)
    scale_right = (high_freq - scale * high_point) / (high_freq - high_point)
    warped = torch.where(
        freq < low_point,
        low_freq + scale_left * (freq - low_freq),
        torch.where(freq < high_point, scale * freq, high_freq + scale_right * (freq - high_freq)),
    )
    return torch.where((freq < low_freq) | (freq > high_freq), freq, warped)


def mel_banks(
    num_bins: int,
    n_fft: int,
    sample_frequency: float,
    low_freq: float,
    high_freq: float,
    vtln_low: float = 100.0,
    vtln_high: float = -500.0,
    vtln_warp: float = 1.0,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """The ``(num_bins, n_fft // 2 + 1)`` weights of Kaldi's mel filter bank on a one-sided power spectrum.

    Computed in float64, then cast. Raises ``ValueError`` when the band or the VTLN cutoffs are invalid, or
    when a bin covers no FFT bin (too many bins for the FFT size), as Kaldi does.

    Example:
        >>> mel_banks(3, 16, 8000.0, 0.0, 0.0).shape
        torch.Size([3, 9])
    """
    low, high = resolve_band(sample_frequency, low_freq, high_freq)
    check_vtln(sample_frequency, low_freq, high_freq, vtln_low, vtln_high, vtln_warp)
    f64 = torch.float64
    mel_low, mel_high = mel_scale(torch.tensor(low, dtype=f64)), mel_scale(torch.tensor(high, dtype=f64))
    delta = (mel_high - mel_low) / (num_bins + 1)
    edges = mel_low + torch.arange(num_bins + 2, dtype=f64) * delta
    if vtln_warp != 1.0:
        cut_low, cut_high = _vtln_cutoffs(vtln_low, vtln_high, 0.5 * sample_frequency)
        edges = mel_scale(vtln_warp_freq(cut_low, cut_high, low, high, vtln_warp, inverse_mel_scale(edges)))
    left, center, right = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    fft_mel = mel_scale(torch.arange(n_fft // 2, dtype=f64) * (sample_frequency / n_fft))
    rising = (fft_mel - left) / (center - left)
    falling = (right - fft_mel) / (right - center)
    weights = torch.where(fft_mel <= center, rising, falling)
    weights = torch.where((fft_mel > left) & (fft_mel < right), weights, torch.zeros_like(weights))
    empty = (weights.count_nonzero(dim=1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(
            f"num_mel_bins={num_bins} is too many for an FFT of {n_fft} points over [{low}, {high}] Hz: "
            f"mel bin(s) {empty[:5]} cover no FFT bin"
        )
    return torch.nn.functional.pad(weights, [0, 1]).to(dtype)
