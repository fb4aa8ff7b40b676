"""Sample-wise amplitude operations: mu-law companding, gain, noise at a given SNR, and dithering.

Example:
    >>> import torch
    >>> x = torch.tensor([-1.0, 0.0, 0.5])
    >>> mu_law_encoding(x, 256).tolist(), gain(x, 20.0).tolist()
    ([0, 128, 239], [-10.0, 0.0, 5.0])
"""

from __future__ import annotations

import math

import torch

from tympan.plugins.dsp.functional._precision import working_dtype

__all__ = ["mu_law_encoding", "mu_law_decoding", "gain", "add_noise", "dither"]


def _real(x: torch.Tensor) -> torch.Tensor:
    """``x`` in a floating working dtype (integer input becomes float32)."""
    if not x.is_floating_point():
        return x.to(torch.float32)
    return x.to(working_dtype(x.dtype))


def mu_law_encoding(x: torch.Tensor, quantization_channels: int) -> torch.Tensor:
    """Mu-law companding of ``x`` in ``[-1, 1]`` to integers in ``[0, quantization_channels - 1]`` (int64).

    With ``mu = quantization_channels - 1``: ``F(x) = sign(x) log(1 + mu |x|) / log(1 + mu)``, then
    ``floor((F(x) + 1) / 2 * mu + 0.5)``.

    Example:
        >>> mu_law_encoding(torch.tensor([-1.0, -0.01, 0.0, 0.01, 1.0]), 256).tolist()
        [0, 98, 128, 157, 255]
    """
    x = _real(x)
    mu = float(quantization_channels - 1)
    companded = torch.sign(x) * torch.log1p(mu * x.abs()) / math.log1p(mu)
    return ((companded + 1) / 2 * mu + 0.5).to(torch.int64)


def mu_law_decoding(x_mu: torch.Tensor, quantization_channels: int) -> torch.Tensor:
    """The inverse of :func:`mu_law_encoding`: codes in ``[0, quantization_channels - 1]`` to ``[-1, 1]``.

    With ``mu = quantization_channels - 1`` and ``y = 2 x_mu / mu - 1``:
    ``sign(y) ((1 + mu)**|y| - 1) / mu``. Integer codes give float32.

    Example:
        >>> [round(v, 4) for v in mu_law_decoding(torch.tensor([0, 128, 255]), 256).tolist()]
        [-1.0, 0.0001, 1.0]
    """
    x_mu = _real(x_mu)
    mu = float(quantization_channels - 1)
    y = x_mu / mu * 2 - 1
    return torch.sign(y) * torch.expm1(y.abs() * math.log1p(mu)) / mu


def gain(waveform: torch.Tensor, gain_db: float = 1.0) -> torch.Tensor:
    """``waveform`` scaled by ``gain_db`` decibels (amplitude ratio ``10**(gain_db / 20)``), unclamped.

    Example:
        >>> gain(torch.tensor([0.5, -0.25], dtype=torch.float64), -20.0 * math.log10(2)).tolist()
        [0.25, -0.125]
    """
    if gain_db == 0.0:
        return waveform
    return waveform * 10.0 ** (gain_db / 20.0)


def add_noise(
    waveform: torch.Tensor, noise: torch.Tensor, snr: torch.Tensor, lengths: torch.Tensor | None = None
) -> torch.Tensor:
    """``waveform + k * noise`` with ``k`` chosen so the signal-to-noise ratio is ``snr`` dB.

    ``waveform`` and ``noise`` are ``(..., time)``; ``snr`` (and ``lengths``, the valid samples of each
    signal) have shape ``(...)``. Energies are measured over the first ``lengths`` samples; the scaled noise
    is added everywhere. Silent signals get no noise, and so do all-zero noise signals.

    Example:
        >>> x, n = torch.ones(2, 1000), torch.randn(2, 1000)
        >>> y = add_noise(x, n, torch.tensor([10.0, 3.0]))
        >>> (10 * torch.log10(x.square().sum(-1) / (y - x).square().sum(-1))).round().tolist()
        [10.0, 3.0]
    """
    if not (waveform.dim() - 1 == noise.dim() - 1 == snr.dim() and (lengths is None or lengths.dim() == snr.dim())):
        raise ValueError("add_noise: waveform and noise need one dimension more than snr and lengths")
    length = waveform.shape[-1]
    if noise.shape[-1] != length:
        raise ValueError(f"add_noise: waveform has {length} samples but noise has {noise.shape[-1]}")
    work = working_dtype(waveform.dtype)
    signal_part, noise_part = waveform.to(work), noise.to(work)
    if lengths is not None:
        valid = torch.arange(length, device=waveform.device) < lengths.unsqueeze(-1)
        signal_part, noise_part = signal_part * valid, noise_part * valid
    signal_energy = signal_part.square().sum(-1)
    noise_energy = noise_part.square().sum(-1)
    ratio = signal_energy / (noise_energy * 10.0 ** (snr.to(work) / 10.0))
    # a zero ratio (silence, or no noise) scales by 0 with a zero gradient rather than sqrt's infinite one
    audible = (noise_energy > 0) & (ratio > 0)
    scale = torch.where(audible, ratio, torch.ones_like(ratio)).sqrt() * audible
    return (waveform.to(work) + scale.unsqueeze(-1) * noise.to(work)).to(waveform.dtype)


def _dither_noise(like: torch.Tensor, density_function: str, generator: torch.Generator | None) -> torch.Tensor:
    """Dither noise in LSBs: uniform on [-1/2, 1/2) (RPDF), a sum of two (TPDF) or normal with sigma 1/2."""
    if density_function == "RPDF":
        return torch.rand(like.shape, generator=generator, dtype=like.dtype, device=like.device) - 0.5
    if density_function == "TPDF":
        shape = [2]
        shape.extend(like.shape)
        pair = torch.rand(shape, generator=generator, dtype=like.dtype, device=like.device)
        return pair[0] - pair[1]
    return 0.5 * torch.randn(like.shape, generator=generator, dtype=like.dtype, device=like.device)


def dither(
    waveform: torch.Tensor,
    density_function: str = "TPDF",
    noise_shaping: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Quantise ``waveform`` to the 16-bit grid (steps of ``2**-15``) after adding dither noise.

    ``density_function`` is ``"TPDF"`` (triangular on +-1 LSB, variance 1/6 LSB^2: the total error then has
    mean 0 and variance 1/4 LSB^2 whatever the signal), ``"RPDF"`` (uniform on +-1/2 LSB) or ``"GPDF"``
    (Gaussian, sigma 1/2 LSB). With ``noise_shaping`` the previous sample's quantisation error is subtracted,
    so the total error ``e[n] - e[n - 1]`` is pushed towards high frequencies (the output then leaves the
    grid). Randomness comes only from ``generator`` (the global one when None).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = dither(torch.full((4,), 0.25), generator=g)
        >>> bool(((y * 2**15) == (y * 2**15).round()).all()), bool(((y - 0.25).abs() <= 2**-15).all())
        (True, True)
    """
    if density_function != "TPDF" and density_function != "RPDF" and density_function != "GPDF":
        raise ValueError(f"density_function must be TPDF, RPDF or GPDF, got '{density_function}'")
    work = _real(waveform)
    levels = 32768.0  # steps per unit amplitude of the 16-bit grid
    scaled = work * levels
    quantised = torch.round(scaled + _dither_noise(scaled, density_function, generator))
    if noise_shaping:
        error = quantised - scaled
        quantised = quantised - torch.nn.functional.pad(error[..., :-1], [1, 0])
    return (quantised / levels).to(waveform.dtype if waveform.is_floating_point() else work.dtype)
