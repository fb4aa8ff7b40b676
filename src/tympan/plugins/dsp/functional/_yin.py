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

import torch

from tympan.plugins.dsp.functional._pyin_model import (
    beta_probabilities,
    check_pyin_params,
    pyin_decode,
    pyin_geometry,
    pyin_transition,
    thresholds_grid,
)
from tympan.plugins.dsp.functional._yin_periods import check_yin_params, resolve_hop, yin_periods, yin_pick

__all__ = [
    "beta_probabilities",
    "check_pyin_params",
    "check_yin_params",
    "pyin",
    "pyin_decode",
    "pyin_geometry",
    "pyin_transition",
    "resolve_hop",
    "thresholds_grid",
    "yin",
    "yin_periods",
    "yin_pick",
]


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
    hop = resolve_hop(frame_length, hop_length)
    dtype = waveform.dtype
    cmnd, shifts, troughs = yin_periods(waveform, frame_length, hop, min_period, max_period, center, pad_mode)
    f0 = sample_rate / yin_pick(cmnd, shifts, troughs, min_period, trough_threshold)
    return f0.reshape(waveform.shape[:-1] + f0.shape[-1:]).to(dtype)


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
    hop = resolve_hop(frame_length, hop_length)
    per_semitone, n_bins, width = pyin_geometry(sample_rate, f_min, f_max, hop, resolution, max_transition_rate)
    dtype = waveform.dtype
    cmnd, shifts, troughs = yin_periods(waveform, frame_length, hop, min_period, max_period, center, pad_mode)
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
