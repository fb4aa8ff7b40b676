"""SoX's waveshaping and modulation effects: ``contrast``, ``dcshift``, ``overdrive``, ``phaser`` and ``flanger``.

Names, parameters and defaults follow ``torchaudio.functional``; the arithmetic follows the ``sox`` program
(14.4), which the tests compare against sample by sample. Every function takes ``(..., time)`` (``flanger``:
``(..., channels, time)``), float32 or float64; half-precision input is computed in float32 and returned in
its own dtype. Nothing loops over samples: the waveshapers are elementwise, overdrive's DC blocker runs as an
IIR filter, and the feedback delay lines of ``phaser`` and ``flanger`` are solved in blocks (see
:mod:`._modulated_delay`).

Example:
    >>> import torch
    >>> x = torch.linspace(-0.5, 0.5, 5)
    >>> [round(v, 4) for v in contrast(x, 75.0).tolist()]
    [-0.7071, -0.473, 0.0, 0.473, 0.7071]
"""

from __future__ import annotations

import math

import torch

from tympan.plugins.dsp.functional._iir import filter_waveform
from tympan.plugins.dsp.functional._modulated_delay import apply_flanger, apply_phaser, flanger_sweep, phaser_sweep
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype

__all__ = [
    "contrast",
    "dcshift",
    "overdrive",
    "phaser",
    "flanger",
    "apply_contrast",
    "apply_dcshift",
    "apply_overdrive",
    "dcshift_threshold",
]


