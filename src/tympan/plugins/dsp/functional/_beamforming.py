"""Multi-channel beamforming: spatial covariance (PSD) matrices, MVDR weights, steering vectors, filtering.

Spectrograms are complex ``(..., channel, freq, time)``; PSD matrices ``(..., freq, channel, channel)``;
weights and relative transfer functions (RTFs) ``(..., freq, channel)``. A reference channel is an index
or a ``(..., channel)`` tensor of channel weights (one-hot selects a channel).

Example:
    >>> import torch
    >>> x = torch.randn(4, 65, 40, dtype=torch.cdouble)
    >>> mask = torch.rand(65, 40, dtype=torch.float64)
    >>> w = mvdr_weights_souden(psd(x, mask), psd(x, 1 - mask), reference_channel=0)
    >>> apply_beamforming(w, x).shape
    torch.Size([65, 40])
"""

from __future__ import annotations

import torch

from tympan.core.errors import InvalidParameterError

__all__ = [
    "apply_beamforming",
    "diagonal_load",
    "mvdr_weights_rtf",
    "mvdr_weights_souden",
    "psd",
    "rtf_evd",
    "rtf_power",
]


def _working(x: torch.Tensor) -> torch.Tensor:
    """``x`` in a dtype linear algebra runs in: complex32 (and half reals) widened to complex64 (float32)."""
    if x.dtype == torch.complex32:
        return x.to(torch.complex64)
    if x.dtype == torch.float16 or x.dtype == torch.bfloat16:
        return x.to(torch.float32)
    return x


def _check_psd(name: str, matrix: torch.Tensor) -> None:
    if matrix.dim() < 3 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(f"{name} must be (..., freq, channel, channel), got shape {list(matrix.shape)}")
    if not matrix.is_complex():
        raise ValueError(f"{name} must be complex, got {matrix.dtype}")


def _check_psd_pair(psd_s: torch.Tensor, psd_n: torch.Tensor) -> None:
    _check_psd("psd_s", psd_s)
    _check_psd("psd_n", psd_n)
    if psd_s.shape != psd_n.shape:
        raise ValueError(f"psd_s and psd_n must have the same shape, got {list(psd_s.shape)} and {list(psd_n.shape)}")


def _trace(matrix: torch.Tensor) -> torch.Tensor:
    return matrix.diagonal(dim1=-2, dim2=-1).sum(dim=-1)


def diagonal_load(psd_matrix: torch.Tensor, diag_eps: float) -> torch.Tensor:
    """``R + (diag_eps * Re tr(R) + 1e-8) I``: Tikhonov loading of ``diag_eps`` times the total channel power
    (the trace), plus a floor that keeps an all-zero matrix invertible.

    Example:
        >>> diagonal_load(torch.eye(2, dtype=torch.cdouble), 0.5).real.tolist()
        [[2.00000001, 0.0], [0.0, 2.00000001]]
    """
    load = _trace(psd_matrix).real * diag_eps + 1e-8  # the floor keeps an all-zero matrix invertible
    eye = torch.eye(psd_matrix.shape[-1], dtype=psd_matrix.dtype, device=psd_matrix.device)
    return psd_matrix + load[..., None, None] * eye


def _steer(matrix: torch.Tensor, reference_channel: int | torch.Tensor) -> torch.Tensor:
    """``matrix @ u`` for the reference vector ``u``: column ``reference_channel`` when it is an index,
    else the combination of columns weighted by the ``(..., channel)`` tensor."""
    channels = matrix.shape[-1]
    if isinstance(reference_channel, int):
        if reference_channel < -channels or reference_channel >= channels:
            shown = str(reference_channel) + " is out of range for " + str(channels) + " channels"
            raise InvalidParameterError("beamforming", ["reference_channel " + shown])
        return matrix[..., reference_channel]
    if reference_channel.shape[-1] != channels:
        raise ValueError(f"reference_channel must be (..., {channels}), got shape {list(reference_channel.shape)}")
    u = reference_channel.to(matrix.dtype)
    return torch.matmul(matrix, u[..., None, :, None]).squeeze(-1)


