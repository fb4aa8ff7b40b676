"""Voice activity detection as the SoX ``vad`` effect: trim leading silence and noise from a recording.

The detector takes a measurement every ``1 / measure_freq`` seconds over the last ``measure_duration``
seconds of each channel:

1. the Hann-windowed frame's magnitude spectrum between ``hp_filter_freq`` and ``lp_filter_freq``;
2. that spectrum smoothed over measurements (a running mean during the first ``boot_time`` seconds, then
   an exponential average with time constant ``measure_smooth_time``);
3. a noise power estimate per bin: the boot-time power, then an asymmetric tracker that rises with time
   constant ``noise_up_time`` and falls with ``noise_down_time``; ``noise_reduction_amount`` times that
   estimate is subtracted from the smoothed power;
4. the cepstrum of the Hann-weighted result, whose power between quefrencies ``1 / lp_lifter_freq`` and
   ``1 / hp_lifter_freq`` (a pitched voice) gives the measurement ``max(0, 21 + log(mean power))``.

The measurements are averaged with time constant ``trigger_time``; the first time any channel's average
reaches ``trigger_level`` the detector triggers. It then looks back over the last ``search_time`` seconds of
measurements for the earliest one that belongs to the activity (measurements above ``trigger_level`` no
more than ``allowed_gap`` apart, back to the last silent measurement) and keeps the audio from there,
``pre_trigger_time`` earlier still. Everything after the trigger is kept unchanged.

Channels are analysed as SoX 14.4.2 analyses them: the detector state of channel ``i`` is fed channel
``i + 1`` one sample late, and that of the last channel is fed channel 0 (see :func:`analysed_channels`).
Every channel's data is still examined; reproducing the assignment keeps the output sample-identical to the
binary's for multichannel input.

The spectra and cepstra are computed for blocks of measurements at once; only the noise tracker, whose
gain depends on its own state, steps through measurements (elementwise over channels and bins). Blocks stop
at the trigger, so a long recording is read no further than SoX reads it.

Example:
    >>> import torch
    >>> t = torch.arange(32000) / 16000
    >>> voice = sum(torch.sin(2 * torch.pi * 150 * k * t) / k for k in range(1, 8)) * (t >= 1.0)
    >>> noise = 1e-3 * torch.randn(32000, generator=torch.Generator().manual_seed(0))
    >>> trimmed = vad(voice + noise, 16000)
    >>> (32000 - trimmed.shape[-1]) / 16000  # the onset at 1 s, less one 0.1 s measurement window
    0.9
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import torch

from tympan.plugins.dsp.functional._recurrence import linear_recurrence

__all__ = ["VadGeometry", "vad", "vad_geometry", "vad_trim", "vad_windows", "warn_if_batched"]


class VadGeometry(NamedTuple):
    """The integer sizes and gains of the SoX detector for one sample rate and parameter set.

    Lengths are in samples per channel (``*_len``), in measurements (``measures_len``, ``gap_len``,
    ``boot_count_max``) or in FFT bins (``*_start``/``*_end``), in the order of :func:`vad_trim`'s arguments.
    Construct with :func:`vad_geometry`.

    Example:
        >>> g = vad_geometry(16000)
        >>> g.measure_len, g.measure_period, g.dft_len, g.measures_len
        (1600, 800, 2048, 20)
    """

    pre_trigger_len: int
    measure_len: int
    measure_period: int
    dft_len: int
    measures_len: int
    gap_len: int
    boot_count_max: int
    spectrum_start: int
    spectrum_end: int
    cepstrum_start: int
    cepstrum_end: int
    noise_up_mult: float
    noise_down_mult: float
    measure_mult: float
    trigger_mult: float


def vad_windows(geometry: VadGeometry) -> tuple[torch.Tensor, torch.Tensor]:
    """The float64 spectrum window (``measure_len``) and cepstrum window (``spectrum_end - spectrum_start``).

    Both are symmetric Hann windows, scaled by ``2 / sqrt(length)``.

    Example:
        >>> [tuple(w.shape) for w in vad_windows(vad_geometry(16000))]
        [(1600,), (762,)]
    """
    return _scaled_hann(geometry.measure_len), _scaled_hann(geometry.spectrum_end - geometry.spectrum_start)


def _scaled_hann(length: int) -> torch.Tensor:
    """A symmetric Hann window of ``length`` points times ``2 / sqrt(length)``, float64."""
    steps = torch.arange(length, dtype=torch.float64)
    hann = 0.5 - 0.5 * torch.cos(2 * math.pi * steps / max(length - 1, 1))
    return (2.0 / math.sqrt(length)) * hann


def vad_geometry(
    sample_rate: int,
    trigger_time: float = 0.25,
    search_time: float = 1.0,
    allowed_gap: float = 0.25,
    pre_trigger_time: float = 0.0,
    boot_time: float = 0.35,
    noise_up_time: float = 0.1,
    noise_down_time: float = 0.01,
    measure_freq: float = 20.0,
    measure_duration: float | None = None,
    measure_smooth_time: float = 0.4,
    hp_filter_freq: float = 50.0,
    lp_filter_freq: float = 6000.0,
    hp_lifter_freq: float = 150.0,
    lp_lifter_freq: float = 2000.0,
) -> VadGeometry:
    """The detector's sizes for ``sample_rate``, rounded as SoX rounds them.

    Raises ``ValueError`` naming the parameter when a time or frequency is not positive, or when the band or
    the lifter range holds no bin at this rate.

    Example:
        >>> vad_geometry(8000, measure_freq=10.0).measure_period
        800
    """
    positive = {
        "sample_rate": float(sample_rate),
        "trigger_time": trigger_time,
        "search_time": search_time,
        "allowed_gap": allowed_gap,
        "boot_time": boot_time,
        "noise_up_time": noise_up_time,
        "noise_down_time": noise_down_time,
        "measure_freq": measure_freq,
        "measure_smooth_time": measure_smooth_time,
        "hp_filter_freq": hp_filter_freq,
        "lp_filter_freq": lp_filter_freq,
        "hp_lifter_freq": hp_lifter_freq,
        "lp_lifter_freq": lp_lifter_freq,
    }
    if measure_duration is not None:
        positive["measure_duration"] = measure_duration
    for name, value in positive.items():
        if not value > 0 or not math.isfinite(value):
            raise ValueError(f"{name} must be positive and finite, got {value}")
    if not pre_trigger_time >= 0:
        raise ValueError(f"pre_trigger_time must not be negative, got {pre_trigger_time}")
    duration = 2.0 / measure_freq if measure_duration is None else measure_duration
    # SoX converts with C truncation of ``value + 0.5`` (round half up for these positive values).
    measure_len = int(sample_rate * duration + 0.5)
    measure_period = int(sample_rate / measure_freq + 0.5)
    if measure_len < 1 or measure_period < 1:
        raise ValueError("measure_duration and measure_freq give no whole sample at this sample_rate")
    dft_len = 16
    while dft_len < measure_len:
        dft_len *= 2
    spectrum_start = max(int(hp_filter_freq / sample_rate * dft_len + 0.5), 1)
    spectrum_end = min(int(lp_filter_freq / sample_rate * dft_len + 0.5), dft_len // 2)
    if spectrum_end <= spectrum_start:
        raise ValueError(
            f"hp_filter_freq ({hp_filter_freq}) and lp_filter_freq ({lp_filter_freq}) leave no spectrum bin"
        )
    cepstrum_start = math.ceil(sample_rate * 0.5 / lp_lifter_freq)
    cepstrum_end = min(math.floor(sample_rate * 0.5 / hp_lifter_freq), dft_len // 4)
    if cepstrum_end <= cepstrum_start:
        raise ValueError(
            f"hp_lifter_freq ({hp_lifter_freq}) and lp_lifter_freq ({lp_lifter_freq}) leave no cepstrum bin"
        )
    return VadGeometry(
        pre_trigger_len=int(pre_trigger_time * sample_rate + 0.5),
        measure_len=measure_len,
        measure_period=measure_period,
        dft_len=dft_len,
        measures_len=math.ceil(search_time * measure_freq),
        gap_len=int(allowed_gap * measure_freq + 0.5),
        boot_count_max=int(boot_time * measure_freq - 0.5),
        spectrum_start=spectrum_start,
        spectrum_end=spectrum_end,
        cepstrum_start=cepstrum_start,
        cepstrum_end=cepstrum_end,
        noise_up_mult=math.exp(-1.0 / (noise_up_time * measure_freq)),
        noise_down_mult=math.exp(-1.0 / (noise_down_time * measure_freq)),
        measure_mult=math.exp(-1.0 / (measure_smooth_time * measure_freq)),
        trigger_mult=math.exp(-1.0 / (trigger_time * measure_freq)),
    )


def _search_back(recent: torch.Tensor, trigger_level: float, gap_len: int) -> torch.Tensor:
    """Measurements to keep before the trigger, per channel, from ``recent`` ``(channels, n)``.

    ``recent[:, j]`` is the measurement ``j`` steps before the trigger (0 for none). The activity is the run
    of measurements at or above ``trigger_level`` met going back, each within ``gap_len`` of the previous
    one; the result is the first silent (zero) measurement before that run, or the run's start when there is
    none; with no run at all, the earliest silent measurement, or ``n``.
    """
    n = recent.shape[-1]
    steps = torch.arange(n, device=recent.device)
    loud = recent >= trigger_level
    # The previous loud step of each step (-1 for none), and whether every loud step so far kept the chain.
    marks = torch.where(loud, steps, torch.full_like(steps, -1))
    previous = torch.cat([torch.full_like(marks[..., :1], -1), torch.cummax(marks, dim=-1).values[..., :-1]], dim=-1)
    linked = (previous < 0) | (steps - previous <= gap_len) | ~loud
    chained = loud & (torch.cummin(linked.to(torch.int64), dim=-1).values > 0)
    last_loud = torch.where(chained, steps, torch.full_like(steps, -1)).amax(dim=-1)
    silent = (recent == 0) & ~chained
    after = silent & (steps > last_loud.unsqueeze(-1))
    first_after = torch.where(after, steps, torch.full_like(steps, n)).amin(dim=-1)
    with_run = torch.where(first_after < n, first_after, last_loud)
    last_silent = torch.where(silent, steps, torch.full_like(steps, -1)).amax(dim=-1)
    without_run = torch.where(last_silent >= 0, last_silent, torch.full_like(last_silent, n))
    return torch.where(last_loud >= 0, with_run, without_run)


def analysed_channels(signals: torch.Tensor) -> torch.Tensor:
    """The stream each channel's detector reads in SoX 14.4.2: channel ``i`` analyses channel ``i + 1`` one
    sample late (a zero first), and the last channel analyses channel 0 on time. ``(channels, time)``.

    Example:
        >>> analysed_channels(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).tolist()
        [[0.0, 4.0, 5.0], [1.0, 2.0, 3.0]]
    """
    if signals.shape[0] == 1:
        return signals
    late = torch.nn.functional.pad(signals[1:, :-1], [1, 0])
    return torch.cat([late, signals[:1]], dim=0)


def vad_trim(
    waveform: torch.Tensor,
    spectrum_window: torch.Tensor,
    cepstrum_window: torch.Tensor,
    trigger_level: float,
    noise_reduction_amount: float,
    pre_trigger_len: int,
    measure_len: int,
    measure_period: int,
    dft_len: int,
    measures_len: int,
    gap_len: int,
    boot_count_max: int,
    spectrum_start: int,
    spectrum_end: int,
    cepstrum_start: int,
    cepstrum_end: int,
    noise_up_mult: float,
    noise_down_mult: float,
    measure_mult: float,
    trigger_mult: float,
    silent_keeps_pre_trigger: bool = True,
) -> torch.Tensor:
    """The detector on ``(..., time)`` with precomputed geometry (see :func:`vad_geometry`): the input from
    the detected start, all leading dimensions treated as channels of one recording. When nothing triggers,
    the first ``pre_trigger_len`` samples are kept (torchaudio's choice), or none with
    ``silent_keeps_pre_trigger=False`` (the sox program's).

    Example:
        >>> g = vad_geometry(16000)
        >>> w1, w2 = vad_windows(g)
        >>> vad_trim(torch.zeros(2, 16000), w1, w2, 7.0, 1.35, *g).shape
        torch.Size([2, 0])
    """
    length = waveform.shape[-1]
    if waveform.numel() == 0:  # nothing to detect: nothing is kept
        return waveform[..., :0]
    signals = waveform.reshape(-1, length).to(torch.float64)
    channels = signals.shape[0]
    device = signals.device
    signals = analysed_channels(signals)
    spectrum_window = spectrum_window.to(device=device, dtype=torch.float64)
    cepstrum_window = cepstrum_window.to(device=device, dtype=torch.float64)
    n_bins = spectrum_end - spectrum_start
    total = (length - measure_len) // measure_period + 1 if length >= measure_len else 0
    spectrum = torch.zeros(channels, n_bins, dtype=torch.float64, device=device)
    noise = torch.zeros_like(spectrum)
    mean = torch.zeros(channels, dtype=torch.float64, device=device)
    recent = torch.zeros(channels, measures_len, dtype=torch.float64, device=device)
    trigger_mult_t = torch.scalar_tensor(trigger_mult, dtype=torch.float64, device=device)
    # Measurements are processed 256 at a time, which bounds the memory used on long recordings.
    start = 0
    while start < total:
        stop = min(start + 256, total)
        span = signals[:, start * measure_period : (stop - 1) * measure_period + measure_len]
        frames = span.unfold(-1, measure_len, measure_period) * spectrum_window
        magnitude = torch.fft.rfft(frames, n=dft_len).abs()[..., spectrum_start:spectrum_end]
        reduced = torch.empty_like(magnitude)
        for step in range(stop - start):
            index = start + step
            # Running mean of the spectrum during boot, then exponential smoothing; the noise estimate is
            # the boot-time power, then tracks the power up slowly and down quickly.
            if index <= boot_count_max:
                weight = index / (1.0 + index)
                spectrum = spectrum * weight + magnitude[:, step] * (1.0 - weight)
                power = spectrum * spectrum
                noise = power
            else:
                spectrum = spectrum * measure_mult + magnitude[:, step] * (1.0 - measure_mult)
                power = spectrum * spectrum
                rising = power > noise
                mult = torch.where(
                    rising, torch.full_like(noise, noise_up_mult), torch.full_like(noise, noise_down_mult)
                )
                noise = noise * mult + power * (1.0 - mult)
            reduced[:, step] = (power - noise_reduction_amount * noise).clamp(min=0.0).sqrt()
        lifted = torch.zeros(channels, stop - start, dft_len // 2, dtype=torch.float64, device=device)
        lifted[..., spectrum_start:spectrum_end] = reduced * cepstrum_window
        cepstrum = torch.fft.rfft(lifted).abs().square()[..., cepstrum_start:cepstrum_end]
        measures = (torch.log(cepstrum.mean(dim=-1)) + 21.0).clamp(min=0.0)
        drive = (1.0 - trigger_mult) * measures
        drive[:, 0] = drive[:, 0] + trigger_mult * mean
        smoothed = linear_recurrence(drive, trigger_mult_t)
        history = torch.cat([recent, measures], dim=-1)
        fired = (smoothed >= trigger_level).any(dim=0)
        if bool(fired.any()):
            at = int(torch.nonzero(fired)[0, 0])
            first = int(torch.nonzero(smoothed[:, at] >= trigger_level)[0, 0])
            back = history[:, at + 1 : at + 1 + measures_len].flip(-1)
            keep = int(_search_back(back[first:], trigger_level, gap_len).amax())
            begin = (start + at - keep) * measure_period - pre_trigger_len
            if begin >= 0:
                return waveform[..., begin:]
            return torch.nn.functional.pad(waveform, [-begin, 0])
        mean = smoothed[:, -1]
        recent = history[:, -measures_len:]
        start = stop
    return waveform[..., : pre_trigger_len if silent_keeps_pre_trigger else 0]


def vad(
    waveform: torch.Tensor,
    sample_rate: int,
    trigger_level: float = 7.0,
    trigger_time: float = 0.25,
    search_time: float = 1.0,
    allowed_gap: float = 0.25,
    pre_trigger_time: float = 0.0,
    boot_time: float = 0.35,
    noise_up_time: float = 0.1,
    noise_down_time: float = 0.01,
    noise_reduction_amount: float = 1.35,
    measure_freq: float = 20.0,
    measure_duration: float | None = None,
    measure_smooth_time: float = 0.4,
    hp_filter_freq: float = 50.0,
    lp_filter_freq: float = 6000.0,
    hp_lifter_freq: float = 150.0,
    lp_lifter_freq: float = 2000.0,
    silent_keeps_pre_trigger: bool = True,
) -> torch.Tensor:
    """Trim leading silence and noise from ``(..., time)`` as ``sox in out vad``, like ``torchaudio.functional.vad``.

    Every leading dimension is a channel of one recording, as SoX sees a multichannel file: the detector
    triggers when any channel does, and the same number of samples is removed from all of them (more than two
    dimensions give a ``UserWarning``, as in torchaudio). Returns ``(..., time')``: the input from the
    detected start of activity (SoX pads zeros in front when ``pre_trigger_time`` reaches before the first
    sample). When nothing triggers, the first ``pre_trigger_time`` seconds are returned, as torchaudio
    returns them (an empty time axis for the default 0); ``silent_keeps_pre_trigger=False`` returns none,
    as the sox program does.
    ``measure_duration`` None means ``2 / measure_freq`` (SoX keeps 0.1 s when only ``-f`` is given). The
    decision is computed in float64; the samples returned are the input's own. See the module docstring for
    the algorithm and the meaning of each parameter.

    Example:
        >>> import torch
        >>> vad(torch.zeros(1, 16000), 16000).shape
        torch.Size([1, 0])
    """
    geometry = vad_geometry(
        sample_rate,
        trigger_time,
        search_time,
        allowed_gap,
        pre_trigger_time,
        boot_time,
        noise_up_time,
        noise_down_time,
        measure_freq,
        measure_duration,
        measure_smooth_time,
        hp_filter_freq,
        lp_filter_freq,
        hp_lifter_freq,
        lp_lifter_freq,
    )
    warn_if_batched(waveform)
    spectrum_window, cepstrum_window = vad_windows(geometry)
    return vad_trim(
        waveform,
        spectrum_window,
        cepstrum_window,
        float(trigger_level),
        float(noise_reduction_amount),
        geometry.pre_trigger_len,
        geometry.measure_len,
        geometry.measure_period,
        geometry.dft_len,
        geometry.measures_len,
        geometry.gap_len,
        geometry.boot_count_max,
        geometry.spectrum_start,
        geometry.spectrum_end,
        geometry.cepstrum_start,
        geometry.cepstrum_end,
        geometry.noise_up_mult,
        geometry.noise_down_mult,
        geometry.measure_mult,
        geometry.trigger_mult,
        silent_keeps_pre_trigger,
    )


def warn_if_batched(waveform: torch.Tensor) -> None:
    """Warn, as torchaudio does, that more than two dimensions are taken as channels of one recording.

    Example:
        >>> warn_if_batched(torch.zeros(2, 100))
    """
    if waveform.dim() > 2:
        warnings.warn(
            f"vad takes (channels, time) or (time,), got {waveform.dim()} dimensions: every leading dimension is "
            "taken as a channel of one recording (no batch), so all are trimmed by the same amount",
            stacklevel=2,
        )
