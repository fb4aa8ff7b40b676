"""SoX's FIR filters: the taps of ``sinc``, ``hilbert`` and ``loudness``, the minimum- and intermediate-phase
conversion, and the centred filtering every FIR effect shares.

SoX applies an FIR filter ``h`` of ``N`` taps, ``post_peak`` of them after its peak, as
``y[n] = sum_i h[i] x[n + N - 1 - post_peak - i]``: the output is as long as the input and its peak is not
delayed (a symmetric, linear-phase filter of odd length is applied centred).
:func:`centered_fir` does that by FFT convolution.

- ``sinc``: Kaiser-windowed sinc low-passes (SoX's ``beta`` and length for the attenuation and transition
  band), a high-pass by spectral inversion, band-pass and band-reject by summing the two.
- ``hilbert``: the odd taps ``2 / (pi k)`` under a Blackman window.
- ``loudness``: a zero-phase filter following the difference of two ISO 226 equal-loudness contours (a
  natural cubic spline through the table, over log frequency), Kaiser-windowed.
- :func:`fir_to_phase`: the minimum-phase filter of the same magnitude response (the cepstrum folded onto
  its causal half), or a phase between it and the linear one, as SoX's ``-M``, ``-I`` and ``-p``.

Example:
    >>> import torch
    >>> centered_fir(torch.tensor([[0.0, 1.0, 0.0, 0.0]]), torch.tensor([0.25, 0.5, 0.25]), 1).tolist()
    [[0.25, 0.5, 0.25, 0.0]]
"""

from __future__ import annotations

import math

import torch

from tympan.plugins.sox.functional._rate import kaiser_beta, kaiser_taps

__all__ = [
    "centered_fir",
    "convolve_fft",
    "fir_to_phase",
    "hilbert_taps",
    "kaiser_lowpass",
    "loudness_taps",
    "sinc_taps",
]


def centered_fir(waveform: torch.Tensor, taps: torch.Tensor, post_peak: int) -> torch.Tensor:
    """``y[n] = sum_i taps[i] x[n + N - 1 - post_peak - i]`` on ``(..., time)``, as long as the input, clipped.

    Example:
        >>> centered_fir(torch.ones(1, 3), torch.tensor([1.0, 1.0]), 1).tolist()  # clipped at 1
        [[1.0, 1.0, 1.0]]
    """
    length = waveform.shape[-1]
    full = convolve_fft(waveform.double(), taps.double().to(waveform.device))
    start = taps.shape[0] - 1 - post_peak
    return full[..., start : start + length].clamp(-1.0, 1.0).to(waveform.dtype)


