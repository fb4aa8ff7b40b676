"""Kaldi's pitch tracker (``compute-kaldi-pitch-feats``) on batches: ``(batch, time)`` to ``(batch, frames, 2)``.

The algorithm of Ghahremani et al. (ICASSP 2014), as Kaldi computes it: the signal is resampled to
``resample_frequency`` (a windowed-sinc low-pass at ``lowpass_cutoff``); each frame's normalised
cross-correlation (NCCF) is measured at every integer lag covering ``1 / max_f0`` to ``1 / min_f0``, once
with a ballast term in its denominator (``nccf_ballast`` times the squared energy of the signal so far, which
pulls weak frames towards zero) for the search and once without for the output; both are interpolated onto
log-spaced lags (ratio ``1 + delta_pitch``); and a Viterbi search over those lags picks the path that
minimises ``1 - nccf + soft_min_f0 * lag * nccf`` plus a penalty on the squared log-ratio of consecutive lags.
Each output frame is ``(NCCF, pitch in Hz)`` on that path.

Kaldi computes the ballast from the energy of the signal received so far, and revisits the first
``recompute_frame`` frames once more of it is known. The result depends on how the signal arrived:
``frames_per_chunk=0`` is one piece (the offline default), a stream passes its own chunk sizes, and with
``nccf_ballast_online`` the energy is always that up to the end of each frame, whatever the chunks.
With ``simulate_first_pass_online`` each frame is output as Kaldi's online tracker first output it, before
later pieces revised its best path (see :mod:`tympan.plugins.kaldi.functional._pitch_stream`).

Example:
    >>> import math, torch
    >>> t = torch.arange(16000) / 16000
    >>> tone = 1000 * torch.sin(2 * math.pi * 200 * t)
    >>> out, counts = kaldi_pitch(tone[None], None, PitchOptions())
    >>> out.shape, round(float(out[0, 50, 1]))
    (torch.Size([1, 98, 2]), 200)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from tympan.plugins.kaldi.functional._pitch_resample import arbitrary_resample_matrix, linear_resample, num_resampled
from tympan.plugins.kaldi.functional._pitch_viterbi import pitch_penalty_factor, viterbi_path

__all__ = [
    "window_start",
    "LagBlock",
    "PitchOptions",
    "ballast_online_counts",
    "ballast_rescaling",
    "frames_available",
    "kaldi_pitch",
    "lag_nccf",
    "mean_squares",
    "nccf_on_path",
    "nccf_terms",
    "pitch_frame_counts",
    "steady_length",
]


def _f32(value: float) -> float:
    return float(np.float32(value))


@dataclass(frozen=True)
class PitchOptions:
    """The options of ``compute-kaldi-pitch-feats``, with its defaults (rates in Hz, lengths in ms).

    Example:
        >>> options = PitchOptions()
        >>> options.nccf_window_size, options.nccf_window_shift, len(options.lags)
        (100, 40, 417)
    """

    sample_frequency: float = 16000.0
    frame_length: float = 25.0
    frame_shift: float = 10.0
    preemphasis_coefficient: float = 0.0
    min_f0: float = 50.0
    max_f0: float = 400.0
    soft_min_f0: float = 10.0
    penalty_factor: float = 0.1
    lowpass_cutoff: float = 1000.0
    resample_frequency: float = 4000.0
    delta_pitch: float = 0.005
    nccf_ballast: float = 7000.0
    nccf_ballast_online: bool = False
    lowpass_filter_width: int = 1
    upsample_filter_width: int = 5
    frames_per_chunk: int = 0
    recompute_frame: int = 500
    snip_edges: bool = True
    simulate_first_pass_online: bool = False
    max_frames_latency: int = 0

    @property
    def nccf_window_size(self) -> int:
        """Samples of a frame at the resampled rate."""
        return int(_f32(self.resample_frequency) * _f32(self.frame_length) / 1000.0)

    @property
    def nccf_window_shift(self) -> int:
        """Samples between frames at the resampled rate."""
        return int(_f32(self.resample_frequency) * _f32(self.frame_shift) / 1000.0)

    @property
    def measured_lags(self) -> tuple[int, int]:
        """First and last integer lag (resampled samples) at which the NCCF is measured."""
        half_filter = self.upsample_filter_width / (2.0 * _f32(self.resample_frequency))
        first = math.ceil(_f32(self.resample_frequency) * (1.0 / _f32(self.max_f0) - half_filter))
        last = math.floor(_f32(self.resample_frequency) * (1.0 / _f32(self.min_f0) + half_filter))
        return first, last

    @property
    def lags(self) -> np.ndarray:
        """The log-spaced lags in seconds, float32, computed as Kaldi's ``SelectLags``."""
        return _select_lags(self)

    def check(self) -> None:
        """Raise ``ValueError`` naming the options that do not fit together.

        Example:
            >>> PitchOptions(min_f0=500.0).check()
            Traceback (most recent call last):
            ...
            ValueError: min_f0=500.0 must be below max_f0=400.0
        """
        if self.min_f0 >= self.max_f0:
            raise ValueError(f"min_f0={self.min_f0} must be below max_f0={self.max_f0}")
        if self.resample_frequency != int(self.resample_frequency) or self.sample_frequency != int(
            self.sample_frequency
        ):
            raise ValueError("sample_frequency and resample_frequency must be whole numbers of Hz (Kaldi's resampler)")
        nyquist = min(self.sample_frequency, self.resample_frequency) / 2
        if self.lowpass_cutoff > nyquist:
            raise ValueError(f"lowpass_cutoff={self.lowpass_cutoff} must not exceed {nyquist} Hz (half the lower rate)")
        if self.nccf_window_size < 2 or self.nccf_window_shift < 1:
            raise ValueError(
                f"frame_length={self.frame_length} and frame_shift={self.frame_shift} ms are too short at "
                f"resample_frequency={self.resample_frequency}"
            )
        if self.measured_lags[0] < 1:
            raise ValueError(f"max_f0={self.max_f0} is too high for resample_frequency={self.resample_frequency}")
        if 1.0 / self.min_f0 * self.resample_frequency > 1e5:
            raise ValueError(f"min_f0={self.min_f0} gives lags of over 100000 samples")

    @property
    def lag_resampler(self) -> tuple[LagBlock, ...]:
        """The float64 interpolation of the NCCF onto :attr:`lags`, in blocks of states (see :class:`LagBlock`)."""
        return _lag_resampler(self)


