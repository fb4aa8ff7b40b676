"""Kaldi's perceptual linear prediction (PLP) on batches of frames.

From the power spectrum of each frame: mel energies, weighted by the equal-loudness curve at each bin's
centre frequency and raised to ``compress_factor`` (intensity to loudness); the autocorrelation of that
auditory spectrum by an inverse DFT; an all-pole model of order ``lpc_order`` by the Levinson-Durbin
recursion; and its cepstrum by the LPC-to-cepstrum recursion. Both recursions run over the model order
(a loop of ``lpc_order`` steps) with every frame of the batch at once.

Example:
    >>> import torch
    >>> lpc, residual = durbin(torch.tensor([[1.0, 0.5, 0.25]], dtype=torch.float64))
    >>> [round(v, 6) + 0.0 for v in lpc[0].tolist()], round(residual.item(), 6)
    ([-0.5, 0.0], 0.75)
"""

from __future__ import annotations

import math

import torch

from tympan.plugins.kaldi.functional._mel import inverse_mel_scale, mel_scale, resolve_band, vtln_warp_freq

__all__ = ["durbin", "equal_loudness", "idft_bases", "lpc_to_cepstrum", "plp_cepstra"]

#: The smallest positive normal float32, Kaldi's floor in PLP where the other features use epsilon.
FLOAT32_MIN = 1.1754943508222875e-38


def equal_loudness(
    num_bins: int,
    sample_frequency: float,
    low_freq: float,
    high_freq: float,
    vtln_low: float = 100.0,
    vtln_high: float = -500.0,
    vtln_warp: float = 1.0,
) -> torch.Tensor:
    """The equal-loudness weight of each mel bin, at its (VTLN-warped) centre frequency, float64.

    ``w(f) = (f^2 / (f^2 + 1.6e5))^2 (f^2 + 1.44e6) / (f^2 + 9.61e6)``, Hermansky's approximation.

    Example:
        >>> equal_loudness(23, 16000.0, 20.0, 0.0).shape
        torch.Size([23])
    """
    low, high = resolve_band(sample_frequency, low_freq, high_freq)
    f64 = torch.float64
    mel_low, mel_high = mel_scale(torch.tensor(low, dtype=f64)), mel_scale(torch.tensor(high, dtype=f64))
    centers = mel_low + torch.arange(1, num_bins + 1, dtype=f64) * (mel_high - mel_low) / (num_bins + 1)
    if vtln_warp != 1.0:
        cut_high = vtln_high + 0.5 * sample_frequency if vtln_high < 0.0 else vtln_high
        centers = mel_scale(vtln_warp_freq(vtln_low, cut_high, low, high, vtln_warp, inverse_mel_scale(centers)))
    fsq = inverse_mel_scale(centers).square()
    fsub = fsq / (fsq + 1.6e5)
    return fsub * fsub * (fsq + 1.44e6) / (fsq + 9.61e6)


def idft_bases(num_bases: int, dimension: int) -> torch.Tensor:
    """``(num_bases, dimension)`` rows of the inverse real DFT of a symmetric spectrum of ``dimension`` points.

    Row ``i`` gives autocorrelation lag ``i`` of a power spectrum sampled at ``dimension`` equally spaced
    frequencies from 0 to Nyquist (end points counted once).

    Example:
        >>> [[round(v, 6) + 0.0 for v in row] for row in idft_bases(2, 3).tolist()]
        [[0.25, 0.5, 0.25], [0.25, 0.0, -0.25]]
    """
    i = torch.arange(num_bases, dtype=torch.float64)[:, None]
    j = torch.arange(dimension, dtype=torch.float64)
    scale = 1.0 / (2.0 * (dimension - 1))
    weights = torch.full((dimension,), 2.0 * scale, dtype=torch.float64)
    weights[0] = weights[-1] = scale
    return weights * torch.cos(math.pi / (dimension - 1) * i * j)


def durbin(autocorrelation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Levinson-Durbin on ``(..., order + 1)`` autocorrelations: Kaldi's LPC ``(..., order)`` and residual energy.

    The coefficients are those of the inverse filter ``A(z) = 1 + sum_k a_k z^-k``. As in Kaldi, each step's
    ``1 - k^2`` is floored at 1e-5; an all-zero autocorrelation (digital silence) gives zero coefficients
    and zero energy instead of Kaldi's NaN.
    """
    order = autocorrelation.shape[-1] - 1
    energy = autocorrelation[..., 0]
    lpc = autocorrelation.new_zeros((*autocorrelation.shape[:-1], order))
    for i in range(order):
        accumulated = autocorrelation[..., i + 1] + (lpc[..., :i] * autocorrelation[..., 1 : i + 1].flip(-1)).sum(-1)
        reflection = torch.where(energy > 0, accumulated / energy.clamp(min=FLOAT32_MIN), torch.zeros_like(energy))
        energy = energy * (1.0 - reflection * reflection).clamp(min=1e-5)
        previous = lpc[..., :i].clone()
        lpc[..., :i] = previous - reflection.unsqueeze(-1) * previous.flip(-1)
        lpc[..., i] = -reflection
    return lpc, energy


def lpc_to_cepstrum(lpc: torch.Tensor) -> torch.Tensor:
    """The first ``order`` cepstral coefficients of the all-pole model ``1 / A(z)`` of ``(..., order)`` LPC.

    ``c_n = -a_n - (1/n) sum_{k=1}^{n-1} (n - k) a_k c_{n-k}``, the recursion for ``log(1 / A(z))``.

    Example:
        >>> import torch
        >>> [round(v, 6) for v in lpc_to_cepstrum(torch.tensor([-0.5, 0.0], dtype=torch.float64)).tolist()]
        [0.5, 0.125]
    """
    order = lpc.shape[-1]
    cepstrum = torch.zeros_like(lpc)
    for i in range(order):
        weights = torch.arange(i, 0, -1, dtype=lpc.dtype, device=lpc.device)
        accumulated = (weights * lpc[..., :i] * cepstrum[..., :i].flip(-1)).sum(-1)
        cepstrum[..., i] = -lpc[..., i] - accumulated / (i + 1)
    return cepstrum


def plp_cepstra(mel_energies: torch.Tensor, tables: dict[str, torch.Tensor], compress_factor: float) -> torch.Tensor:
    """Kaldi's PLP cepstra (before energy and HTK reordering) of ``(..., num_mel_bins)`` mel energies.

    ``tables`` holds ``loudness`` (equal-loudness weights), ``idft`` (:func:`idft_bases` over the bins plus
    the two duplicated ends) and ``lifter`` (lifter times ``cepstral_scale``). Column 0 is the log residual
    energy of the linear prediction, floored at the smallest normal float32 as Kaldi does.
    """
    auditory = (mel_energies * tables["loudness"]).pow(compress_factor)
    extended = torch.cat([auditory[..., :1], auditory, auditory[..., -1:]], dim=-1)
    lpc, residual = durbin(extended @ tables["idft"].T)
    c0 = residual.clamp(min=0).log().clamp(min=FLOAT32_MIN).unsqueeze(-1)
    num_ceps = tables["lifter"].shape[0]
    cepstra = torch.cat([c0, lpc_to_cepstrum(lpc)[..., : num_ceps - 1]], dim=-1)
    return cepstra * tables["lifter"]