def psd(
    specgram: torch.Tensor, mask: torch.Tensor | None = None, normalize: bool = True, eps: float = 1e-10
) -> torch.Tensor:
    """Power spectral density (spatial covariance) matrices of ``(..., channel, freq, time)``.

    ``R[f] = sum_t m[f, t] x[f, t] x[f, t]^H``, where ``x[f, t]`` is the channel vector and ``m`` the
    ``(..., freq, time)`` mask (all ones when None). With ``normalize`` the mask is first divided by its
    sum over time plus ``eps``. Returns ``(..., freq, channel, channel)``, Hermitian and positive
    semi-definite for a non-negative mask.

    Example:
        >>> x = torch.tensor([[[1.0 + 1.0j]], [[2.0 + 0.0j]]])  # 2 channels, 1 bin, 1 frame
        >>> psd(x).squeeze(0)
        tensor([[2.+0.j, 2.+2.j],
                [2.-2.j, 4.+0.j]])
    """
    if specgram.dim() < 3:
        raise ValueError(f"specgram must be (..., channel, freq, time), got shape {list(specgram.shape)}")
    specgram = _working(specgram)
    frames = specgram.transpose(-3, -2)  # (..., freq, channel, time)
    weighted = frames
    if mask is not None:
        expected = list(specgram.shape[:-3]) + list(specgram.shape[-2:])
        if list(mask.shape) != expected:
            raise ValueError(f"mask must be (..., freq, time) = {expected}, got shape {list(mask.shape)}")
        weights = mask.to(frames.real.dtype)
        if normalize:
            weights = weights / (weights.sum(dim=-1, keepdim=True) + eps)
        weighted = frames * weights.unsqueeze(-2)
    return torch.matmul(weighted, frames.conj().transpose(-2, -1))


def mvdr_weights_souden(
    psd_s: torch.Tensor,
    psd_n: torch.Tensor,
    reference_channel: int | torch.Tensor,
    diagonal_loading: bool = True,
    diag_eps: float = 1e-7,
    eps: float = 1e-8,
) -> torch.Tensor:
    """MVDR weights from the speech and noise PSD matrices, without a steering vector (Souden et al., 2010).

    ``w = R_n^{-1} R_s u / (tr(R_n^{-1} R_s) + eps)`` with ``u`` the reference channel (an index or a
    ``(..., channel)`` weight tensor). ``diagonal_loading`` first adds ``diag_eps * tr(R_n)`` (plus 1e-8) to
    the diagonal of ``R_n``. Inputs ``(..., freq, channel, channel)``; returns ``(..., freq, channel)``.

    Example:
        >>> eye = torch.eye(3, dtype=torch.cdouble).expand(5, 3, 3)
        >>> h = torch.ones(5, 3, 1, dtype=torch.cdouble)
        >>> w = mvdr_weights_souden(h @ h.mT.conj(), eye, 0, diagonal_loading=False, eps=0.0)
        >>> torch.allclose(w, torch.full((5, 3), 1 / 3, dtype=torch.cdouble))
        True
    """
    _check_psd_pair(psd_s, psd_n)
    psd_s, psd_n = _working(psd_s), _working(psd_n)
    if diagonal_loading:
        psd_n = diagonal_load(psd_n, diag_eps)
    ratio = torch.linalg.solve(psd_n, psd_s)
    return _steer(ratio, reference_channel) / (_trace(ratio)[..., None] + eps)


def mvdr_weights_rtf(
    rtf: torch.Tensor,
    psd_n: torch.Tensor,
    reference_channel: int | torch.Tensor | None = None,
    diagonal_loading: bool = True,
    diag_eps: float = 1e-7,
    eps: float = 1e-8,
) -> torch.Tensor:
    """MVDR weights from a relative transfer function (steering vector) ``h`` and the noise PSD matrix.

    ``w = R_n^{-1} h / (Re(h^H R_n^{-1} h) + eps)``, scaled by ``conj(h^T u)`` (``conj(h[ref])`` for an index)
    when ``reference_channel`` is given, so that ``w^H h = h[ref]``: the reference channel's image of the
    source passes undistorted. ``rtf`` is ``(..., freq, channel)``, ``psd_n`` ``(..., freq, channel,
    channel)``; ``diagonal_loading`` adds ``diag_eps * tr(R_n)`` (plus 1e-8) to the diagonal first.

    Example:
        >>> h = torch.tensor([[1.0 + 0.0j, 0.5j, -0.5]], dtype=torch.cdouble)
        >>> noise = torch.eye(3, dtype=torch.cdouble)[None] + 0.1
        >>> w = mvdr_weights_rtf(h, noise, 0, diagonal_loading=False, eps=0.0)
        >>> torch.allclose((w.conj() * h).sum(-1), h[..., 0])
        True
    """
    if rtf.dim() < 2:
        raise ValueError(f"rtf must be (..., freq, channel), got shape {list(rtf.shape)}")
    if psd_n.dim() < 3:
        raise ValueError(f"psd_n must be (..., freq, channel, channel), got shape {list(psd_n.shape)}")
    if rtf.shape != psd_n.shape[:-1] or psd_n.shape[-1] != psd_n.shape[-2]:
        raise ValueError(
            f"rtf {list(rtf.shape)} and psd_n {list(psd_n.shape)} must be (..., freq, channel) and "
            "(..., freq, channel, channel)"
        )
    rtf, psd_n = _working(rtf), _working(psd_n)
    if diagonal_loading:
        psd_n = diagonal_load(psd_n, diag_eps)
    whitened = torch.linalg.solve(psd_n, rtf.unsqueeze(-1)).squeeze(-1)
    gain = (rtf.conj() * whitened).sum(dim=-1).real
    weights = whitened / (gain[..., None] + eps)
    if reference_channel is None:
        return weights
    return weights * _steer(rtf.conj().unsqueeze(-2), reference_channel)