# Both are kept per set of options (shared, not to be modified): each functional call builds its options anew.
@functools.lru_cache(maxsize=16)
def _select_lags(options: PitchOptions) -> np.ndarray:
    lag = np.float32(1.0 / _f32(options.max_f0))
    top = np.float32(1.0 / _f32(options.min_f0))
    step = 1.0 + float(np.float32(options.delta_pitch))
    lags = []
    while lag <= top:
        lags.append(lag)
        lag = np.float32(float(lag) * step)
    return np.array(lags, dtype=np.float32)


@dataclass(frozen=True)
class LagBlock:
    """States ``states`` of the NCCF on the log-spaced lags: ``weights`` times the measured lags ``measured``.

    The interpolation filter reaches only a few measured lags from each state, so consecutive states read
    a short run of them: blocks of states skip the zero weights of the whole ``(states, measured lags)``
    matrix (most of it). The tables are numpy arrays (shared, not to be modified), so that they are the same
    whether first built by an eager call or while a program is traced.

    Example:
        >>> first = PitchOptions().lag_resampler[0]
        >>> first.states, first.measured, tuple(first.weights.shape)
        (slice(0, 64, None), slice(0, 11, None), (64, 11))
    """

    states: slice
    measured: slice
    weights: np.ndarray


#: States per :class:`LagBlock`.
_LAG_BLOCK = 64


