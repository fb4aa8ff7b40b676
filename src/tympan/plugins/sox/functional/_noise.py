"""SoX's noise reduction: ``noiseprof`` measures a noise profile, ``noisered`` subtracts it spectrally.

- The **profile** is, per channel and frequency bin, the mean log power of the noise over 2048-sample
  windows (unwindowed, the last one zero-padded as SoX pads it); SoX writes it as text, ``Channel 0: ...``.
- **Reduction** runs a 2048-point STFT with a hop of 1024: each bin of each frame whose (Hann-windowed) log
  power stays below the profile plus ``8 * amount`` is gated; the gate is smoothed over frames
  (``m = (gate + m_previous) / 2``), isolated short openings are closed (SoX's "tinkle bell" rule), the
  frame's spectrum is multiplied by it, and the frames are Hann-windowed and overlap-added. The output is
  as long as SoX's: it drops the last half window, and of the samples after the last whole hop it keeps
  one in ``channels`` (SoX counts them as interleaved samples).

The smoothing is a recursion over frames; the closings feed back into it, so :func:`noise_gains` solves it
by iterating on which bins close (a consistent set is the sequential solution), each pass a recursion over
all frames at once.

Example:
    >>> import torch
    >>> noise = 0.01 * torch.randn(1, 8192, generator=torch.Generator().manual_seed(0))
    >>> profile = noise_profile(noise)
    >>> profile.shape, reduce_noise(noise, profile, 0.5).shape
    (torch.Size([1, 1025]), torch.Size([1, 7168]))
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F

from tympan.plugins.sox.functional._dynamics import first_order_recursion
from tympan.plugins.sox.functional._fixed_point import fixed_point
from tympan.plugins.sox.functional._layout import joined

__all__ = [
    "WINDOW",
    "denoised_length",
    "format_profile",
    "noise_gains",
    "noise_profile",
    "parse_profile",
    "reduce_noise",
]

#: SoX's analysis window, in samples (the profile has ``WINDOW // 2 + 1`` bins).
WINDOW = 2048
_HOP = WINDOW // 2


def _hann(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The symmetric Hann window SoX uses (``0.5 - 0.5 cos(2 pi i / (size - 1))``)."""
    return torch.hann_window(size, periodic=False, dtype=dtype, device=device)


