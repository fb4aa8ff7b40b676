"""The constant-Q geometry and its frequency-domain filter kernels, one set per octave.

Bin ``k`` of a transform with ``bins_per_octave`` bins per octave is centred on
``f_k = f_min * 2 ** ((k + tuning) / bins_per_octave)``. Neighbouring bins overlap by the relative bandwidth
``alpha = (r**2 - 1) / (r**2 + 1)`` with ``r = 2 ** (1 / bins_per_octave)``, so the quality factor is
``Q = filter_scale / alpha`` and the filter of bin ``k`` at ``sample_rate`` lasts
``L_k = Q * sample_rate / (f_k + gamma / alpha)`` samples (``gamma`` 0: the constant-Q transform; larger
``gamma`` shortens the low filters, the variable-Q transform; ``None`` picks the ``gamma`` that makes every
bandwidth the same fraction of the equivalent rectangular bandwidth ``24.7 + 0.108 f``).

Each filter is a complex exponential at ``f_k`` under a window of ``L_k`` samples (positions
``floor(-L_k / 2) ... ceil(L_k / 2) - 1``), normalised to unit ``norm`` and scaled by ``L_k / n_fft``, centred
in ``n_fft`` samples (the next power of two above the octave's longest filter) and transformed; only the
non-negative frequencies are kept, the smallest coefficients holding a ``sparsity`` fraction of each row's
magnitude are set to zero, and the columns that are zero in every row are cropped away. These are
librosa's conventions (``librosa.filters.wavelet`` and ``librosa.vqt``), so the transforms built on them
match librosa's for the same options. A filter longer than :data:`MAX_FILTER_LENGTH` samples (an ``f_min``
near zero), kernels over the buffer budget, or filters that vanish are refused with
:class:`~tympan.core.errors.InvalidParameterError`.

Example:
    >>> import torch
    >>> freqs = cqt_frequencies(24, 55.0, 12)
    >>> round(freqs[12].item(), 6), filter_lengths(freqs, 22050, 12, 1.0, 0.0).shape
    (110.0, torch.Size([24]))
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from tympan.core.budget import check_buffer_bytes
from tympan.core.errors import InvalidParameterError
from tympan.core.fields import WINDOWS

__all__ = [
    "MAX_FILTER_LENGTH",
    "C1_HZ",
    "resolve_window",
    "check_plan",
    "pack_kernels",
    "cqt_frequencies",
    "relative_bandwidth",
    "resolve_gamma",
    "filter_lengths",
    "window_bandwidth",
    "cutoff_frequency",
    "check_geometry",
    "frequency_kernels",
]

#: The note C1 in Hz (A4 = 440 Hz, equal temperament): the default lowest bin.
C1_HZ = 440.0 * 2.0 ** (-45 / 12)
#: Equivalent rectangular bandwidth ``ERB(f) = ERB_OFFSET + ERB_SLOPE * f`` (Glasberg and Moore, 1990).
ERB_OFFSET, ERB_SLOPE = 24.7, 0.108
#: Points at which a window's equivalent noise bandwidth is measured.
_BANDWIDTH_POINTS = 1000
#: The longest filter, in samples at the rate it is applied at (a lower f_min than this allows needs more).
MAX_FILTER_LENGTH = 1 << 24


def resolve_window(window: str | Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """The window factory named by ``window`` (``hann``, ``hamming``, ...), or ``window`` itself if callable.

    Example:
        >>> resolve_window("hann") is torch.hann_window
        True
    """
    if callable(window):
        return window
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {sorted(WINDOWS)} or a callable, got {window!r}")
    return WINDOWS[window]


def cqt_frequencies(n_bins: int, f_min: float, bins_per_octave: int, tuning: float = 0.0) -> torch.Tensor:
    """Centre frequencies ``(n_bins,)`` in float64: ``f_min * 2 ** ((k + tuning) / bins_per_octave)``.

    Example:
        >>> cqt_frequencies(3, 440.0, 12).tolist()[:2]
        [440.0, 466.1637615180899]
    """
    steps = torch.arange(n_bins, dtype=torch.float64) + tuning
    return f_min * torch.pow(2.0, steps / bins_per_octave)


def relative_bandwidth(bins_per_octave: int) -> float:
    """``alpha``: the bandwidth of a bin relative to its centre frequency when bins are equally spaced.

    Example:
        >>> round(relative_bandwidth(12), 6)
        0.057698
    """
    ratio = 2.0 ** (2.0 / bins_per_octave)
    return float((ratio - 1.0) / (ratio + 1.0))


def resolve_gamma(gamma: float | None, bins_per_octave: int) -> float:
    """The bandwidth offset in Hz: ``gamma`` itself, or for ``None`` the ERB-proportional choice.

    Example:
        >>> resolve_gamma(0.0, 12), round(resolve_gamma(None, 12), 4)
        (0.0, 13.1958)
    """
    if gamma is not None:
        return float(gamma)
    return relative_bandwidth(bins_per_octave) * ERB_OFFSET / ERB_SLOPE


def filter_lengths(
    freqs: torch.Tensor, sample_rate: float, bins_per_octave: int, filter_scale: float, gamma: float
) -> torch.Tensor:
    """Filter length in samples (fractional) of each centre frequency: ``Q * sample_rate / (f + gamma / alpha)``.

    Example:
        >>> round(filter_lengths(torch.tensor([440.0], dtype=torch.float64), 22050, 12, 1.0, 0.0).item(), 2)
        868.55
    """
    alpha = relative_bandwidth(bins_per_octave)
    return (filter_scale / alpha) * sample_rate / (freqs + gamma / alpha)


def window_bandwidth(window_fn: Callable[..., torch.Tensor]) -> float:
    """Equivalent noise bandwidth of a window, in bins: ``n * sum(w ** 2) / sum(w) ** 2`` at ``n = 1000``.

    Example:
        >>> window_bandwidth(torch.hann_window)
        1.5
    """
    window = window_fn(_BANDWIDTH_POINTS, dtype=torch.float64)
    return float(_BANDWIDTH_POINTS * window.square().sum() / window.sum().square())


def cutoff_frequency(
    freqs: torch.Tensor, bins_per_octave: int, filter_scale: float, gamma: float, window_fn: Callable[..., torch.Tensor]
) -> float:
    """The highest frequency any filter passes: ``max(f * (1 + bandwidth / (2 Q)) + gamma / 2)``, in Hz.

    Example:
        >>> round(cutoff_frequency(torch.tensor([1000.0], dtype=torch.float64), 12, 1.0, 0.0, torch.hann_window), 1)
        1043.3
    """
    quality = filter_scale / relative_bandwidth(bins_per_octave)
    return float((freqs * (1.0 + 0.5 * window_bandwidth(window_fn) / quality) + 0.5 * gamma).max())


def check_geometry(
    sample_rate: float,
    f_min: float,
    n_bins: int,
    bins_per_octave: int,
    filter_scale: float,
    gamma: float | None,
    tuning: float,
    window_fn: Callable[..., torch.Tensor],
) -> None:
    """Raise ``ValueError`` naming the parameter when the filters are undefined or reach above Nyquist.

    Example:
        >>> check_geometry(22050, 32.7, 84, 12, 1.0, 0.0, 0.0, torch.hann_window)
        >>> try:
        ...     check_geometry(8000, 32.7, 84, 12, 1.0, 0.0, 0.0, torch.hann_window)
        ... except ValueError as error:
        ...     print(str(error).split(',')[0])
        n_bins = 84 bins from f_min = 32.7 Hz reach 4121.6 Hz
    """
    checks = (
        ("sample_rate", sample_rate, sample_rate > 0),
        ("f_min", f_min, f_min > 0),
        ("n_bins", n_bins, n_bins >= 1),
        ("bins_per_octave", bins_per_octave, bins_per_octave >= 1),
        ("filter_scale", filter_scale, filter_scale > 0),
        ("gamma", gamma, gamma is None or gamma >= 0),
    )
    for name, value, valid in checks:
        if not valid:
            bound = "non-negative or None" if name == "gamma" else "positive"
            raise ValueError(f"{name} must be {bound}, got {value!r}")
    freqs = cqt_frequencies(n_bins, f_min, bins_per_octave, tuning)
    top = cutoff_frequency(freqs, bins_per_octave, filter_scale, resolve_gamma(gamma, bins_per_octave), window_fn)
    if top > sample_rate / 2:
        raise ValueError(
            f"n_bins = {n_bins} bins from f_min = {f_min:g} Hz reach {top:.1f} Hz, above the Nyquist frequency "
            f"{sample_rate / 2:g} Hz; use fewer bins or a lower f_min"
        )


def check_plan(
    sample_rate: float,
    hop_length: int,
    f_min: float,
    n_bins: int,
    bins_per_octave: int,
    filter_scale: float,
    gamma: float | None,
    tuning: float,
    window_fn: Callable[..., torch.Tensor],
    sparsity: float,
) -> None:
    """:func:`check_geometry`, after checking the ``sparsity`` and ``hop_length`` of a transform's plan.

    Example:
        >>> try:
        ...     check_plan(22050, 0, 32.7, 84, 12, 1.0, 0.0, 0.0, torch.hann_window, 0.01)
        ... except ValueError as error:
        ...     print(error)
        hop_length must be positive, got 0
    """
    if not (0 <= sparsity < 1):
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if hop_length < 1:
        raise ValueError(f"hop_length must be positive, got {hop_length}")
    check_geometry(sample_rate, f_min, n_bins, bins_per_octave, filter_scale, gamma, tuning, window_fn)


def pack_kernels(blocks: list[torch.Tensor], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Stack 2-D complex blocks of different shapes into one zero-padded 3-D tensor, complex counterpart of the
    real ``dtype``, on ``device``.

    Example:
        >>> blocks = [torch.ones(2, 3, dtype=torch.complex128), torch.ones(1, 1, dtype=torch.complex128)]
        >>> packed = pack_kernels(blocks, torch.float32, torch.device("cpu"))
        >>> tuple(packed.shape), packed.dtype, packed[1].abs().sum().item()
        ((2, 2, 3), torch.complex64, 1.0)
    """
    rows = max(b.shape[0] for b in blocks)
    cols = max(b.shape[1] for b in blocks)
    packed = torch.zeros(len(blocks), rows, cols, dtype=blocks[0].dtype)
    for index, block in enumerate(blocks):
        packed[index, : block.shape[0], : block.shape[1]] = block
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    return packed.to(dtype=complex_dtype, device=device)


