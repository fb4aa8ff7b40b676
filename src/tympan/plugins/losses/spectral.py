"""The multi-resolution STFT loss of vocoder training (Yamamoto et al., Parallel WaveGAN, 2020).

At each resolution (FFT size, hop, window length) it compares magnitude spectrograms ``|S|`` of the
reference and ``|Ŝ|`` of the estimate with two terms:

- spectral convergence ``‖ |S| - |Ŝ| ‖_F / ‖ |S| ‖_F``;
- log-magnitude distance ``mean |log |S| - log |Ŝ||``.

The loss is ``factor_sc * mean(SC) + factor_mag * mean(log-mag)``, each averaged over the resolutions.
Magnitudes are floored at ``eps`` before the square root and the logarithm, so silence stays finite.

Example:
    >>> import torch
    >>> x = torch.randn(2, 4096)
    >>> multi_resolution_stft_loss(x, x).item()
    0.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from tympan.plugins.losses._checks import check_choice, check_tensor, invalid

__all__ = ["multi_resolution_stft_loss"]

Reduction = Literal["none", "mean", "sum"]
_NAME = "multi_resolution_stft_loss"


def _magnitude(x: torch.Tensor, n_fft: int, hop: int, window: torch.Tensor, eps: float) -> torch.Tensor:
    spec = torch.stft(
        x, n_fft, hop_length=hop, win_length=window.shape[0], window=window, center=True, return_complex=True
    )
    return (spec.real.pow(2) + spec.imag.pow(2)).clamp(min=eps).sqrt()


def _check_resolutions(fft_sizes: Sequence[int], hop_sizes: Sequence[int], win_lengths: Sequence[int]) -> None:
    if not len(fft_sizes) == len(hop_sizes) == len(win_lengths) or not fft_sizes:
        raise invalid(
            _NAME,
            "fft_sizes",
            "fft_sizes, hop_sizes and win_lengths need one equal, non-zero length "
            f"(got {len(fft_sizes)}, {len(hop_sizes)}, {len(win_lengths)})",
        )
    for n_fft, hop, win in zip(fft_sizes, hop_sizes, win_lengths, strict=True):
        if not (0 < win <= n_fft and hop > 0):
            raise invalid(
                _NAME,
                "win_lengths",
                f"expected 0 < win_length <= n_fft and hop > 0 (got n_fft={n_fft}, hop={hop}, win_length={win})",
            )


def multi_resolution_stft_loss(
    preds: torch.Tensor,
    target: torch.Tensor,
    fft_sizes: Sequence[int] = (1024, 2048, 512),
    hop_sizes: Sequence[int] = (120, 240, 50),
    win_lengths: Sequence[int] = (600, 1200, 240),
    factor_sc: float = 1.0,
    factor_mag: float = 1.0,
    eps: float = 1e-7,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Spectral convergence plus log-magnitude distance, averaged over STFT resolutions (Hann windows).

    Args:
        preds: ``(..., time)`` estimated waveforms.
        target: ``(..., time)`` reference waveforms of the same shape.
        fft_sizes, hop_sizes, win_lengths: one entry per resolution.
        factor_sc, factor_mag: weights of the two terms.
        eps: floor of the squared magnitudes.
        reduction: ``"none"`` (one value per waveform), ``"mean"`` or ``"sum"``.

    Example:
        >>> import torch
        >>> x = torch.randn(1, 2048)
        >>> bool(multi_resolution_stft_loss(0.5 * x, x, (256,), (64,), (256,)) > 0)
        True
    """
    check_choice(_NAME, "reduction", reduction, ("none", "mean", "sum"))
    preds = check_tensor(_NAME, "preds", preds, floating=True)
    target = check_tensor(_NAME, "target", target, floating=True)
    if preds.shape != target.shape or preds.ndim == 0:
        raise invalid(
            _NAME,
            "target",
            f"expected the shape of preds (got preds {tuple(preds.shape)}, target {tuple(target.shape)})",
        )
    _check_resolutions(fft_sizes, hop_sizes, win_lengths)
    leading = preds.shape[:-1]
    flat_preds, flat_target = preds.reshape(-1, preds.shape[-1]), target.reshape(-1, target.shape[-1])
    if flat_preds.shape[-1] <= max(fft_sizes) // 2:
        raise invalid(
            _NAME,
            "preds",
            f"expected more than {max(fft_sizes) // 2} samples for n_fft={max(fft_sizes)} (got {flat_preds.shape[-1]})",
        )
    work = torch.float64 if preds.dtype == torch.float64 else torch.float32
    convergence = flat_preds.new_zeros(flat_preds.shape[0], dtype=work)
    log_distance = torch.zeros_like(convergence)
    for n_fft, hop, win in zip(fft_sizes, hop_sizes, win_lengths, strict=True):
        window = torch.hann_window(win, dtype=work, device=preds.device)
        mag_p = _magnitude(flat_preds.to(work), n_fft, hop, window, eps)
        mag_t = _magnitude(flat_target.to(work), n_fft, hop, window, eps)
        convergence = convergence + (mag_t - mag_p).flatten(1).norm(dim=1) / mag_t.flatten(1).norm(dim=1)
        log_distance = log_distance + (mag_t.log() - mag_p.log()).abs().flatten(1).mean(1)
    per_item = (factor_sc * convergence + factor_mag * log_distance) / len(fft_sizes)
    per_item = per_item.reshape(leading).to(preds.dtype)
    if reduction == "mean":
        return per_item.mean()
    if reduction == "sum":
        return per_item.sum()
    return per_item