def noise_profile(waveform: torch.Tensor) -> torch.Tensor:
    """The noise profile of ``(..., channels, time)``: ``(..., channels, 1025)`` mean log powers.

    Example:
        >>> noise_profile(torch.ones(2, 4096)).shape
        torch.Size([2, 1025])
    """
    x = waveform.double()
    length = x.shape[-1]
    if length == 0:
        return torch.zeros((*x.shape[:-1], WINDOW // 2 + 1), dtype=x.dtype, device=x.device)
    count = (length + WINDOW - 1) // WINDOW
    # the windows, the last zero-padded, without a branch on the length: SoX leaves the sample after the data
    # as the previous window had it (the sample a window earlier; none in the first window, none after a
    # whole last window). One spare window of zeros follows, so that no length-dependent dimension is one; it
    # has no power, and bins without power are left out of the means
    total = (count + 1) * WINDOW
    padded = F.pad(x, [0, total - length])
    earlier = F.pad(x, [WINDOW, total - length - WINDOW])
    place = torch.arange(total, device=x.device)
    after = (place == length) & (place < count * WINDOW)
    windows = torch.where(after, earlier, padded).unfold(-1, WINDOW, WINDOW)
    power = torch.fft.rfft(windows).abs().square()
    audible = power > 0
    logs = torch.where(audible, torch.log(power.clamp(min=1e-300)), torch.zeros_like(power))
    counts = audible.sum(-2)
    return torch.where(counts > 0, logs.sum(-2) / counts.clamp(min=1), torch.zeros_like(logs[..., 0, :]))


def noise_gains(gates: torch.Tensor) -> torch.Tensor:
    """The smoothed gains ``(..., bins, frames)`` of per-frame gates (0 closed, 1 open), with SoX's rule
    closing a bin that has just opened (gain 0.5 to 0.55) while its two neighbours each side stay shut
    (below 0.1).

    Example:
        >>> noise_gains(torch.tensor([[1.0, 1.0, 0.0]], dtype=torch.float64)).tolist()
        [[0.5, 0.75, 0.375]]
    """
    start = torch.zeros(gates.shape[:-1], dtype=gates.dtype, device=gates.device)

    def smooth(closed: torch.Tensor, gates: torch.Tensor, start: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The gains with the ``closed`` bins held shut, and the bins SoX's rule closes given them."""
        keep = (~closed).to(gates.dtype)
        kept = first_order_recursion(0.5 * keep, 0.5 * gates * keep, start)
        before = torch.cat([start[..., None], kept[..., :-1]], -1)
        smoothed = 0.5 * gates + 0.5 * before
        near = torch.nn.functional.pad(smoothed.transpose(-1, -2), [2, 2], value=1.0).transpose(-1, -2)
        quiet = (
            (near[..., :-4, :] < 0.1)
            & (near[..., 1:-3, :] < 0.1)
            & (near[..., 3:-1, :] < 0.1)
            & (near[..., 4:, :] < 0.1)
        )
        bins = torch.arange(smoothed.shape[-2], device=gates.device)[:, None]
        inner = (bins >= 2) & (bins < smoothed.shape[-2] - 2)
        return smoothed, (smoothed >= 0.5) & (smoothed <= 0.55) & quiet & inner

    # iterate to the fixed point of the closed bins (at most one pass per frame and one more)
    closed = torch.zeros_like(gates, dtype=torch.bool)
    smoothed, closed = fixed_point(smooth, closed, gates.shape[-1] + 1, gates, start)
    return torch.where(closed, torch.zeros_like(smoothed), smoothed)


def reduce_noise(waveform: torch.Tensor, profile: torch.Tensor, amount: float) -> torch.Tensor:
    """SoX ``noisered`` on ``(..., channels, time)`` with ``profile`` ``(channels, 1025)``; the output has
    ``time - 1024`` samples for one channel, a little less for more (see :func:`denoised_length`).

    Example:
        >>> reduce_noise(torch.zeros(1, 4096), torch.zeros(1, 1025), 0.5).shape
        torch.Size([1, 3072])
    """
    x = waveform.double()
    length = x.shape[-1]
    if length <= _HOP:
        return waveform[..., :0]
    out_length = denoised_length(length, x.shape[-2] if x.dim() > 1 else 1)
    count = (length - 1) // _HOP  # frames: every hop while a new sample remains (ceil((length - hop) / hop))
    padded = torch.nn.functional.pad(x, [0, (count + 1) * _HOP - length])
    frames = padded.unfold(-1, WINDOW, _HOP)[..., :count, :]  # (..., channels, frames, window)
    window = _hann(WINDOW, x.dtype, x.device)
    power = torch.fft.rfft(frames * window).abs().square()
    threshold = profile.double().to(x.device)[..., :, None, :] + amount * 8.0
    open_gate = (power == 0) | (torch.log(power.clamp(min=1e-300)) >= threshold)
    gains = noise_gains(open_gate.to(x.dtype).transpose(-1, -2)).transpose(-1, -2)
    spectra = torch.fft.rfft(frames) * gains
    cleaned = torch.fft.irfft(spectra, n=WINDOW) * window  # (..., channels, frames, window)
    first = cleaned[..., :, :_HOP]
    second = torch.nn.functional.pad(cleaned[..., :-1, _HOP:], [0, 0, 1, 0])
    out = joined(first + second, out_length)
    return out.clamp(-1.0, 1.0).to(waveform.dtype)


def denoised_length(length: int, channels: int) -> int:
    """How many samples SoX's ``noisered`` returns for ``length`` in: all but the last half window, of
    whose part after the last whole hop only ``1 / channels`` comes out.

    Example:
        >>> denoised_length(44100, 1), denoised_length(44100, 2)
        (43076, 43042)
    """
    if length <= _HOP:
        return 0
    whole = (length - WINDOW) // _HOP + 1 if length >= WINDOW else 0
    rest = length - _HOP - whole * _HOP
    return whole * _HOP + rest // channels


def format_profile(profile: torch.Tensor) -> str:
    """A profile ``(channels, bins)`` as SoX writes it: ``Channel N: v, v, ...`` lines, six decimals.

    Example:
        >>> format_profile(torch.tensor([[1.0, -2.5]]))
        'Channel 0: 1.000000, -2.500000\\n'
    """
    return "".join(
        f"Channel {index}: " + ", ".join(f"{value:f}" for value in row.tolist()) + "\n"
        for index, row in enumerate(profile)
    )


def parse_profile(path: str | Path) -> list[list[float]]:
    """The profile a ``noiseprof`` file holds, one row per channel; ``ValueError`` naming the file if it is
    malformed (channels out of order, a row without 1025 values).

    Example:
        >>> import pathlib, tempfile
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "noise.prof"
        >>> _ = file.write_text(format_profile(torch.zeros(1, 1025)))
        >>> len(parse_profile(file)[0])
        1025
    """
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"cannot read the noise profile {path}: {err}") from None
    rows: list[list[float]] = []
    for match in re.finditer(r"Channel\s+(\d+):\s*([^\n]*)", text):
        if int(match.group(1)) != len(rows):
            raise ValueError(f"noise profile {path}: channel {match.group(1)} out of order")
        try:
            values = [float(v) for v in match.group(2).split(",")]
        except ValueError:
            raise ValueError(f"noise profile {path}: bad values for channel {match.group(1)}") from None
        if len(values) != WINDOW // 2 + 1 or not all(math.isfinite(v) for v in values):
            raise ValueError(f"noise profile {path}: channel {match.group(1)} has {len(values)} values, not 1025")
        rows.append(values)
    if not rows:
        raise ValueError(f"noise profile {path}: no 'Channel N:' lines")
    return rows