def rtf_evd(psd_s: torch.Tensor) -> torch.Tensor:
    """Relative transfer function as the principal eigenvector of the speech PSD matrix.

    The unit-norm eigenvector of the largest eigenvalue of each Hermitian ``(..., freq, channel, channel)``
    matrix; its phase is arbitrary (MVDR weights from :func:`mvdr_weights_rtf` do not depend on it).
    Returns ``(..., freq, channel)``.

    Example:
        >>> h = torch.tensor([3.0, 4.0j], dtype=torch.cdouble)
        >>> v = rtf_evd((h[:, None] @ h[None, :].conj())[None])
        >>> torch.allclose(v.abs(), torch.tensor([[0.6, 0.8]], dtype=torch.float64))
        True
    """
    _check_psd("psd_s", psd_s)
    _, vectors = torch.linalg.eigh(_working(psd_s))
    return vectors[..., -1]


def rtf_power(
    psd_s: torch.Tensor,
    psd_n: torch.Tensor,
    reference_channel: int | torch.Tensor,
    n_iter: int = 3,
    diagonal_loading: bool = True,
    diag_eps: float = 1e-7,
) -> torch.Tensor:
    """Relative transfer function by power iteration on ``R_n^{-1} R_s``: ``h = R_s (R_n^{-1} R_s)^(n_iter-1) u``.

    ``u`` is the reference channel (an index or a ``(..., channel)`` weight tensor); ``n_iter = 1`` gives
    ``R_s u``. ``diagonal_loading`` adds ``diag_eps * tr(R_n)`` (plus 1e-8) to ``R_n``'s diagonal first.
    Inputs ``(..., freq, channel, channel)``; returns ``(..., freq, channel)``, not normalised.

    Example:
        >>> h = torch.tensor([[1.0, 0.5j]], dtype=torch.cdouble)
        >>> speech = h[..., :, None] * h[..., None, :].conj()
        >>> rtf = rtf_power(speech, torch.eye(2, dtype=torch.cdouble)[None], 0, diagonal_loading=False)
        >>> torch.allclose(rtf / rtf[..., :1], h)
        True
    """
    _check_psd_pair(psd_s, psd_n)
    if n_iter < 1:
        raise ValueError(f"n_iter must be at least 1, got {n_iter}")
    psd_s, psd_n = _working(psd_s), _working(psd_n)
    if n_iter == 1:
        return _steer(psd_s, reference_channel)
    if diagonal_loading:
        psd_n = diagonal_load(psd_n, diag_eps)
    ratio = torch.linalg.solve(psd_n, psd_s)
    vector = _steer(ratio, reference_channel).unsqueeze(-1)
    for _ in range(n_iter - 2):
        vector = torch.matmul(ratio, vector)
    return torch.matmul(psd_s, vector).squeeze(-1)


def apply_beamforming(beamform_weights: torch.Tensor, specgram: torch.Tensor) -> torch.Tensor:
    """Filter-and-sum: ``y[f, t] = w[f]^H x[f, t]`` for weights ``(..., freq, channel)`` and a spectrogram
    ``(..., channel, freq, time)``; returns ``(..., freq, time)``.

    Example:
        >>> x = torch.randn(3, 5, 7, dtype=torch.cdouble)
        >>> w = torch.zeros(5, 3, dtype=torch.cdouble)
        >>> w[:, 1] = 1
        >>> torch.equal(apply_beamforming(w, x), x[1])
        True
    """
    if specgram.dim() < 3 or beamform_weights.dim() < 2:
        raise ValueError(
            f"beamform_weights {list(beamform_weights.shape)} and specgram {list(specgram.shape)} must be "
            "(..., freq, channel) and (..., channel, freq, time)"
        )
    if (
        beamform_weights.shape[:-2] != specgram.shape[:-3]
        or beamform_weights.shape[-2] != specgram.shape[-2]
        or beamform_weights.shape[-1] != specgram.shape[-3]
    ):
        raise ValueError(
            f"beamform_weights {list(beamform_weights.shape)} does not match specgram {list(specgram.shape)}: "
            "expected (..., freq, channel) for (..., channel, freq, time)"
        )
    frames = _working(specgram).transpose(-3, -2)  # (..., freq, channel, time)
    weights = _working(beamform_weights).conj().unsqueeze(-2)  # (..., freq, 1, channel)
    return torch.matmul(weights, frames).squeeze(-2)
