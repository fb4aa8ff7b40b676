"""YIN and probabilistic YIN (pYIN) fundamental frequency estimation, as ``librosa.yin`` / ``librosa.pyin``.

Names follow torchaudio: ``sample_rate`` (librosa ``sr``), ``f_min`` / ``f_max`` (``fmin`` / ``fmax``),
``hop_length`` (default ``frame_length // 4``); the other parameters keep librosa's names and defaults.
``pad_mode`` takes torch's names (``constant``, ``reflect``, ``replicate``, ``circular``) and numpy's
``edge`` / ``wrap`` for the last two.

YIN: each (centred) frame's difference function ``d(k) = 2 (r(0) - r(k)) - sum_{m<k} x[m]^2`` (``r`` the
autocorrelation, from one FFT; as in librosa nothing is subtracted at ``k = 1``) is divided by its running
mean over ``1..k``. The period is the first local minimum below ``trough_threshold`` between
``floor(sample_rate / f_max)`` and ``ceil(sample_rate / f_min)`` (the global minimum when there is none),
refined by parabolic interpolation.

pYIN: every local minimum gets a probability: for each of ``n_thresholds`` thresholds, weighted by a
Beta(``beta_parameters``) prior, the minima below it share the threshold's weight by a Boltzmann law of their
rank (earlier periods weigh more); when none is below, the global minimum takes ``no_trough_prob`` of it.
The candidates land in pitch bins ``resolution`` semitones wide; a hidden Markov model over voiced and
unvoiced copies of the bins (pitch moves at most ``max_transition_rate`` octaves per second, voicing switches
with ``switch_prob``) is decoded by Viterbi. The observation model is computed for all frames and candidates
at once; the Viterbi recursion steps through frames (each step a max over all state pairs, for the whole
batch), as a recurrence must.

Example:
    >>> import torch
    >>> t = torch.arange(22050, dtype=torch.float64) / 22050
    >>> f0 = yin(torch.sin(2 * torch.pi * 220 * t), 22050, f_min=65.0, f_max=2093.0)
    >>> round(float(f0[10:-10].median()), 1)  # librosa.yin gives the same
    220.3
"""

from __future__ import annotations

import math
import warnings

import torch

from tympan.plugins.dsp.functional._stft import _center

__all__ = [
    "beta_probabilities",
    "check_pyin_params",
    "check_yin_params",
    "pyin",
    "pyin_decode",
    "pyin_geometry",
    "pyin_transition",
    "thresholds_grid",
    "yin",
    "yin_periods",
    "yin_pick",
]


def check_yin_params(sample_rate: float, f_min: float, f_max: float, frame_length: int) -> tuple[int, int]:
    """``(min_period, max_period)`` in samples after librosa's feasibility checks (``ValueError`` names the
    parameter); warns when fewer than two periods of ``f_min`` fit in a frame.

    Example:
        >>> check_yin_params(22050, 65.0, 2093.0, 2048)
        (10, 340)
    """
    if not sample_rate > 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not frame_length >= 3:
        raise ValueError(f"frame_length must be at least 3, got {frame_length}")
    if not f_min > 0:
        raise ValueError(f"f_min must be positive, got {f_min}")
    if not f_min < f_max:
        raise ValueError(f"f_min ({f_min}) must be below f_max ({f_max})")
    if f_max > sample_rate / 2:
        raise ValueError(f"f_max ({f_max}) must not exceed sample_rate / 2 ({sample_rate / 2})")
    if sample_rate / f_min >= frame_length - 1:
        raise ValueError(
            f"f_min ({f_min}) is too low for frame_length {frame_length}: a period must fit in a frame; "
            f"use f_min > {sample_rate / (frame_length - 1):.3f} "
            f"or frame_length >= {math.ceil(sample_rate / f_min) + 2}"
        )
    if sample_rate / f_min >= frame_length // 2:
        warnings.warn(
            f"fewer than two periods of f_min ({f_min} Hz) fit in frame_length {frame_length}; "
            "the estimate may be inaccurate",
            stacklevel=3,
        )
    return math.floor(sample_rate / f_max), min(math.ceil(sample_rate / f_min), frame_length - 1)


