"""LFO-modulated delay lines with feedback, as SoX's ``phaser`` and ``flanger`` run them, without a loop over samples.

SoX reads the delay of each sample from a table holding one period of a low-frequency oscillator
(:func:`lfo_table`, its sine and triangle tables reproduced entry for entry). The feedback path is the linear
recurrence

    ``e[n] = u[n] + sum_k w_k[n] * e[n - lag_k[n]]``   (``lag_k[n] >= 1``, ``e`` zero before the start),

with lags and weights known in advance (they depend on the LFO only). :func:`feedback_delay` solves it in
blocks of ``block`` samples: the taps that reach back before the block are gathered from the samples already
solved, all at once; the taps that stay inside the block form a strictly lower-triangular ``block x block``
matrix, and one triangular solve (forward substitution, the recursion itself) gives the whole block. So the
Python loop runs over blocks, not samples, whatever the shortest delay (SoX's phaser and flanger reach down
to one sample), every block is vectorised over the batch and channels, and autograd differentiates through it.
Traced (``torch.export``), the blocks run as one scan (:mod:`._feedback_blocks`), so that one program holds
for every length.

Example:
    >>> import torch
    >>> lags = torch.tensor([[[1, 1, 1, 1]]])
    >>> feedback_delay(torch.tensor([[[1.0, 0.0, 0.0, 0.0]]]), lags, torch.full((1, 1, 4), 0.5)).tolist()
    [[[1.0, 0.5, 0.25, 0.125]]]
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as nnf

from tympan.core.tracing import traced
from tympan.plugins.dsp.functional._feedback_blocks import block_step, scanned_feedback_delay
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype

__all__ = [
    "BLOCK",
    "lfo_at",
    "lfo_table",
    "delayed_taps",
    "feedback_delay",
    "phaser_sweep",
    "phaser_lags",
    "apply_phaser",
    "flanger_sweep",
    "apply_flanger",
]

#: Samples solved per block of :func:`feedback_delay` (one ``BLOCK x BLOCK`` triangular solve each).
BLOCK = 256


def lfo_at(
    positions: torch.Tensor, sinusoidal: bool, size: int, low: float, high: float, phase: float, integer: bool
) -> torch.Tensor:
    """Entries at ``positions`` (int64, any shape, taken modulo ``size``) of one LFO period of ``size`` entries
    from ``low`` to ``high``, as SoX's wave-table generator builds it; float64, the shape of ``positions``.

    Entry ``t`` is the waveform at point ``(t + round(phase / 2 pi * size)) % size`` of the period: a raised
    sine ``(sin(2 pi p / size) + 1) / 2`` or a triangle (rising from 0.5 at ``p = 0`` to 1 at a quarter period,
    down to 0 at three quarters), scaled to ``[low, high]``. ``integer`` rounds half up, as SoX's integer
    tables; otherwise the values are rounded to float32, as SoX's float tables. A period is
    ``sample_rate / speed`` samples (hundreds of millions at an absurd rate), so the phaser and flanger
    compute only the entries their input's samples read, never the whole table.

    Example:
        >>> lfo_at(torch.tensor([1, 5, 3]), True, 4, 1.0, 3.0, 0.0, integer=True).tolist()
        [3.0, 3.0, 1.0]
    """
    offset = int(phase / math.pi / 2 * size + 0.5)
    points = (positions % size + offset) % size
    where = points.to(torch.float64)
    if sinusoidal:
        unit = (torch.sin(where / size * 2 * math.pi) + 1) / 2
    else:
        ramp = where * 2 / size
        quarter = torch.div(4 * points, size, rounding_mode="floor")
        unit = torch.where(quarter == 0, ramp + 0.5, torch.where(quarter == 3, ramp - 1.5, 1.5 - ramp))
    values = unit * (high - low) + low
    if integer:
        return torch.floor(values + 0.5)
    return values.to(torch.float32).to(torch.float64)


def lfo_table(sinusoidal: bool, size: int, low: float, high: float, phase: float, integer: bool) -> torch.Tensor:
    """The whole LFO period of :func:`lfo_at`: float64 ``(size,)``.

    Example:
        >>> lfo_table(True, 4, 1.0, 3.0, 0.0, integer=True).tolist()
        [2.0, 3.0, 2.0, 1.0]
    """
    return lfo_at(torch.arange(size, dtype=torch.int64), sinusoidal, size, low, high, phase, integer)


def delayed_taps(signal: torch.Tensor, lags: torch.Tensor, longest: int | None = None) -> torch.Tensor:
    """``signal[r, c, n - lags[c, k, n]]`` as ``(R, C, K, T)`` from ``(R, C, T)``; zero before the start.

    ``lags`` is ``(C, K, T)`` (``C`` may be 1 for every channel), non-negative, at most ``longest`` when given
    (a bound known from the parameters, which keeps the padding independent of the lags' values).

    Example:
        >>> delayed_taps(torch.tensor([[[1.0, 2.0, 3.0]]]), torch.tensor([[[0, 1, 1]]])).tolist()
        [[[[1.0, 1.0, 2.0]]]]
    """
    reach = longest if longest is not None else (int(lags.max()) if lags.numel() > 0 else 0)
    rows, channels, time = signal.shape
    taps = lags.shape[1]
    padded = nnf.pad(signal, [reach, 0])
    index = (torch.arange(time, device=lags.device) + reach - lags).to(signal.device)
    source = padded.unsqueeze(2).expand(rows, channels, taps, time + reach)
    return torch.gather(source, 3, index.expand(rows, channels, taps, time))


def feedback_delay(
    drive: torch.Tensor, lags: torch.Tensor, weights: torch.Tensor, block: int = BLOCK, longest: int | None = None
) -> torch.Tensor:
    """Solve ``e[n] = drive[n] + sum_k weights[k, n] * e[n - lags[k, n]]`` along the last dimension.

    ``drive`` is ``(R, C, T)``; ``lags`` (int64, every lag at least 1, at most ``longest`` when given) and
    ``weights`` are ``(C, K, T)``, one set of ``K`` taps per channel and sample (``C`` may be 1 for every
    channel). ``e`` is zero before the start. Solved in blocks of ``block`` samples, exactly (see the module
    docstring). Traced (``torch.export``) with ``longest`` given, the blocks run as one scan, every block solved,
    so that the program holds for every length; run eagerly, blocks no tap stays inside skip the solve.

    Example:
        >>> drive = torch.tensor([[[1.0, 0.0, 0.0, 0.0, 0.0]]])
        >>> feedback_delay(drive, torch.full((1, 1, 5), 2), torch.full((1, 1, 5), -1.0), block=4).tolist()
        [[[1.0, 0.0, -1.0, 0.0, 1.0]]]
    """
    rows, channels, time = drive.shape
    weights = weights.to(drive.dtype)
    if longest is not None and traced():
        return scanned_feedback_delay(drive, lags, weights, block, longest)
    reach = int(lags.max()) if lags.numel() > 0 else 1
    history = drive.new_zeros(rows, channels, reach)
    # per block: does some tap stay inside it (then the block needs the triangular solve)?
    count = (time + block - 1) // block
    starts = [index * block for index in range(count)]
    shortest = nnf.pad(torch.amin(lags, dim=[0, 1]), [0, count * block - time], value=float(block))
    sizes = torch.tensor([min(block, time - start) for start in starts], device=lags.device)
    short: list[bool] = (shortest.reshape(count, block).amin(1) < sizes).tolist()
    pieces: list[torch.Tensor] = []
    for number in range(count):
        start = starts[number]
        size = min(block, time - start)
        lag = lags[:, :, start : start + size]
        weight = weights[:, :, start : start + size]
        piece = block_step(history, drive[:, :, start : start + size], lag, weight, short[number])
        pieces.append(piece)
        history = torch.cat([history, piece], -1)[:, :, -reach:]
    if len(pieces) == 0:
        return drive
    return torch.cat(pieces, -1)


def phaser_sweep(sample_rate: int, delay_ms: float, mod_speed: float) -> tuple[int, int]:
    """``(period, length)`` of the phaser's sweep, as SoX's ``phaser`` builds it: the delay line holds
    ``length = round(delay_ms * sample_rate / 1000)`` samples (at least 1), and its delay sweeps once every
    ``period = round(sample_rate / mod_speed)`` samples (see :func:`phaser_lags`).

    Example:
        >>> phaser_sweep(8000, 3.0, 0.5)
        (16000, 24)
    """
    length = int(delay_ms * 0.001 * sample_rate + 0.5)
    if length < 1:
        raise ValueError(f"delay_ms: {delay_ms} ms is under half a sample at {sample_rate} Hz")
    return int(sample_rate / mod_speed + 0.5), length


def phaser_lags(positions: torch.Tensor, period: int, length: int, sinusoidal: bool) -> torch.Tensor:
    """The phaser's feedback delays in samples (int64) at ``positions`` of its sweep: between 1 and ``length``,
    starting at the top of the sweep's quarter-period phase, as SoX reads its line at ``length + 1 - table[n]``.

    Example:
        >>> lags = phaser_lags(torch.arange(16000), 16000, 24, sinusoidal=True)
        >>> lags.shape, int(lags.min()), int(lags.max())
        (torch.Size([16000]), 1, 24)
    """
    reads = lfo_at(positions, sinusoidal, period, 1.0, float(length), math.pi / 2, integer=True)
    return (length + 1 - reads).to(torch.int64)


def apply_phaser(
    waveform: torch.Tensor,
    period: int,
    length: int,
    sinusoidal: bool,
    gain_in: float,
    gain_out: float,
    decay: float,
) -> torch.Tensor:
    """``y = clamp(gain_out * d)`` with ``d[n] = gain_in * x[n] + decay * d[n - lags[n]]`` on ``(..., time)``.

    ``lags`` are :func:`phaser_lags` of the sweep ``(period, length)`` from :func:`phaser_sweep`, computed for
    the input's samples only. Half-precision input runs in float32.

    Example:
        >>> y = apply_phaser(torch.tensor([1.0, 0.0, 0.0]), 1, 1, True, 0.5, 1.0, 0.5)  # a one-sample delay
        >>> y.tolist()
        [0.5, 0.25, 0.125]
    """
    x = waveform.to(working_dtype(waveform.dtype))
    time = x.shape[-1]
    if time == 0 or x.numel() == 0:
        return waveform.clone()
    positions = torch.arange(time, dtype=torch.int64)
    delays = phaser_lags(positions, period, length, sinusoidal).reshape(1, 1, time).to(x.device)
    rows = x.reshape(x.numel() // time, 1, time) * gain_in
    line = feedback_delay(rows, delays, torch.full(delays.shape, decay, dtype=x.dtype, device=x.device), longest=length)
    return as_dtype((line * gain_out).clamp(-1.0, 1.0).reshape(x.shape), waveform.dtype)


def flanger_sweep(sample_rate: int, delay: float, depth: float, speed: float) -> tuple[int, float, float]:
    """``(period, low, high)`` of the flanger's swept delay in samples, as SoX's ``flanger`` builds it: from
    ``round(delay)`` to ``round(delay + depth)`` milliseconds in samples over ``floor(sample_rate / speed)``
    samples, starting at the minimum delay (its entries: :func:`lfo_at` with phase ``3 pi / 2``, float32 values).

    Example:
        >>> flanger_sweep(8000, 0.0, 2.0, 0.5)
        (16000, 0.0, 16.0)
    """
    low = math.floor(delay / 1000 * sample_rate + 0.5)
    high = int((delay + depth) / 1000 * sample_rate + 0.5)
    return int(sample_rate / speed), float(low), float(high)


def apply_flanger(
    waveform: torch.Tensor,
    period: int,
    low: float,
    high: float,
    sinusoidal: bool,
    phase: float,
    regen: float,
    width: float,
    quadratic: bool,
) -> torch.Tensor:
    """SoX's flanger on ``(..., channels, time)`` (1-D: one channel), its delay swept over ``period`` samples
    from ``low`` to ``high`` samples (:func:`flanger_sweep`), sinusoidally or triangularly.

    Channel ``c`` reads the LFO ``round(c * P * phase)`` samples ahead (``phase`` and the gains as fractions,
    not percent). The delay line holds ``v[n] = x[n] + regen * e[n - 1]``; ``e[n]`` interpolates it at the
    swept delay, linearly or quadratically; the output is ``clamp(x / (1 + width) + e * width * (1 - |regen|)
    / (1 + width))``. Half-precision input runs in float32.

    Example:
        >>> one_sample = (1, 1.0, 1.0, True)  # a fixed one-sample delay
        >>> apply_flanger(torch.tensor([1.0, 0.0, 0.0]), *one_sample, 0.0, 0.0, 1.0, False).tolist()
        [0.5, 0.5, 0.0]
    """
    x = waveform.to(working_dtype(waveform.dtype))
    time = x.shape[-1]
    if time == 0 or x.numel() == 0:
        return waveform.clone()
    channels = x.shape[-2] if x.dim() > 1 else 1
    lines = x.reshape(x.numel() // (channels * time), channels, time)
    ahead = torch.floor(torch.arange(channels, dtype=torch.float64) * period * phase + 0.5).to(torch.int64)
    positions = torch.arange(time).unsqueeze(0) + ahead.unsqueeze(1)
    swept = lfo_at(positions, sinusoidal, period, low, high, 3 * math.pi / 2, integer=False)  # (channels, time)
    whole = torch.floor(swept)
    frac = swept - whole
    if quadratic:
        second = 2 * frac - frac * frac
        third = (frac * frac - frac) / 2
        taps = [1 - second - third, second, third]
    else:
        taps = [1 - frac, frac]
    weights = torch.stack(taps, 1).to(device=x.device, dtype=x.dtype)
    lags = (whole.to(torch.int64).unsqueeze(1) + torch.arange(len(taps)).reshape(1, -1, 1)).to(x.device)
    # the swept delay stays within [low, high], so the taps reach at most int(high) + len(taps) - 1 samples back
    echo = (delayed_taps(lines, lags, int(high) + len(taps) - 1) * weights).sum(2)
    if regen != 0.0:
        echo = feedback_delay(echo, lags + 1, weights * regen, longest=int(high) + len(taps))
    balance = 1.0 / (1.0 + width)
    out = lines * balance + echo * (width * balance * (1.0 - abs(regen)))
    return as_dtype(out.clamp(-1.0, 1.0).reshape(x.shape), waveform.dtype)
