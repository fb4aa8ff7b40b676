"""Linear filterbanks, and applying or inverting a filterbank on a spectrogram.

A filterbank is ``(n_freqs, n_filters)``: column ``j`` weights the ``n_freqs`` bins of a onesided spectrogram
into band ``j``. :func:`inverse_mel_scale` undoes :func:`mel_scale` by least squares (the minimum-norm
solution when there are fewer filters than bins), clipped at zero as a spectrogram must be.

Example:
    >>> import torch
    >>> from tympan.plugins.dsp.functional import melscale_fbanks
    >>> fb = melscale_fbanks(257, 0.0, 8000.0, 40, 16000, dtype=torch.float64)
    >>> spec = torch.rand(2, 257, 10, dtype=torch.float64)
    >>> mel = mel_scale(spec, fb)
    >>> torch.allclose(mel_scale(inverse_mel_scale(mel, fb), fb), mel, atol=0.2)
    True
"""

from __future__ import annotations

import torch

from tympan.plugins.dsp.functional._features import apply_filterbank
from tympan.plugins.dsp.functional._filterbanks import triangular_filters
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype

__all__ = ["linear_fbanks", "mel_scale", "inverse_mel_scale"]

#: LAPACK drivers ``torch.linalg.lstsq`` accepts (CUDA has only ``"gels"``).
LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def linear_fbanks(
    n_freqs: int, f_min: float, f_max: float, n_filter: int, sample_rate: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Triangular filters ``(n_freqs, n_filter)`` with edges evenly spaced in Hz between ``f_min`` and ``f_max``.

    The bins are ``linspace(0, sample_rate // 2, n_freqs)``, as torchaudio's ``linear_fbanks``.

    Example:
        >>> fb = linear_fbanks(201, 0.0, 8000.0, 20, 16000)
        >>> fb.shape, round(float(fb[:, 0].max()), 3)  # the first filter peaks at 8000 / 21 Hz, near bin 9.5
        (torch.Size([201, 20]), 0.95)
    """
    if not 0.0 <= f_min < f_max:
        raise ValueError(f"need 0 <= f_min < f_max, got f_min={f_min}, f_max={f_max}")
    if n_filter < 1 or n_freqs < 1:
        raise ValueError(f"need n_filter >= 1 and n_freqs >= 1, got {n_filter} and {n_freqs}")
    bins = torch.linspace(0.0, float(sample_rate // 2), n_freqs, dtype=torch.float64)
    edges = torch.linspace(float(f_min), float(f_max), n_filter + 2, dtype=torch.float64)
    return triangular_filters(bins, edges).to(dtype)


def is_rank_deficient(fb: torch.Tensor) -> bool:
    """Whether the filters (columns) of ``fb`` are linearly dependent, as when a filter weights no bin or two
    filters weight the same single bin: least squares without rank revealing (``gels``) then fails.

    Example:
        >>> is_rank_deficient(torch.tensor([[1.0, 0.0], [1.0, 0.0]])), is_rank_deficient(torch.eye(2))
        (True, False)
    """
    return int(torch.linalg.matrix_rank(fb.double())) < fb.shape[-1]


def mel_scale(specgram: torch.Tensor, fb: torch.Tensor) -> torch.Tensor:
    """Spectrogram ``(..., n_freqs, time)`` through the filterbank ``fb`` ``(n_freqs, n_mels)``:
    ``(..., n_mels, time)``, as ``torchaudio.transforms.MelScale``.

    Example:
        >>> mel_scale(torch.ones(3, 5, 7), torch.ones(5, 2)).shape
        torch.Size([3, 2, 7])
    """
    if specgram.dim() < 2 or specgram.shape[-2] != fb.shape[0]:
        raise ValueError(f"expected a spectrogram (..., {fb.shape[0]}, time), got {list(specgram.shape)}")
    result = apply_filterbank(specgram.to(working_dtype(specgram.dtype)), fb)
    return as_dtype(result, specgram.dtype)


def inverse_mel_scale(melspec: torch.Tensor, fb: torch.Tensor, driver: str = "gels") -> torch.Tensor:
    """Spectrogram ``(..., n_freqs, time)`` of a mel spectrogram ``(..., n_mels, time)``: the least-squares
    solution ``S >= 0`` of ``fb.T @ S = melspec`` (minimum-norm when ``n_mels < n_freqs``), negatives set to 0.

    The solution is the product with the pseudo-inverse of ``fb.T`` (:func:`inverse_mel_matrix`), the one
    ``torch.linalg.lstsq`` finds. ``driver`` names ``torch.linalg.lstsq``'s LAPACK drivers as torchaudio does;
    ``"gels"`` needs linearly independent filters (else a ``ValueError``; ``"gelsd"`` accepts dependent ones).

    Example:
        >>> from tympan.plugins.dsp.functional import melscale_fbanks
        >>> fb = melscale_fbanks(201, 0.0, 8000.0, 40, 16000)
        >>> inverse_mel_scale(torch.rand(2, 40, 30), fb).shape
        torch.Size([2, 201, 30])
    """
    if driver not in LSTSQ_DRIVERS:
        raise ValueError(f"driver must be one of {LSTSQ_DRIVERS}, got {driver!r}")
    if driver == "gels" and is_rank_deficient(fb):
        raise ValueError("the filters are linearly dependent, so the gels driver cannot solve; use driver='gelsd'")
    return apply_inverse_mel(melspec, inverse_mel_matrix(fb.to(melspec.device)))


def inverse_mel_matrix(fb: torch.Tensor) -> torch.Tensor:
    """The pseudo-inverse ``(n_freqs, n_mels)`` of ``fb.T``, in float64: ``inverse_mel_matrix(fb) @ melspec`` is
    the minimum-norm least-squares solution of ``fb.T @ S = melspec`` that ``torch.linalg.lstsq`` finds, as one
    matrix product whose shapes follow the input's, which export can trace.

    Example:
        >>> inverse_mel_matrix(torch.tensor([[2.0, 0.0], [0.0, 4.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.2500]], dtype=torch.float64)
    """
    return torch.linalg.pinv(fb.mT.double())


def apply_inverse_mel(melspec: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
    """``(..., n_mels, time)`` through a pseudo-inverse ``(n_freqs, n_mels)`` of :func:`inverse_mel_matrix`,
    negatives set to zero: ``(..., n_freqs, time)``.

    Example:
        >>> apply_inverse_mel(torch.tensor([[1.0], [-1.0]]), torch.eye(2, dtype=torch.float64))
        tensor([[1.],
                [0.]])
    """
    n_mels = inverse.shape[1]
    if melspec.dim() < 2 or melspec.shape[-2] != n_mels:
        raise ValueError(f"expected a mel spectrogram (..., {n_mels}, time), got {list(melspec.shape)}")
    dtype = working_dtype(melspec.dtype)
    solution = torch.matmul(inverse.to(dtype=dtype, device=melspec.device), melspec.to(dtype))
    return as_dtype(torch.relu(solution), melspec.dtype)