def _framed(waveform: torch.Tensor, frame_length: int, hop_length: int, center: bool, pad_mode: str) -> torch.Tensor:
    """``(batch, frames, frame_length)`` from ``(..., time)``, centred with ``pad_mode`` when ``center``."""
    signals = waveform.reshape(-1, waveform.shape[-1])
    if center:
        mode = "replicate" if pad_mode == "edge" else "circular" if pad_mode == "wrap" else pad_mode
        signals = _center(signals, frame_length, mode)
    if signals.shape[-1] < frame_length:
        raise ValueError(f"the signal is shorter than frame_length ({frame_length})")
    return signals.unfold(-1, frame_length, hop_length)


def _tiny(dtype: torch.dtype) -> float:
    """The smallest normal number of ``dtype`` (float64 or float32), as ``numpy.finfo(dtype).tiny``."""
    return 2.2250738585072014e-308 if dtype == torch.float64 else 1.1754943508222875e-38


def _cmnd(frames: torch.Tensor, min_period: int, max_period: int) -> torch.Tensor:
    """The cumulative-mean-normalised difference at periods ``min_period..max_period``, ``(..., periods)``."""
    n_fft = 1
    while n_fft < 2 * frames.shape[-1] - 1:
        n_fft *= 2
    spectrum = torch.fft.rfft(frames, n=n_fft)
    acf = torch.fft.irfft(spectrum.real.square() + spectrum.imag.square(), n=n_fft)[..., : max_period + 1]
    # sum_{m<k} x[m]^2 for k >= 2; librosa subtracts nothing at k = 1, and so does this.
    energy = frames.square().cumsum(-1)[..., :max_period]
    energy = torch.cat([torch.zeros_like(energy[..., :1]), energy[..., 1:]], dim=-1)
    difference = 2 * (acf[..., :1] - acf[..., 1:]) - energy
    steps = torch.arange(1, max_period + 1, dtype=frames.dtype, device=frames.device)
    running_mean = difference.cumsum(-1) / steps
    tiny = _tiny(frames.dtype)
    return difference[..., min_period - 1 :] / (running_mean[..., min_period - 1 :] + tiny)


def _parabolic_shifts(x: torch.Tensor) -> torch.Tensor:
    """Offset of the parabola through each point and its neighbours (0 at the edges and when the vertex is
    more than one step away)."""
    left, mid, right = x[..., :-2], x[..., 1:-1], x[..., 2:]
    curvature = right + left - 2 * mid
    slope = (right - left) / 2
    flat = slope.abs() >= curvature.abs()
    shift = torch.where(flat, torch.zeros_like(mid), -slope / torch.where(flat, torch.ones_like(mid), curvature))
    return torch.nn.functional.pad(shift, [1, 1])


def _troughs(x: torch.Tensor) -> torch.Tensor:
    """Local minima: ``x[i] < x[i - 1]`` and ``x[i] <= x[i + 1]``; the ends compare with their one neighbour."""
    inner = (x[..., 1:-1] < x[..., :-2]) & (x[..., 1:-1] <= x[..., 2:])
    return torch.cat([x[..., :1] < x[..., 1:2], inner, x[..., -1:] < x[..., -2:-1]], dim=-1)