@functools.lru_cache(maxsize=16)
def _lag_matrix(options: PitchOptions) -> np.ndarray:
    """The float64 ``(len(options.lags), measured lags)`` interpolation of the NCCF onto the log-spaced lags."""
    first, last = options.measured_lags
    points = options.lags - np.float32(first / _f32(options.resample_frequency))
    return arbitrary_resample_matrix(
        last + 1 - first,
        _f32(options.resample_frequency),
        _f32(options.resample_frequency) * 0.5,
        points,
        options.upsample_filter_width,
    )


@functools.lru_cache(maxsize=16)
def _lag_resampler(options: PitchOptions) -> tuple[LagBlock, ...]:
    matrix = _lag_matrix(options)
    blocks = []
    for start in range(0, matrix.shape[0], _LAG_BLOCK):
        rows = slice(start, min(start + _LAG_BLOCK, matrix.shape[0]))
        used = np.flatnonzero(matrix[rows].any(axis=0))
        low, high = (int(used[0]), int(used[-1]) + 1) if len(used) else (0, 1)
        blocks.append(LagBlock(rows, slice(low, high), np.ascontiguousarray(matrix[rows, low:high])))
    return tuple(blocks)


def _on_device(options: PitchOptions, device: torch.device) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """The lag matrix and the weights of each :class:`LagBlock` as tensors on ``device``.

    An eager call reuses the tensors kept per device (a CPU tensor shares the arrays' memory; another device
    gets its copy once, not per call); while a program is traced they are made anew, so that what is kept is
    never a traced constant.

    Example:
        >>> matrix, blocks = _on_device(PitchOptions(), torch.device("cpu"))
        >>> tuple(matrix.shape) == _lag_matrix(PitchOptions()).shape, tuple(blocks[0].shape)
        (True, (64, 11))
    """
    if torch.compiler.is_compiling():
        return _copied_to(options, device)
    return _kept_on(options, device)


def _copied_to(options: PitchOptions, device: torch.device) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    blocks = tuple(torch.as_tensor(block.weights, device=device) for block in options.lag_resampler)
    return torch.as_tensor(_lag_matrix(options), device=device), blocks


_kept_on = functools.lru_cache(maxsize=16)(_copied_to)