def convolve_fft(signal: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """The full linear convolution of ``(..., time)`` with ``taps``, by real FFTs (TorchScript-able).

    Example:
        >>> convolve_fft(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 1.0])).round().tolist()
        [1.0, 3.0, 2.0]
    """
    size = signal.shape[-1] + taps.shape[0] - 1
    return torch.fft.irfft(torch.fft.rfft(signal, n=size) * torch.fft.rfft(taps, n=size), n=size)


def _bessel_i0(x: torch.Tensor) -> torch.Tensor:
    return torch.special.i0(x)


def kaiser_lowpass(taps: int, cutoff: float, beta: float) -> torch.Tensor:
    """A Kaiser-windowed sinc of ``taps`` taps cut at ``cutoff`` (a fraction of the Nyquist frequency).

    Example:
        >>> h = kaiser_lowpass(11, 0.5, 5.0)
        >>> h.shape, round(float(h[5]), 3)
        (torch.Size([11]), 0.5)
    """
    order = taps - 1
    z = torch.arange(taps, dtype=torch.float64) - 0.5 * order
    x = z * math.pi
    sinc = torch.where(x != 0, torch.sin(cutoff * x) / torch.where(x != 0, x, torch.ones_like(x)), cutoff)
    y = z * (2.0 / order) if order else torch.zeros_like(z)
    window = _bessel_i0(beta * torch.sqrt((1 - y * y).clamp(min=0.0))) / _bessel_i0(
        torch.tensor(beta, dtype=torch.float64)
    )
    return sinc * window


def _lowpass(
    nyquist: float,
    frequency: float,
    transition: float | None,
    taps: int,
    att: float,
    beta: float | None,
    round_taps: bool,
) -> tuple[torch.Tensor | None, float]:
    """One of ``sinc``'s low-passes at ``frequency`` Hz, or None when it would be no filter; and its beta."""
    cutoff = frequency / nyquist
    if cutoff <= 0 or cutoff >= 1:
        return None, beta if beta is not None else -1.0
    half_transition = ((transition / nyquist) if transition else 0.05) * 0.5
    if beta is None or beta < 0:
        beta = kaiser_beta(att, half_transition * 0.5 / cutoff)
    if not taps:
        taps = min(max(kaiser_taps(att, beta, half_transition), 11), 32767)
        if round_taps:
            taps = 1 + 2 * int(int((taps // 2) * cutoff + 0.5) / cutoff + 0.5)
    return kaiser_lowpass(taps | 1, cutoff, beta), beta


def _invert(taps: torch.Tensor) -> torch.Tensor:
    inverted = -taps
    inverted[(taps.shape[0] - 1) // 2] += 1
    return inverted


def sinc_taps(
    sample_rate: float,
    high_pass: float,
    low_pass: float,
    att: float = 120.0,
    beta: float | None = None,
    transitions: tuple[float | None, float | None] = (None, None),
    taps: tuple[int, int] = (0, 0),
    round_taps: bool = False,
) -> torch.Tensor:
    """SoX ``sinc``'s linear-phase taps: a high-pass from ``high_pass`` Hz and/or a low-pass to ``low_pass``
    Hz (0 for none); both make a band-pass (``high_pass < low_pass``) or a band-reject.

    Example:
        >>> sinc_taps(8000, 0.0, 1000.0).shape
        torch.Size([317])
    """
    nyquist = sample_rate / 2
    high, beta = _lowpass(nyquist, high_pass, transitions[0], taps[0], att, beta, round_taps)
    low, _ = _lowpass(nyquist, low_pass, transitions[1], taps[1], att, beta, round_taps)
    if high is not None:
        high = _invert(high)
    if high is None or low is None:
        result = high if high is not None else low
        if result is None:
            raise ValueError("sinc needs a frequency above 0 and below half the sample rate")
        return result
    longer, shorter = (low, high) if low.shape[0] > high.shape[0] else (high, low)
    start = (longer.shape[0] - shorter.shape[0]) // 2
    combined = longer.clone()
    combined[start : start + shorter.shape[0]] += shorter
    return _invert(combined) if high_pass < low_pass else combined


def hilbert_taps(taps: int) -> torch.Tensor:
    """SoX ``hilbert``'s odd-length FIR: ``2 / (pi k)`` at odd ``k``, Blackman-windowed (alpha 0.16).

    Example:
        >>> [round(v, 4) for v in hilbert_taps(5).tolist()]
        [-0.0, -0.2165, 0.0, 0.2165, -0.0]
    """
    k = torch.arange(taps, dtype=torch.float64) - taps // 2
    odd = torch.remainder(k, 2) == 1
    values = torch.where(odd, (1 - torch.cos(math.pi * k)) / (math.pi * torch.where(odd, k, torch.ones_like(k))), 0.0)
    x = 2 * math.pi * torch.arange(taps, dtype=torch.float64) / (taps - 1)
    window = 0.84 * 0.5 - 0.5 * torch.cos(x) + 0.16 * 0.5 * torch.cos(2 * x)
    return values * window


# ISO 226 (2003) equal-loudness parameters: frequency, alpha_f, L_U, T_f.
_ISO226 = (
    (20, 0.532, -31.6, 78.5), (25, 0.506, -27.2, 68.7), (31.5, 0.480, -23.0, 59.5), (40, 0.455, -19.1, 51.1),
    (50, 0.432, -15.9, 44.0), (63, 0.409, -13.0, 37.5), (80, 0.387, -10.3, 31.5), (100, 0.367, -8.1, 26.5),
    (125, 0.349, -6.2, 22.1), (160, 0.330, -4.5, 17.9), (200, 0.315, -3.1, 14.4), (250, 0.301, -2.0, 11.4),
    (315, 0.288, -1.1, 8.6), (400, 0.276, -0.4, 6.2), (500, 0.267, 0.0, 4.4), (630, 0.259, 0.3, 3.0),
    (800, 0.253, 0.5, 2.2), (1000, 0.250, 0.0, 2.4), (1250, 0.246, -2.7, 3.5), (1600, 0.244, -4.1, 1.7),
    (2000, 0.243, -1.0, -1.3), (2500, 0.243, 1.7, -4.2), (3150, 0.243, 2.5, -6.0), (4000, 0.242, 1.2, -5.4),
    (5000, 0.242, -2.1, -1.5), (6300, 0.245, -7.1, 6.0), (8000, 0.254, -11.2, 12.6), (10000, 0.271, -10.7, 13.9),
    (12500, 0.301, -3.1, 12.3),
)  # fmt: skip


def _spl(phon: float, alpha: float, lu: float, tf: float) -> float:
    """The sound pressure level of ``phon`` phons at one ISO 226 frequency."""
    af = 4.47e-3 * (10.0 ** (0.025 * phon) - 1.15) + (0.4 * 10.0 ** ((tf + lu) / 10 - 9)) ** alpha
    return 10 / alpha * math.log10(af) - lu + 94


def _natural_spline(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Second derivatives of the natural cubic spline through ``(x, y)``."""
    n = x.shape[0]
    system = torch.zeros(n, n, dtype=torch.float64)
    rhs = torch.zeros(n, dtype=torch.float64)
    system[0, 0] = system[-1, -1] = 1.0
    for i in range(1, n - 1):
        system[i, i - 1] = x[i] - x[i - 1]
        system[i, i] = 2 * (x[i + 1] - x[i - 1])
        system[i, i + 1] = x[i + 1] - x[i]
        rhs[i] = 6 * ((y[i + 1] - y[i]) / (x[i + 1] - x[i]) - (y[i] - y[i - 1]) / (x[i] - x[i - 1]))
    return torch.linalg.solve(system, rhs)


def _evaluate_spline(x: torch.Tensor, y: torch.Tensor, second: torch.Tensor, at: torch.Tensor) -> torch.Tensor:
    upper = torch.searchsorted(x, at, right=True).clamp(1, x.shape[0] - 1)
    lower = upper - 1
    width = x[upper] - x[lower]
    a = (x[upper] - at) / width
    b = (at - x[lower]) / width
    cubic = ((a**3 - a) * second[lower] + (b**3 - b) * second[upper]) * width * width / 6
    return a * y[lower] + b * y[upper] + cubic


def loudness_taps(taps: int, reference: float, gain: float, sample_rate: float) -> torch.Tensor:
    """SoX ``loudness``'s zero-phase FIR of ``taps`` taps: the change of the ISO 226 contour at ``reference``
    phons when the level changes by ``gain`` dB (``gain / 5`` dB at 0 Hz and beyond 12.5 kHz).

    Example:
        >>> loudness_taps(255, 65.0, -10.0, 44100).shape
        torch.Size([255])
    """
    points = [(0.0, gain * 0.2)]
    points += [(math.log(row[0]), _spl(reference + gain, *row[1:]) - _spl(reference, *row[1:])) for row in _ISO226]
    points.append((math.log(100000.0), gain * 0.2))
    x = torch.tensor([p[0] for p in points], dtype=torch.float64)
    y = torch.tensor([p[1] for p in points], dtype=torch.float64)
    second = _natural_spline(x, y)
    size = 8192
    while size < sample_rate / 2:
        size <<= 1
    frequencies = sample_rate * torch.arange(size // 2 + 1, dtype=torch.float64) / size
    level = _evaluate_spline(x, y, second, torch.log(frequencies.clamp(min=1.0)))
    level = torch.where(frequencies < 1, y[0], level)
    response = torch.fft.irfft(10.0 ** (level / 20), n=size)
    index = (torch.arange(taps) + size - taps // 2) % size
    h = response[index]
    order = taps - 1
    position = 2.0 * torch.arange(taps, dtype=torch.float64) / order - 1
    beta = kaiser_beta(40 + 2.0 / 3 * abs(gain), 0.1)
    window = _bessel_i0(beta * torch.sqrt((1 - position**2).clamp(min=0))) / _bessel_i0(torch.tensor(beta))
    return h * window


def fir_to_phase(taps: torch.Tensor, phase: float) -> tuple[torch.Tensor, int]:
    """The filter with ``taps``' magnitude response and a phase response from minimum (``phase`` 0) through
    linear (50) to maximum (100); returns the taps and the samples after the impulse's peak (its delay
    compensation, SoX's ``post_peak``).

    The minimum-phase filter comes from the real cepstrum of the magnitude response folded onto its causal
    half; intermediate phases interpolate the unwrapped phase between it and the linear one. The peak is
    where the impulse's running sum is largest, and the result is cut around it.

    Example:
        >>> h, after = fir_to_phase(torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64), 0.0)
        >>> int(h.abs().argmax()), h.shape[0] >= 3
        (1, True)
    """
    length = taps.shape[0]
    size = 32 << math.floor(math.log2(length))
    spectrum = torch.fft.rfft(taps.double(), n=size).conj()  # phases counted anticlockwise, as SoX counts them
    wraps = _pi_wraps(torch.angle(spectrum))
    cepstrum = torch.fft.irfft(torch.log(spectrum.abs().clamp(min=1e-300)), n=size)
    fold = torch.zeros_like(cepstrum)
    fold[0] = cepstrum[0]
    fold[1 : size // 2] = 2 * cepstrum[1 : size // 2]
    fold[size // 2] = cepstrum[size // 2]
    minimum = torch.fft.rfft(fold, n=size).conj()
    weight = (phase if phase <= 50 else 100 - phase) / 50
    fraction = torch.arange(size // 2 + 1, dtype=torch.float64) / (size // 2)
    angle = weight * fraction * wraps[-1] + (1 - weight) * (minimum.imag + wraps) - wraps
    response = torch.polar(torch.exp(minimum.real), angle).conj()
    impulse = torch.fft.irfft(response, n=size)
    reach = int(float(wraps[-1]) / math.pi + 0.5) + 1  # the peak lies within as many samples as the phase turns
    running = torch.cumsum(impulse[:reach], 0)
    peak = int(running.abs().argmax())
    while (
        peak
        and abs(float(impulse[peak - 1])) > abs(float(impulse[peak]))
        and float(impulse[peak - 1] * impulse[peak]) > 0
    ):
        peak -= 1
    if weight == 0:
        begin, end = 0, length
    elif weight == 1:
        begin = peak - length // 2
        end = begin + length
    else:
        begin = peak - (int((0.997 - (2 - weight) * 0.22) * length + 0.5) & ~3)
        end = peak + 1 + ((int((0.997 - weight * 0.22) * length + 0.5) + 3) & ~3)
    index = (torch.arange(begin, end) + size) % size
    cut = impulse[index]
    if phase > 50:  # maximum phase: the time reverse, with as many samples after the peak as were before it
        return cut.flip(0), peak - begin
    return cut, int(cut.shape[0] - (peak - begin) - 1)


def _pi_wraps(angle: torch.Tensor) -> torch.Tensor:
    """The running count (in radians) of the response's sign changes: the jumps of about pi left in its
    phase once the jumps of about 2 pi are unwrapped (a jump counts when it exceeds 0.7 of its size)."""
    step = torch.diff(angle, prepend=torch.zeros(1, dtype=angle.dtype))
    turns = 2 * math.pi * ((step < -0.7 * 2 * math.pi).double() - (step > 0.7 * 2 * math.pi).double())
    unwrapped = angle + torch.cumsum(turns, 0)
    jump = torch.diff(unwrapped, prepend=torch.zeros(1, dtype=unwrapped.dtype))
    flips = math.pi * ((jump < -0.7 * math.pi).double() - (jump > 0.7 * math.pi).double())
    return torch.cumsum(flips.abs(), 0)
