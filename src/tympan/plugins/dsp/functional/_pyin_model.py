"""The probabilistic YIN model: threshold prior, pitch-bin geometry, transition matrix and Viterbi decoding.

Every local minimum of the YIN difference function gets a probability: for each of ``n_thresholds``
thresholds, weighted by a Beta(``beta_parameters``) prior, the minima below it share the threshold's weight by
a Boltzmann law of their rank (earlier periods weigh more); when none is below, the global minimum takes
``no_trough_prob`` of it. The candidates land in pitch bins ``resolution`` semitones wide; a hidden Markov
model over voiced and unvoiced copies of the bins is decoded by Viterbi. :mod:`._yin` builds ``pyin`` on these.

Example:
    >>> pyin_geometry(22050, 65.0, 2093.0, 512, 0.1, 35.92)
    (10, 602, 101)
"""

from __future__ import annotations

import math

import torch

from tympan.core.tracing import traced
from tympan.plugins.dsp.functional._viterbi_scan import scanned_viterbi
from tympan.plugins.dsp.functional._yin_periods import tiny_normal

__all__ = [
    "beta_probabilities",
    "check_pyin_params",
    "pyin_decode",
    "pyin_geometry",
    "pyin_transition",
    "thresholds_grid",
]


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
    return torch.log(full + tiny_normal(torch.float64))


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
    # the candidates kept: as many as the most troughs of a frame, traced all of them (those past a frame's
    # troughs are masked either way), so that no size depends on the values
    most = max(int(counts.max()), 1) if not traced() and counts.numel() > 0 else 1
    width = troughs.shape[-1] if traced() else most
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
    log_start = math.log(1.0 / n_states + tiny_normal(torch.float64))
    if traced():
        return scanned_viterbi(log_obs, log_trans, log_start)
    value = log_obs[:, 0] + log_start
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
        >>> from tympan.plugins.dsp.functional._yin_periods import yin_periods
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
    tiny = tiny_normal(torch.float64)
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