def yin_periods(
    waveform: torch.Tensor,
    frame_length: int,
    hop_length: int,
    min_period: int,
    max_period: int,
    center: bool,
    pad_mode: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(cmnd, shifts, troughs)``, each ``(batch, frames, periods)``, for periods ``min_period..max_period``.

    Example:
        >>> cmnd, shifts, troughs = yin_periods(torch.randn(2, 4096), 2048, 512, 10, 340, True, "constant")
        >>> cmnd.shape, troughs.dtype
        (torch.Size([2, 9, 331]), torch.bool)
    """
    frames = _framed(waveform, frame_length, hop_length, center, pad_mode)
    cmnd = _cmnd(frames, min_period, max_period)
    return cmnd, _parabolic_shifts(cmnd), _troughs(cmnd)


def yin_pick(
    cmnd: torch.Tensor, shifts: torch.Tensor, troughs: torch.Tensor, min_period: int, trough_threshold: float
) -> torch.Tensor:
    """The YIN period per frame: the first trough below ``trough_threshold`` (else the global minimum), refined.

    Example:
        >>> x = torch.tensor([[[0.9, 0.5, 0.05, 0.3, 0.01, 0.2]]])
        >>> yin_pick(x, torch.zeros_like(x), _troughs(x), 10, 0.1).tolist()
        [[12.0]]
    """
    below = troughs & (cmnd < trough_threshold)
    first = below.to(torch.uint8).argmax(dim=-1)
    index = torch.where(below.any(dim=-1), first, cmnd.argmin(dim=-1))
    return min_period + index.to(cmnd.dtype) + shifts.gather(-1, index.unsqueeze(-1)).squeeze(-1)


def yin(
    waveform: torch.Tensor,
    sample_rate: int,
    f_min: float,
    f_max: float,
    frame_length: int = 2048,
    win_length: int | None = None,
    hop_length: int | None = None,
    trough_threshold: float = 0.1,
    center: bool = True,
    pad_mode: str = "constant",
) -> torch.Tensor:
    """The YIN fundamental frequency of ``(..., time)`` in Hz, ``(..., frames)``, as ``librosa.yin``.

    Frame ``t`` is centred on sample ``t * hop_length`` when ``center`` (the signal padded by
    ``frame_length // 2`` with ``pad_mode``). ``win_length`` has no effect, as in librosa 0.11 where it is
    deprecated. Half-precision input is computed in float32. ``ValueError`` names a bad parameter.

    Example:
        >>> import torch
        >>> t = torch.arange(16000, dtype=torch.float64) / 16000
        >>> yin(torch.sin(2 * torch.pi * 300 * t), 16000, f_min=100.0, f_max=1000.0).shape
        torch.Size([32])
    """
    min_period, max_period = check_yin_params(sample_rate, f_min, f_max, frame_length)
    hop = frame_length // 4 if hop_length is None else hop_length
    if not hop >= 1:
        raise ValueError(f"hop_length must be positive, got {hop_length}")
    dtype = waveform.dtype
    work = waveform.to(torch.float32) if dtype in (torch.float16, torch.bfloat16) else waveform
    cmnd, shifts, troughs = yin_periods(work, frame_length, hop, min_period, max_period, center, pad_mode)
    f0 = sample_rate / yin_pick(cmnd, shifts, troughs, min_period, trough_threshold)
    return f0.reshape(waveform.shape[:-1] + f0.shape[-1:]).to(dtype)


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)``, by its continued fraction (modified Lentz)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - _incomplete_beta(b, a, 1.0 - x)
    tiny = 1e-300
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-16:
            break
    return front * h / a


def thresholds_grid(n_thresholds: int) -> torch.Tensor:
    """``n_thresholds + 1`` equally spaced points from 0 to 1 (``k * (1 / n)``, as ``numpy.linspace``), float64.

    Example:
        >>> thresholds_grid(4).tolist()
        [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    grid = torch.arange(n_thresholds + 1, dtype=torch.float64) * (1.0 / n_thresholds)
    grid[-1] = 1.0
    return grid


def beta_probabilities(n_thresholds: int, alpha: float, beta: float) -> torch.Tensor:
    """The Beta(``alpha``, ``beta``) mass of each of ``n_thresholds`` equal steps of [0, 1], float64.

    Example:
        >>> [round(32 * p, 9) for p in beta_probabilities(4, 2.0, 2.0).tolist()]
        [5.0, 11.0, 11.0, 5.0]
    """
    cdf = [_incomplete_beta(alpha, beta, float(x)) for x in thresholds_grid(n_thresholds).tolist()]
    return torch.tensor(cdf, dtype=torch.float64).diff()


def _triangle(width: int) -> torch.Tensor:
    """The symmetric triangular window of ``width`` points (endpoints non-zero), float64."""
    steps = torch.arange(1, (width + 1) // 2 + 1, dtype=torch.float64)
    if width % 2 == 0:
        half = (2 * steps - 1) / width
        return torch.cat([half, half.flip(0)])
    half = 2 * steps / (width + 1)
    return torch.cat([half, half[:-1].flip(0)])


def pyin_transition(n_pitch_bins: int, transition_width: int, switch_prob: float) -> torch.Tensor:
    """Log transition matrix ``(2 n, 2 n)`` over voiced then unvoiced pitch states, float64.

    Within a voicing the pitch moves by a triangular law ``transition_width`` bins wide (rows renormalised at
    the edges); voicing switches with ``switch_prob``. Impossible moves get ``log(tiny)``, as librosa's.

    Example:
        >>> [round(p, 2) for p in pyin_transition(4, 3, 0.01).exp()[0, :4].tolist()]
        [0.66, 0.33, 0.0, 0.0]
    """
    if transition_width > n_pitch_bins:
        raise ValueError(
            f"the pitch may move {transition_width} bins per frame, more than the {n_pitch_bins} bins: "
            "lower max_transition_rate or hop_length, or widen f_min..f_max"
        )
    n = n_pitch_bins
    base = torch.zeros(n, dtype=torch.float64)
    left = (n - transition_width) // 2
    base[left : left + transition_width] = _triangle(transition_width)
    rows = torch.arange(n).unsqueeze(1)
    cols = torch.arange(n).unsqueeze(0)
    local = base[(cols - (n // 2 + 1) - rows) % n]
    band = (cols < (rows + transition_width // 2 + 1).clamp(max=n)) & (
        cols >= (rows - transition_width // 2).clamp(min=0)
    )
    local = torch.where(band, local, torch.zeros_like(local))
    local = local / local.sum(dim=1, keepdim=True)
    switch = torch.tensor([[1 - switch_prob, switch_prob], [switch_prob, 1 - switch_prob]], dtype=torch.float64)
    full = torch.kron(switch, local)
    return torch.log(full + _tiny(torch.float64))


def _observations(
    cmnd: torch.Tensor,
    shifts: torch.Tensor,
    troughs: torch.Tensor,
    thresholds: torch.Tensor,
    beta_probs: torch.Tensor,
    sample_rate: float,
    min_period: int,
    f_min: float,
    n_pitch_bins: int,
    bins_per_semitone: int,
    boltzmann_parameter: float,
    no_trough_prob: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Observation probabilities ``(batch, frames, 2 n)`` (voiced bins, then unvoiced) and the voicing
    probability ``(batch, frames)``, float64."""
    cmnd = cmnd.to(torch.float64)
    shifts = shifts.to(torch.float64)
    counts = troughs.sum(dim=-1)
    width = max(int(counts.max()), 1) if counts.numel() > 0 else 1
    # Trough positions first, in period order.
    order = torch.sort((~troughs).to(torch.uint8), dim=-1, stable=True).indices[..., :width]
    valid = torch.arange(width, device=cmnd.device) < counts.unsqueeze(-1)
    heights = cmnd.gather(-1, order)
    below = valid.unsqueeze(-1) & (heights.unsqueeze(-1) < thresholds)
    rank = below.cumsum(dim=-2) - 1
    count = below.sum(dim=-2, keepdim=True)
    lam = boltzmann_parameter
    norm = (1 - math.exp(-lam)) / (1 - torch.exp(-lam * count.clamp(min=1).to(torch.float64)))
    prior = torch.where(below, norm * torch.exp(-lam * rank.to(torch.float64)), torch.zeros_like(heights).unsqueeze(-1))
    probs = (prior * beta_probs).sum(dim=-1)
    lowest = torch.where(valid, heights, torch.full_like(heights, math.inf)).argmin(dim=-1, keepdim=True)
    above = (~below).sum(dim=-1).gather(-1, lowest)
    cumulative = torch.nn.functional.pad(beta_probs.cumsum(0), [1, 0])
    extra = no_trough_prob * cumulative[above] * (counts.unsqueeze(-1) > 0)
    probs = probs.scatter_add(-1, lowest, extra)
    # Each candidate's pitch bin; where two share a bin the longer period wins, as in librosa.
    period = min_period + order.to(torch.float64) + shifts.gather(-1, order)
    semitones = 12 * bins_per_semitone * torch.log2(sample_rate / period / f_min)
    bins = semitones.round().clamp(0, n_pitch_bins).to(torch.int64)
    candidate = valid & (probs > 0)
    keys = torch.where(candidate, torch.arange(1, width + 1, device=cmnd.device), torch.zeros_like(order))
    shape = list(cmnd.shape[:-1]) + [n_pitch_bins + 1]  # noqa: RUF005 - TorchScript has no starred lists
    winner = torch.zeros(shape, dtype=torch.int64, device=cmnd.device)
    winner = winner.scatter_reduce(-1, bins, keys, reduce="amax")
    picked = probs.gather(-1, (winner - 1).clamp(min=0))
    voiced = torch.where(winner > 0, picked, torch.zeros_like(picked))[..., :n_pitch_bins]
    voiced_prob = voiced.sum(dim=-1).clamp(0.0, 1.0)
    unvoiced = ((1 - voiced_prob) / n_pitch_bins).unsqueeze(-1).expand(voiced.shape)
    return torch.cat([voiced, unvoiced], dim=-1), voiced_prob


def _viterbi(log_obs: torch.Tensor, log_trans: torch.Tensor) -> torch.Tensor:
    """Most likely state sequence ``(batch, frames)`` from ``log_obs`` ``(batch, frames, states)``, a uniform
    start; ties go to the lowest state, as ``librosa.sequence.viterbi``."""
    batch, n_frames, n_states = log_obs.shape
    value = log_obs[:, 0] + math.log(1.0 / n_states + _tiny(torch.float64))
    # (to, from) layout: the max runs over contiguous memory, about 20 times faster than over the rows.
    incoming = log_trans.t().contiguous()
    pointers: list[torch.Tensor] = []
    for t in range(1, n_frames):
        best, source = (value.unsqueeze(1) + incoming).max(dim=-1)
        pointers.append(source)
        value = log_obs[:, t] + best
    state = value.argmax(dim=-1)
    states = [state]
    for source in pointers[::-1]:
        state = source.gather(-1, state.unsqueeze(-1)).squeeze(-1)
        states.append(state)
    return torch.stack(states[::-1], dim=-1) if n_frames > 0 else torch.zeros(batch, 0, dtype=torch.int64)


def pyin_decode(
    cmnd: torch.Tensor,
    shifts: torch.Tensor,
    troughs: torch.Tensor,
    thresholds: torch.Tensor,
    beta_probs: torch.Tensor,
    log_trans: torch.Tensor,
    sample_rate: float,
    min_period: int,
    f_min: float,
    n_pitch_bins: int,
    bins_per_semitone: int,
    boltzmann_parameter: float,
    no_trough_prob: float,
    fill_na: float | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(f0, voiced_flag, voiced_prob)`` per frame from :func:`yin_periods` output and the model tables.

    Example:
        >>> cmnd, shifts, troughs = yin_periods(torch.zeros(1, 4096), 2048, 512, 10, 340, True, "constant")
        >>> f0, flag, prob = pyin_decode(cmnd, shifts, troughs, thresholds_grid(100)[1:],
        ...     beta_probabilities(100, 2.0, 18.0), pyin_transition(601, 101, 0.01), 22050.0, 10, 65.0, 601, 10,
        ...     2.0, 0.01, 0.0)
        >>> f0.abs().max().item(), bool(flag.any())
        (0.0, False)
    """
    obs, voiced_prob = _observations(
        cmnd,
        shifts,
        troughs,
        thresholds.to(device=cmnd.device, dtype=torch.float64),
        beta_probs.to(device=cmnd.device, dtype=torch.float64),
        sample_rate,
        min_period,
        f_min,
        n_pitch_bins,
        bins_per_semitone,
        boltzmann_parameter,
        no_trough_prob,
    )
    tiny = _tiny(torch.float64)
    states = _viterbi(torch.log(obs + tiny), log_trans.to(device=cmnd.device, dtype=torch.float64))
    steps = torch.arange(n_pitch_bins, dtype=torch.float64, device=cmnd.device)
    freqs = f_min * torch.pow(2.0, steps / (12 * bins_per_semitone))
    voiced_flag = states < n_pitch_bins
    f0 = freqs[states % n_pitch_bins]
    if fill_na is not None:
        f0 = torch.where(voiced_flag, f0, torch.full_like(f0, fill_na))
    return f0, voiced_flag, voiced_prob


def pyin_geometry(
    sample_rate: float, f_min: float, f_max: float, hop_length: int, resolution: float, max_transition_rate: float
) -> tuple[int, int, int]:
    """``(bins_per_semitone, n_pitch_bins, transition_width)`` as librosa derives them.

    Example:
        >>> pyin_geometry(22050, 65.0, 2093.0, 512, 0.1, 35.92)
        (10, 602, 101)
    """
    if not 0 < resolution < 1:
        raise ValueError(f"resolution must lie in (0, 1), got {resolution}")
    if not max_transition_rate > 0:
        raise ValueError(f"max_transition_rate must be positive, got {max_transition_rate}")
    bins_per_semitone = math.ceil(1.0 / resolution)
    n_pitch_bins = math.floor(12 * bins_per_semitone * math.log2(f_max / f_min)) + 1
    if n_pitch_bins < 2:
        raise ValueError(f"f_min ({f_min}) to f_max ({f_max}) spans fewer than two pitch bins")
    per_frame = round(max_transition_rate * 12 * hop_length / sample_rate)
    return bins_per_semitone, n_pitch_bins, per_frame * bins_per_semitone + 1


def check_pyin_params(
    n_thresholds: int,
    beta_parameters: tuple[float, float],
    boltzmann_parameter: float,
    switch_prob: float,
    no_trough_prob: float,
) -> None:
    """Raise ``ValueError`` naming the first pYIN model parameter out of range.

    Example:
        >>> check_pyin_params(100, (2.0, 18.0), 2.0, 0.01, 0.01)
    """
    if not n_thresholds >= 1:
        raise ValueError(f"n_thresholds must be at least 1, got {n_thresholds}")
    if len(beta_parameters) != 2 or not all(value > 0 for value in beta_parameters):
        raise ValueError(f"beta_parameters must be two positive numbers, got {beta_parameters}")
    if not boltzmann_parameter > 0:
        raise ValueError(f"boltzmann_parameter must be positive, got {boltzmann_parameter}")
    if not 0 < switch_prob < 1:
        raise ValueError(f"switch_prob must lie in (0, 1), got {switch_prob}")
    if not 0 <= no_trough_prob <= 1:
        raise ValueError(f"no_trough_prob must lie in [0, 1], got {no_trough_prob}")


def pyin(
    waveform: torch.Tensor,
    sample_rate: int,
    f_min: float,
    f_max: float,
    frame_length: int = 2048,
    win_length: int | None = None,
    hop_length: int | None = None,
    n_thresholds: int = 100,
    beta_parameters: tuple[float, float] = (2.0, 18.0),
    boltzmann_parameter: float = 2.0,
    resolution: float = 0.1,
    max_transition_rate: float = 35.92,
    switch_prob: float = 0.01,
    no_trough_prob: float = 0.01,
    fill_na: float | None = math.nan,
    center: bool = True,
    pad_mode: str = "constant",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pYIN of ``(..., time)``: ``(f0, voiced_flag, voiced_prob)``, each ``(..., frames)``, as ``librosa.pyin``.

    ``f0`` is in Hz, ``fill_na`` on unvoiced frames (None: the decoded pitch there); ``voiced_flag`` is bool.
    Framing and parameter names as :func:`yin`; ``win_length`` has no effect (deprecated in librosa 0.11).
    The model runs in float64; ``f0`` and ``voiced_prob`` come back in the input's floating dtype.

    Example:
        >>> import torch
        >>> t = torch.arange(22050, dtype=torch.float64) / 22050
        >>> f0, voiced, prob = pyin(0.5 * torch.sin(2 * torch.pi * 196 * t), 22050, f_min=65.0, f_max=1000.0)
        >>> round(float(f0[5:-5].median()), 1), bool(voiced[5:-5].all())
        (195.9, True)
    """
    min_period, max_period = check_yin_params(sample_rate, f_min, f_max, frame_length)
    check_pyin_params(n_thresholds, beta_parameters, boltzmann_parameter, switch_prob, no_trough_prob)
    hop = frame_length // 4 if hop_length is None else hop_length
    if not hop >= 1:
        raise ValueError(f"hop_length must be positive, got {hop_length}")
    per_semitone, n_bins, width = pyin_geometry(sample_rate, f_min, f_max, hop, resolution, max_transition_rate)
    dtype = waveform.dtype
    work = waveform.to(torch.float32) if dtype in (torch.float16, torch.bfloat16) else waveform
    cmnd, shifts, troughs = yin_periods(work, frame_length, hop, min_period, max_period, center, pad_mode)
    thresholds = thresholds_grid(n_thresholds)[1:]
    f0, voiced_flag, voiced_prob = pyin_decode(
        cmnd,
        shifts,
        troughs,
        thresholds,
        beta_probabilities(n_thresholds, float(beta_parameters[0]), float(beta_parameters[1])),
        pyin_transition(n_bins, width, switch_prob),
        float(sample_rate),
        min_period,
        float(f_min),
        n_bins,
        per_semitone,
        float(boltzmann_parameter),
        float(no_trough_prob),
        fill_na,
    )
    shape = waveform.shape[:-1] + f0.shape[-1:]
    out = dtype if dtype.is_floating_point else torch.float32
    return f0.reshape(shape).to(out), voiced_flag.reshape(shape), voiced_prob.reshape(shape).to(out)