def _normalise(filters: torch.Tensor, norm: float | None) -> torch.Tensor:
    """Divide a filter by its ``norm``-norm (``inf``: its peak magnitude); ``None`` leaves it as it is."""
    if norm is None:
        return filters
    magnitude = filters.abs()
    peak = magnitude.max()
    if math.isinf(norm) or peak == 0:
        return filters / peak if peak > 0 else filters
    # (sum |x| ** p) ** (1 / p) as peak * (sum (|x| / peak) ** p) ** (1 / p): no overflow for any p
    return filters / (peak * (magnitude / peak).pow(norm).sum().pow(1.0 / norm))


def _sparsify(kernels: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Zero, in each row, the smallest coefficients whose summed magnitude is below ``sparsity`` of the row's."""
    if sparsity <= 0:
        return kernels
    magnitude = kernels.abs()
    ordered = magnitude.sort(dim=-1).values
    mass = ordered.cumsum(-1) / ordered.sum(-1, keepdim=True)
    first_kept = (mass < sparsity).sum(-1, keepdim=True).clamp(max=ordered.shape[-1] - 1)
    threshold = ordered.gather(-1, first_kept)
    return torch.where(magnitude >= threshold, kernels, torch.zeros_like(kernels))


def frequency_kernels(
    freqs: torch.Tensor,
    sample_rate: float,
    bins_per_octave: int,
    filter_scale: float,
    gamma: float,
    window_fn: Callable[..., torch.Tensor],
    norm: float | None,
    sparsity: float,
) -> tuple[torch.Tensor, int, int]:
    """The non-negative-frequency kernels ``(len(freqs), width)`` complex128 of filters at ``sample_rate``.

    Returns ``(kernels, n_fft, first)``: row ``k`` times the ``n_fft``-point FFT of a frame, over FFT bins
    ``first ... first + width - 1``, is the response of the filter centred on ``freqs[k]`` to that frame.

    Example:
        >>> freqs = cqt_frequencies(12, 1000.0, 12)
        >>> kernels, n_fft, first = frequency_kernels(freqs, 16000, 12, 1.0, 0.0, torch.hann_window, 1.0, 0.01)
        >>> n_fft, kernels.dtype, 0 < first < first + kernels.shape[1] <= n_fft // 2 + 1
        (512, torch.complex128, True)
    """
    lengths = filter_lengths(freqs, sample_rate, bins_per_octave, filter_scale, gamma)
    longest = float(lengths.max())
    if not math.isfinite(longest) or longest > MAX_FILTER_LENGTH:
        problem = f"f_min, bins_per_octave, filter_scale: the longest filter has {longest:.3g} samples at"
        raise InvalidParameterError(
            "constant-Q kernels", [f"{problem} {sample_rate:g} Hz (at most {MAX_FILTER_LENGTH})"]
        )
    n_fft = 1 << max(0, math.ceil(math.log2(longest)))
    sizes = {"bins": len(freqs), "n_fft": n_fft, "sample_rate": sample_rate}
    check_buffer_bytes("constant-Q kernels", sizes, 48.0 * len(freqs) * n_fft)  # the basis and its FFT, complex128
    rows = []
    for freq, length in zip(freqs.tolist(), lengths.tolist(), strict=True):
        start, stop = math.floor(-length / 2), math.floor(length / 2)
        positions = torch.arange(start, stop, dtype=torch.float64)
        window = window_fn(stop - start, dtype=torch.float64)
        wavelet = _normalise(torch.polar(window, positions * (2 * math.pi * freq / sample_rate)), norm)
        left = (n_fft - (stop - start)) // 2
        rows.append(torch.nn.functional.pad(wavelet, [left, n_fft - (stop - start) - left]))
    basis = torch.stack(rows) * (lengths / n_fft).unsqueeze(1)
    kernels = _sparsify(torch.fft.fft(basis, n=n_fft)[:, : n_fft // 2 + 1], sparsity)
    used = (kernels != 0).any(0).nonzero().flatten()
    if used.numel() == 0:
        raise InvalidParameterError("constant-Q kernels", ["norm, sparsity: every filter vanishes"])
    first, last = int(used.min()), int(used.max())
    return kernels[:, first : last + 1].contiguous(), n_fft, first