def _check(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")


def contrast(waveform: torch.Tensor, enhancement_amount: float = 75.0) -> torch.Tensor:
    """Contrast enhancement, as SoX ``contrast``: ``sin(pi/2 x + a sin(2 pi x))`` with ``a = amount / 750``.

    Makes the audio sound louder without raising its peaks (a gentler compression than :func:`overdrive`).
    ``enhancement_amount`` lies in ``[0, 100]``; 0 still applies the sine shaper.

    Example:
        >>> import torch
        >>> contrast(torch.tensor([0.0, 1.0, -1.0]), 0.0).tolist()
        [0.0, 1.0, -1.0]
    """
    _check("enhancement_amount", enhancement_amount, 0.0, 100.0)
    return apply_contrast(waveform, enhancement_amount)


def apply_contrast(waveform: torch.Tensor, enhancement_amount: float) -> torch.Tensor:
    """:func:`contrast` without the parameter check (the TorchScript-able path the module runs).

    Example:
        >>> import torch
        >>> round(apply_contrast(torch.tensor([0.5], dtype=torch.float64), 0.0).item(), 12)  # sin(pi / 4)
        0.707106781187
    """
    x = waveform.to(working_dtype(waveform.dtype))
    angle = x * (math.pi / 2)
    return as_dtype(torch.sin(angle + enhancement_amount / 750.0 * torch.sin(angle * 4)), waveform.dtype)


def dcshift_threshold(shift: float, limiter_gain: float) -> float:
    """The level above which (``shift > 0``; below minus it for ``shift < 0``) SoX's dcshift limiter acts.

    Example:
        >>> round(dcshift_threshold(0.2, 0.05), 6)
        0.85
    """
    return 1.0 - (abs(shift) - limiter_gain)


def dcshift(waveform: torch.Tensor, shift: float, limiter_gain: float | None = None) -> torch.Tensor:
    """Add ``shift`` (in ``[-2, 2]``) to ``(..., time)`` and clip to ``[-1, 1]``, as SoX ``dcshift``.

    With ``limiter_gain`` (in ``[0, 2]``, typically small such as 0.05), the samples beyond the threshold
    ``t = 1 - (|shift| - limiter_gain)`` on the side of the shift (above ``t`` for a positive shift, below
    ``-t`` for a negative one) come out as ``t`` (``-t``) instead of shifted: the ``sox`` program's limiter
    adds its compressed excess in raw integer units, so what remains is the threshold, and torchaudio does
    the same.

    Example:
        >>> import torch
        >>> dcshift(torch.tensor([0.0, 0.5, 0.9], dtype=torch.float64), 0.2).tolist()
        [0.2, 0.7, 1.0]
        >>> dcshift(torch.tensor([0.0, 0.5, 0.9], dtype=torch.float64), 0.2, limiter_gain=0.05).tolist()
        [0.2, 0.7, 0.85]
    """
    _check("shift", shift, -2.0, 2.0)
    if limiter_gain is not None:
        _check("limiter_gain", limiter_gain, 0.0, 2.0)
    return apply_dcshift(waveform, shift, limiter_gain)


def apply_dcshift(waveform: torch.Tensor, shift: float, limiter_gain: float | None) -> torch.Tensor:
    """:func:`dcshift` without the parameter check (the TorchScript-able path the module runs).

    Example:
        >>> import torch
        >>> apply_dcshift(torch.tensor([-1.0, 0.0]), -0.5, None).tolist()
        [-1.0, -0.5]
    """
    x = waveform.to(working_dtype(waveform.dtype))
    shifted = (x + shift).clamp(-1.0, 1.0)
    if limiter_gain is None or shift == 0.0:
        return as_dtype(shifted, waveform.dtype)
    threshold = dcshift_threshold(shift, limiter_gain)
    if shift > 0:
        limited = torch.where(x > threshold, torch.full_like(x, min(threshold, 1.0)), shifted)
    else:
        limited = torch.where(x < -threshold, torch.full_like(x, -min(threshold, 1.0)), shifted)
    return as_dtype(limited, waveform.dtype)


def overdrive(waveform: torch.Tensor, gain: float = 20, colour: float = 20) -> torch.Tensor:
    """Overdrive, as SoX ``overdrive``: a soft clipper with a DC-blocked, even-harmonic path mixed in.

    With ``g = 10**(gain / 20)`` and ``c = colour / 200``: ``d = g x + c`` is shaped by ``d - d**3 / 3``
    (``+-2/3`` beyond ``+-1``), filtered by the DC blocker ``(1 - z^-1) / (1 - 0.995 z^-1)``, and the output
    is ``clamp(x / 2 + 0.75 * blocked)``. ``gain`` and ``colour`` lie in ``[0, 100]``. (The ``sox`` program
    skips the effect altogether when ``gain`` is 0 dB; like torchaudio, this applies it.)

    Example:
        >>> import torch
        >>> y = overdrive(torch.zeros(3), gain=20, colour=0)
        >>> y.tolist()
        [0.0, 0.0, 0.0]
    """
    _check("gain", gain, 0.0, 100.0)
    _check("colour", colour, 0.0, 100.0)
    return apply_overdrive(waveform, float(gain), float(colour))


def apply_overdrive(waveform: torch.Tensor, gain: float, colour: float) -> torch.Tensor:
    """:func:`overdrive` without the parameter check (the TorchScript-able path the module runs).

    Example:
        >>> import torch
        >>> apply_overdrive(torch.tensor([0.0, 0.0]), 0.0, 0.0).tolist()
        [0.0, 0.0]
    """
    x = waveform.to(working_dtype(waveform.dtype))
    driven = x * 10.0 ** (gain / 20.0) + colour / 200.0
    shaped = torch.where(driven.abs() > 1.0, driven.sign() * (2.0 / 3.0), driven - driven**3 / 3.0)
    # the DC blocker (1 - z^-1) / (1 - 0.995 z^-1)
    # (built with torch.full: TorchScript rounds float literals in lists and index assignments to float32)
    one = torch.ones(1, 1, dtype=torch.float64)
    poles = torch.cat([one, torch.full((1, 1), -0.995, dtype=torch.float64)], 1)
    zeros = torch.cat([one, -one], 1)
    blocked = filter_waveform(shaped, poles, zeros, clamp=False)
    return as_dtype((x * 0.5 + blocked * 0.75).clamp(-1.0, 1.0), waveform.dtype)


def phaser(
    waveform: torch.Tensor,
    sample_rate: int,
    gain_in: float = 0.4,
    gain_out: float = 0.74,
    delay_ms: float = 3.0,
    decay: float = 0.4,
    mod_speed: float = 0.5,
    sinusoidal: bool = True,
) -> torch.Tensor:
    """Phaser, as SoX ``phaser``: a feedback delay line whose delay an LFO sweeps, on ``(..., time)``.

    ``d[n] = gain_in x[n] + decay d[n - D[n]]`` and ``y = clamp(gain_out d)``, where the delay ``D`` sweeps
    between 1 sample and ``delay_ms`` at ``mod_speed`` Hz, sinusoidally or triangularly (SoX's tables). Every
    channel is processed alike. SoX's limits apply: ``gain_in`` in ``[0, 1]``, ``gain_out`` in
    ``[0, 1e9]``, ``delay_ms`` in ``(0, 5]`` (at least half a sample), ``decay`` in ``[0, 0.99]``,
    ``mod_speed`` in ``[0.1, 2]``. The feedback is solved in blocks of 256 samples, each by a triangular
    solve, so the loop runs over blocks even though the delay reaches down to one sample.

    Example:
        >>> import torch
        >>> phaser(torch.randn(2, 8000) * 0.1, 8000).shape
        torch.Size([2, 8000])
    """
    _check("gain_in", gain_in, 0.0, 1.0)
    _check("gain_out", gain_out, 0.0, 1e9)
    _check("delay_ms", delay_ms, 0.0, 5.0)
    _check("decay", decay, 0.0, 0.99)
    _check("mod_speed", mod_speed, 0.1, 2.0)
    period, length = phaser_sweep(sample_rate, delay_ms, mod_speed)
    return apply_phaser(waveform, period, length, sinusoidal, gain_in, gain_out, decay)


def flanger(
    waveform: torch.Tensor,
    sample_rate: int,
    delay: float = 0.0,
    depth: float = 2.0,
    regen: float = 0.0,
    width: float = 71.0,
    speed: float = 0.5,
    phase: float = 25.0,
    modulation: str = "sinusoidal",
    interpolation: str = "linear",
) -> torch.Tensor:
    """Flanger, as SoX ``flanger``, on ``(..., channels, time)`` (a 1-D input is one channel).

    The delay sweeps from ``delay`` to ``delay + depth`` ms (``[0, 30]`` and ``[0, 10]``) at ``speed`` Hz
    (``[0.1, 10]``), ``modulation`` ``"sinusoidal"`` or ``"triangular"``; channel ``c`` runs ``c * phase``
    percent of a period ahead (``[0, 100]``), which makes a stereo flange. ``regen`` percent (``[-95, 95]``)
    of the delayed signal feeds back into the line; ``width`` percent (``[0, 100]``) of it is mixed with the
    input; the delay line is read with ``"linear"`` or ``"quadratic"`` interpolation. With feedback the line
    is solved in blocks of 256 samples, each by a triangular solve (the delay reaches down to one sample).
    SoX accepts at most 4 channels; any number works here.

    Example:
        >>> import torch
        >>> flanger(torch.randn(2, 8000) * 0.1, 8000, regen=50.0).shape
        torch.Size([2, 8000])
    """
    _check("delay", delay, 0.0, 30.0)
    _check("depth", depth, 0.0, 10.0)
    _check("regen", regen, -95.0, 95.0)
    _check("width", width, 0.0, 100.0)
    _check("speed", speed, 0.1, 10.0)
    _check("phase", phase, 0.0, 100.0)
    if modulation != "sinusoidal" and modulation != "triangular":
        raise ValueError(f"modulation must be 'sinusoidal' or 'triangular', got '{modulation}'")
    if interpolation != "linear" and interpolation != "quadratic":
        raise ValueError(f"interpolation must be 'linear' or 'quadratic', got '{interpolation}'")
    period, low, high = flanger_sweep(sample_rate, delay, depth, speed)
    sinusoidal = modulation == "sinusoidal"
    return apply_flanger(
        waveform, period, low, high, sinusoidal, phase / 100, regen / 100, width / 100, interpolation == "quadratic"
    )
