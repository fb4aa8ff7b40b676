"""A signal at octave-spaced rates: decimation and interpolation by powers of two in the frequency domain.

The constant-Q transforms need the signal low-passed and decimated by ``2 ** m`` for several ``m``, and the
inverse sums octaves synthesised at such rates. Both happen in the spectrum of the whole (zero-padded)
signal: one real FFT, then for each rate the bins below its Nyquist frequency, weighted by a low-pass
response, go through one inverse FFT of the smaller size (and the other way round to interpolate). The
response is an ideal low-pass smoothed by a Gaussian: ``0.5 * erfc((nu - CUTOFF) / (sqrt(2) * TRANSITION))``
with ``nu`` the frequency over the lower Nyquist frequency. ``CUTOFF`` and ``TRANSITION`` are
fitted to the response of soxr's high-quality resampler, which librosa uses: flat within 1e-6 up to 0.9,
0.73 at 0.95, 1.2e-4 at 1.0 and below 1e-15 from 1.05. Its impulse response decays like a Gaussian, so
``GUARD`` samples (at the lower rate) of zeros on each side keep the FFT's circular convolution equal to
the linear one with zero-padded ends. Like a cascade of resamplers, each step keeps only
``ceil(length / factor)`` samples and the next step decimates those.

Example:
    >>> import torch
    >>> x = torch.sin(torch.arange(8000, dtype=torch.float64) * 0.05).unsqueeze(0)
    >>> half, quarter = decimated(x, [1, 2])
    >>> half.shape, quarter.shape, bool((half[0, 400:3600] - x[0, 800:7200:2]).abs().max() < 1e-7)
    (torch.Size([1, 4000]), torch.Size([1, 2000]), True)
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from tympan.core.tracing import traced

__all__ = [
    "CUTOFF",
    "TRANSITION",
    "GUARD",
    "smooth_size",
    "lowpass_response",
    "decimate",
    "decimated",
    "interpolated_sum",
]

#: Where the low-pass response is one half, as a fraction of the lower Nyquist frequency.
CUTOFF = 0.957
#: Standard deviation of the Gaussian smoothing the ideal low-pass, as a fraction of the lower Nyquist frequency.
TRANSITION = 0.0117
#: Zeros padded on each side, in samples at the lowest rate.
GUARD = 192


def smooth_size(minimum: int, multiple: int) -> int:
    """The smallest multiple of ``multiple`` that is at least ``minimum`` and whose quotient has no prime
    factor above 5 (fast FFT sizes).

    Example:
        >>> smooth_size(1000, 16), smooth_size(1001, 1)
        (1024, 1024)
    """
    quotient = max(1, -(-minimum // multiple)) - 1
    rest = 0
    while rest != 1:
        quotient += 1
        rest = quotient
        for prime in [2, 3, 5]:
            while rest % prime == 0:
                rest = rest // prime
    return quotient * multiple


def lowpass_response(
    n_bins: int, dtype: torch.dtype, device: torch.device, cutoff: float = CUTOFF, transition: float = TRANSITION
) -> torch.Tensor:
    """The low-pass gain at ``n_bins`` frequencies evenly spaced from 0 to the lower Nyquist frequency.

    Example:
        >>> response = lowpass_response(1001, torch.float64, torch.device("cpu"))
        >>> float(response[900]) > 1 - 1e-6, float(response[1000]) < 2e-4
        (True, True)
    """
    nu = torch.arange(n_bins, dtype=dtype, device=device) / max(1, n_bins - 1)
    response: torch.Tensor = 0.5 * torch.special.erfc((nu - cutoff) / (math.sqrt(2.0) * transition))
    return response


def _geometry(length: int, level: int, guard_samples: int = GUARD) -> tuple[int, int]:
    """``(left padding, FFT size)`` for a signal of ``length`` samples resampled by ``2 ** level``."""
    unit = 1 << level
    guard = guard_samples * unit
    if traced():
        # Traced: a formula of the length (even at the lower rate), which a search for a 5-smooth size is not.
        return guard, -(-(length + 2 * guard) // (2 * unit)) * (2 * unit)
    return guard, smooth_size(length + 2 * guard, unit)


def decimate(signals: torch.Tensor, level: int) -> torch.Tensor:
    """``(signals, time)`` low-passed and decimated by ``2 ** level``: ``ceil(time / 2 ** level)`` samples,
    sample ``j`` at input position ``j * 2 ** level``.

    Example:
        >>> decimate(torch.randn(2, 1001), 3).shape
        torch.Size([2, 126])
    """
    length = signals.shape[-1]
    left, size = _geometry(length, level)
    spectrum = torch.fft.rfft(F.pad(signals, [left, size - length - left]))
    reduced = size >> level
    bins = reduced // 2 + 1
    band = spectrum[..., :bins] * lowpass_response(bins, signals.dtype, signals.device)
    out: torch.Tensor = torch.fft.irfft(band, n=reduced) * (1.0 / (1 << level))
    start = left >> level
    # Cropped by padding (negative pads): the length is a formula of the input's, with no bound to prove.
    return F.pad(out, [-start, start - reduced - (-length // (1 << level))])


def decimated(signals: torch.Tensor, levels: list[int]) -> list[torch.Tensor]:
    """``(signals, time)`` at each of the non-decreasing ``levels``: decimated by ``2 ** m`` (0: unchanged).

    Each level is decimated from the previous one (the first from the input), keeping
    ``ceil(length / 2 ** step)`` samples at each step, so short ends are treated as a cascade of resamplers
    would treat them.

    Example:
        >>> [y.shape[-1] for y in decimated(torch.randn(2, 1001), [0, 1, 3])]
        [1001, 501, 126]
    """
    results: list[torch.Tensor] = []
    current = signals
    level = 0
    for target in levels:
        if target > level:
            current = decimate(current, target - level)
            level = target
        results.append(current)
    return results


def interpolated_sum(parts: list[torch.Tensor], levels: list[int], length: int) -> torch.Tensor:
    """The sum of ``parts[i]`` ``(signals, length / 2 ** levels[i])``, each interpolated to the full rate.

    Example:
        >>> x = torch.sin(torch.arange(8000, dtype=torch.float64) * 0.05).unsqueeze(0)
        >>> y = interpolated_sum([x[:, ::2], torch.zeros_like(x)], [1, 0], 8000)
        >>> y.shape, bool((y[0, 800:7200] - x[0, 800:7200]).abs().max() < 1e-7)
        (torch.Size([1, 8000]), True)
    """
    deepest = max(levels)
    total = torch.zeros(0)
    first = True
    if deepest > 0:
        left, size = _geometry(length, deepest)
        spectrum = torch.zeros(0)
        started = False
        for index in range(len(parts)):
            part, level = parts[index], levels[index]
            if level == 0:
                continue
            reduced = size >> level
            bins = reduced // 2 + 1
            start = left >> level
            piece = torch.fft.rfft(F.pad(part, [start, reduced - part.shape[-1] - start]))
            piece = piece * (lowpass_response(bins, part.dtype, part.device) * float(1 << level))
            if not started:
                spectrum = F.pad(piece, [0, size // 2 + 1 - bins])
                started = True
            else:
                spectrum = spectrum + F.pad(piece, [0, size // 2 + 1 - bins])
        total = torch.fft.irfft(spectrum, n=size)[..., left : left + length]
        first = False
    for index in range(len(parts)):
        part, level = parts[index], levels[index]
        if level == 0:
            total = part[..., :length] if first else total + part[..., :length]
            first = False
    return total