def frames_available(options: PitchOptions, num_samples: int, finished: bool) -> int:
    """Kaldi's ``NumFramesAvailable``: frames computable from ``num_samples`` resampled samples."""
    shift = options.nccf_window_shift
    length = options.nccf_window_size + (0 if finished else options.measured_lags[1])
    if num_samples < length:
        return 0
    if options.snip_edges:
        return (num_samples - length) // shift + 1
    if finished:
        return int(_f32(num_samples * _f32(1.0) / shift) + _f32(0.5))
    return int(_f32((num_samples - length // 2) * _f32(1.0) / shift) + _f32(0.5))


def steady_length(options: PitchOptions) -> int:
    """The shortest input from which on the tracker computes a frame before the input ends and the input gives
    two frames or more: from there on, the computation takes the same steps for every length.

    Example:
        >>> steady_length(PitchOptions())
        733
    """

    def steady(num_samples: int) -> bool:
        available = num_resampled(
            num_samples,
            int(options.sample_frequency),
            int(options.resample_frequency),
            options.lowpass_cutoff,
            options.lowpass_filter_width,
            False,
        )
        return frames_available(options, available, False) >= 1 and pitch_frame_counts(options, num_samples) >= 2

    low, high = 1, 1
    while not steady(high):
        low, high = high + 1, 2 * high
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if steady(middle) else (middle + 1, high)
    return low


def _call_sizes(options: PitchOptions, num_samples: int, chunk_sizes: list[int] | None) -> list[int]:
    """The sizes of the pieces the signal arrives in (one piece, or ``frames_per_chunk`` frames each)."""
    if chunk_sizes is not None:
        return chunk_sizes
    if options.frames_per_chunk <= 0:
        return [num_samples]
    per_chunk = int(
        _f32(options.frames_per_chunk * _f32(options.sample_frequency) * _f32(options.frame_shift) / 1000.0)
    )
    sizes = [per_chunk] * (num_samples // per_chunk)
    return sizes + ([num_samples % per_chunk] if num_samples % per_chunk else [])


def pitch_frame_counts(options: PitchOptions, num_samples: int) -> int:
    """Frames of pitch in ``num_samples`` input samples.

    Example:
        >>> pitch_frame_counts(PitchOptions(), 16000), pitch_frame_counts(PitchOptions(snip_edges=False), 16000)
        (98, 100)
    """
    rate_in, rate_out = int(options.sample_frequency), int(options.resample_frequency)
    resampled = num_resampled(
        num_samples, rate_in, rate_out, options.lowpass_cutoff, options.lowpass_filter_width, True
    )
    return frames_available(options, resampled, finished=True)


def _call_ends(
    options: PitchOptions, num_samples: int, total: int, frames: int, chunk_sizes: list[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each piece the signal arrives in, then for its end: the frames computed once that is in (they do not
    decrease) and the resampled samples available then."""
    rate_in, rate_out = int(options.sample_frequency), int(options.resample_frequency)
    received, ends, available = 0, [], []
    for size in _call_sizes(options, num_samples, chunk_sizes):
        received += size
        available.append(
            num_resampled(received, rate_in, rate_out, options.lowpass_cutoff, options.lowpass_filter_width, False)
        )
        ends.append(min(frames_available(options, available[-1], False), frames))
    return torch.tensor([*ends, frames]), torch.tensor([*available, total])


def _schedule(
    options: PitchOptions, num_samples: int, resampled: torch.Tensor, frames: int, chunk_sizes: list[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per frame ``(..., frames)``: the mean square energy its ballast uses, before and after Kaldi's recomputation.

    A frame takes the energy of the signal available when it was first computed; the first
    ``recompute_frame`` frames are then recomputed with the energy of the piece that computed frame
    ``recompute_frame - 1`` (the last if none did) where that differs by over 1 % from any of theirs.
    """
    total = resampled.shape[-1]
    signal = resampled.to(torch.float64)
    if options.nccf_ballast_online:
        energy = mean_squares(signal, ballast_online_counts(options, 0, frames, total))
        return energy, energy
    ends, available = (part.to(signal.device) for part in _call_ends(options, num_samples, total, frames, chunk_sizes))
    values = mean_squares(signal, available)
    index = torch.arange(frames, device=signal.device)
    energy = values[..., torch.searchsorted(ends, index, right=True)]
    recompute = options.recompute_frame
    computing = torch.searchsorted(ends, index.new_full((1,), recompute - 1), right=True).clamp(max=len(ends) - 1)
    reference = values[..., computing]
    old, new = energy.to(torch.float32), reference.to(torch.float32)
    early = index < recompute
    differs = ((old - new).abs() > 0.01 * torch.maximum(old.abs(), new.abs())) & early
    return energy, torch.where(differs.any(dim=-1, keepdim=True) & early, reference, energy)


def mean_squares(signal: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """The mean square (the variance: mean of squares less squared mean) of ``signal[..., :n]`` for each ``n``.

    Example:
        >>> mean_squares(torch.tensor([1.0, 3.0, 5.0], dtype=torch.float64), torch.tensor([1, 2, 3])).tolist()
        [0.0, 1.0, 2.666666666666666]
    """
    running_sum = torch.nn.functional.pad(signal.cumsum(-1), [1, 0])
    running_squares = torch.nn.functional.pad(signal.square().cumsum(-1), [1, 0])
    counts = torch.as_tensor(counts).clamp(min=1)
    mean = running_sum[..., counts] / counts
    return running_squares[..., counts] / counts - mean * mean


def ballast_online_counts(options: PitchOptions, first_frame: int, end_frame: int, available: int) -> torch.Tensor:
    """With ``nccf_ballast_online``: how many resampled samples each frame's ballast energy covers (up to its end).

    Example:
        >>> ballast_online_counts(PitchOptions(), 0, 3, 1000).tolist()
        [182, 222, 262]
    """
    full = options.nccf_window_size + options.measured_lags[1]
    return (torch.as_tensor(_frame_starts(options, end_frame)[first_frame:]) + full).clamp(max=available)


def _frame_starts(options: PitchOptions, frames: int) -> np.ndarray:
    shift = options.nccf_window_shift
    index = np.arange(frames, dtype=np.int64)
    if options.snip_edges:
        return index * shift
    full = options.nccf_window_size + options.measured_lags[1]
    return ((index + 0.5) * shift).astype(np.int64) - full // 2


def window_start(options: PitchOptions, frame: int) -> int:
    """The resampled sample where frame ``frame``'s NCCF window starts (negative: before the signal).

    Example:
        >>> window_start(PitchOptions(), 10), window_start(PitchOptions(snip_edges=False), 0)
        (400, -71)
    """
    return int(_frame_starts(options, 1)[0]) + frame * options.nccf_window_shift


def nccf_terms(
    options: PitchOptions, resampled: torch.Tensor, first_frame: int, end_frame: int, offset: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Inner products, energy products and their mean over lags, for frames ``first_frame .. end_frame - 1``:
    ``(..., frames, measured lags)`` twice and ``(..., frames)``.

    ``resampled`` ``(..., samples)`` holds the resampled signal from sample ``offset`` on (a stream lets go of
    what no later frame reads).

    Computed in float64, so that a frame's values do not depend on which frames were computed with it.

    Windows reach past the signal with zeros (Kaldi pads the first frames without ``snip_edges`` and the
    last ones at the end); each is centred on the mean of its first ``nccf_window_size`` samples.
    """
    size = options.nccf_window_size
    first, last = options.measured_lags
    full = size + last
    shift = options.nccf_window_shift
    start = window_start(options, first_frame) - offset
    span = (end_frame - first_frame - 1) * shift + full
    left = max(-start, 0)
    # zeros on either side (a negative right pad cuts the end): the padded signal ends with the last window
    padded = torch.nn.functional.pad(resampled, [left, start + span - resampled.shape[-1]])[..., start + left :]
    windows = padded.to(torch.float64).unfold(-1, full, shift)
    if options.preemphasis_coefficient != 0.0:
        coeff = options.preemphasis_coefficient
        windows = torch.cat([windows[..., :1] * (1.0 - coeff), windows[..., 1:] - coeff * windows[..., :-1]], dim=-1)
    windows = windows - windows[..., :size].mean(dim=-1, keepdim=True)
    head = windows[..., :size]
    # The inner products at every lag are one cross-correlation of each window with its head, by FFT.
    length = 1 << (full - 1).bit_length()
    spectrum = torch.fft.rfft(windows, length) * torch.fft.rfft(head, length).conj()
    inner = torch.fft.irfft(spectrum, length)[..., first : last + 1]
    running = torch.nn.functional.pad(windows[..., first:].square().cumsum(-1), [1, 0])
    energies = running[..., size : size + last + 1 - first] - running[..., : last + 1 - first]
    norm_prod = torch.linalg.vecdot(head, head).unsqueeze(-1) * energies
    return inner, norm_prod, norm_prod.mean(dim=-1)


def _costs(
    options: PitchOptions, waveform: torch.Tensor, chunk_sizes: list[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The NCCF with ballast on the log-spaced lags ``(batch, frames, states)`` in ``waveform``'s dtype and the
    float64 NCCF without it on the measured lags ``(batch, frames, measured lags)``, of ``(batch, time)``."""
    rate_in, rate_out = int(options.sample_frequency), int(options.resample_frequency)
    resampled = linear_resample(
        waveform.to(torch.float64), rate_in, rate_out, options.lowpass_cutoff, options.lowpass_filter_width
    )
    frames = pitch_frame_counts(options, waveform.shape[-1])
    if frames == 0:
        first, last = options.measured_lags
        measured = waveform.new_zeros((waveform.shape[0], 0, last + 1 - first), dtype=torch.float64)
        return waveform.new_zeros((waveform.shape[0], 0, len(options.lags))), measured
    inner, norm_prod, avg_norm_prod = nccf_terms(options, resampled, 0, frames)
    energy, rescaled = _schedule(options, waveform.shape[-1], resampled, frames, chunk_sizes)
    pitch_res, pov_res = lag_nccf(options, inner, norm_prod, energy, waveform.dtype)
    # Kaldi rescales every frame of an item whose energy was recomputed (by 1 where a frame's is unchanged); the
    # other items are multiplied by 1, which leaves them as they are.
    scale = ballast_rescaling(options, energy, rescaled, avg_norm_prod)
    recomputed = (energy != rescaled).any(dim=-1, keepdim=True)
    return pitch_res * torch.where(recomputed, scale, 1.0).to(pitch_res.dtype)[..., None], pov_res


def _ballast(options: PitchOptions, energy: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return ((energy * options.nccf_window_size).square() * options.nccf_ballast).to(dtype)


def lag_nccf(
    options: PitchOptions, inner: torch.Tensor, norm_prod: torch.Tensor, energy: torch.Tensor, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """The NCCF with ballast (``energy``: each frame's mean square) on the log-spaced lags, and without it
    (``(..., frames, lags)`` from the :func:`nccf_terms` of ``(..., frames)`` frames).

    The first, for the search, is interpolated onto every log-spaced lag in float64 and rounded to ``dtype``;
    the second, for the output, stays float64 on the measured lags: only the lag of each frame's best path
    is read from it (:func:`nccf_on_path`). A frame's values do not depend on how many frames were computed
    with it (a stream gives the offline values).
    """
    tiny = torch.finfo(torch.float64).tiny
    denominator = (norm_prod + _ballast(options, energy, torch.float64)[..., None]).sqrt()
    nccf_pitch = torch.where(denominator != 0, inner / denominator.clamp(min=tiny), 0.0)
    pov_denominator = norm_prod.sqrt()
    nccf_pov = torch.where(pov_denominator != 0, inner / pov_denominator.clamp(min=tiny), 0.0)
    # Lags as rows, so that each block's product is whole rows of the result.
    measured = nccf_pitch.transpose(-1, -2).contiguous()
    weights = _on_device(options, inner.device)[1]
    by_state = torch.cat(
        [
            torch.matmul(block_weights, measured[..., block.measured, :])
            for block, block_weights in zip(options.lag_resampler, weights, strict=True)
        ],
        dim=-2,
    )
    return by_state.transpose(-1, -2).contiguous().to(dtype), nccf_pov


def nccf_on_path(options: PitchOptions, nccf: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """Each frame's NCCF ``(frames, measured lags)`` interpolated at its own log-spaced lag ``states[t]`` (float64).

    Example:
        >>> options = PitchOptions()
        >>> first, last = options.measured_lags
        >>> flat = torch.full((2, last + 1 - first), 0.5, dtype=torch.float64)
        >>> [round(value, 3) for value in nccf_on_path(options, flat, torch.tensor([0, 200])).tolist()]
        [0.5, 0.5]
    """
    on_path: torch.Tensor = torch.linalg.vecdot(_on_device(options, nccf.device)[0][states], nccf)
    return on_path


def ballast_rescaling(
    options: PitchOptions, old: torch.Tensor, new: torch.Tensor, avg_norm_prod: torch.Tensor
) -> torch.Tensor:
    """Kaldi's correction of the ballasted NCCF when the energy behind the ballast changes from ``old`` to ``new``."""
    dtype = avg_norm_prod.dtype
    old_ballast, new_ballast = _ballast(options, old, dtype), _ballast(options, new, dtype)
    return ((old_ballast + avg_norm_prod) / (new_ballast + avg_norm_prod)).sqrt()


def _first_pass_batch(
    waveform: torch.Tensor, sample_counts: list[int], options: PitchOptions, chunk_sizes: list[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`kaldi_pitch` with ``simulate_first_pass_online``: each item streamed through Kaldi's online tracker."""
    from tympan.plugins.kaldi.functional._pitch_stream import first_pass_pitch

    items = [
        first_pass_pitch(options, waveform[b, :count], _call_sizes(options, count, chunk_sizes))
        for b, count in enumerate(sample_counts)
    ]
    counts = torch.tensor([item.shape[0] for item in items], dtype=torch.int64)
    output = waveform.new_zeros((len(items), int(counts.max()) if items else 0, 2))
    for b, item in enumerate(items):
        output[b, : item.shape[0]] = item.to(output)
    return output, counts.to(waveform.device)


def kaldi_pitch(
    waveform: torch.Tensor,
    lengths: torch.Tensor | None,
    options: PitchOptions,
    chunk_sizes: list[int] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaldi's raw pitch ``(batch, frames, 2)`` = (NCCF, pitch in Hz) of ``(batch, time)`` and frame counts.

    ``lengths`` gives each item's valid samples; frames past an item's count are zero. ``chunk_sizes``
    (one item only) replays the sizes of the pieces a stream received.
    """
    batch = waveform.shape[0]
    if options.simulate_first_pass_online:
        sample_counts = [waveform.shape[-1]] * batch if lengths is None else lengths.tolist()
        return _first_pass_batch(waveform, sample_counts, options, chunk_sizes)
    if batch == 0:
        return waveform.new_zeros((0, 0, 2)), torch.zeros(0, dtype=torch.int64, device=waveform.device)
    # one piece of equal items, or one per item cut to its length
    pieces = (
        [waveform] if lengths is None else [waveform[b : b + 1, :count] for b, count in enumerate(lengths.tolist())]
    )
    costs = [_costs(options, piece, chunk_sizes) for piece in pieces]
    counts = torch.cat([torch.full((pitch.shape[0],), pitch.shape[1], dtype=torch.int64) for pitch, _ in costs])
    frames = max(pitch.shape[1] for pitch, _ in costs)
    output = waveform.new_zeros((batch, frames, 2))
    if frames == 0:
        return output, counts.to(waveform.device)
    pitch_nccf = _stacked([pitch for pitch, _ in costs], frames)
    lags = torch.as_tensor(options.lags, device=waveform.device).to(waveform.dtype)
    local = 1.0 - pitch_nccf + options.soft_min_f0 * (lags * pitch_nccf)
    path = viterbi_path(local, counts, pitch_penalty_factor(options))
    pov_nccf = _stacked([pov for _, pov in costs], frames).flatten(0, 1)
    output[..., 0] = nccf_on_path(options, pov_nccf, path.flatten()).view(batch, frames)
    output[..., 1] = 1.0 / lags[path]
    valid = torch.arange(frames, device=waveform.device) < counts.to(waveform.device)[:, None]
    return torch.where(valid.unsqueeze(-1), output, torch.zeros_like(output)), counts.to(waveform.device)


def _stacked(pieces: list[torch.Tensor], frames: int) -> torch.Tensor:
    """``(batch, frames, ...)`` of pieces ``(items, their frames, ...)``, zero past their frames."""
    padded = [
        torch.nn.functional.pad(piece, [0, 0, 0, frames - piece.shape[1]]) if piece.shape[1] < frames else piece
        for piece in pieces
    ]
    return padded[0] if len(padded) == 1 else torch.cat(padded)
