"""Kaldi's online pitch tracker (``OnlinePitchFeature``) as a stream, and the first pass it outputs.

Each piece of audio adds the frames whose windows it completed, with a ballast from the energy of the
signal so far, and advances the Viterbi search by those frames; among the first ``recompute_frame`` frames,
Kaldi's ballast correction redoes the search at that frame (or at the end). A frame's (NCCF, pitch) is read
off the best path to the newest frame's cheapest state, so it can change while the paths of the newest
frame's states still part before it. ``simulate_first_pass_online`` (``compute-kaldi-pitch-feats``) outputs
each frame as it was when first ready: Kaldi's online extractor holds back only the newest frames whose paths
have not merged, at most ``max_frames_latency`` of them (0: none).

Example:
    >>> import math, torch
    >>> t = torch.arange(16000) / 16000
    >>> audio = 1000 * torch.sin(2 * math.pi * 180 * t)
    >>> options = PitchOptions(simulate_first_pass_online=True, max_frames_latency=5, frames_per_chunk=10)
    >>> first = first_pass_pitch(options, audio, [1600] * 10)
    >>> first.shape, round(float(first[50, 1]))
    (torch.Size([98, 2]), 180)
"""

from __future__ import annotations

import math

import numpy as np
import torch

from tympan.plugins.kaldi.functional._pitch import (
    PitchOptions,
    ballast_online_counts,
    ballast_rescaling,
    frames_available,
    lag_nccf,
    nccf_on_path,
    nccf_terms,
    window_start,
)
from tympan.plugins.kaldi.functional._pitch_resample import linear_resample, num_resampled
from tympan.plugins.kaldi.functional._pitch_viterbi import advance, pitch_penalty_factor, trace_back

__all__ = ["PitchStream", "first_pass_pitch"]


def first_pass_pitch(options: PitchOptions, waveform: torch.Tensor, chunk_sizes: list[int]) -> torch.Tensor:
    """``(frames, 2)`` (NCCF, pitch) of a 1-D signal received in ``chunk_sizes`` pieces, each frame as first ready.

    As ``compute-kaldi-pitch-feats --simulate-first-pass-online``: the frames ready after each piece are
    read then; the last piece ends the stream before its frames are read.
    """
    stream = PitchStream(options)
    pieces = list(torch.split(waveform, chunk_sizes)) if waveform.shape[-1] else []
    parts = []
    for index, piece in enumerate(pieces):
        stream.accept(piece)
        if index + 1 < len(pieces):
            parts.append(stream.take())
    stream.finish()
    parts.append(stream.take())
    return torch.cat(parts)


class PitchStream:
    """The state of Kaldi's online pitch tracker for one stream of :class:`PitchOptions` (CPU, float32).

    :meth:`accept` takes samples, :meth:`finish` ends the stream and :meth:`take` returns the frames that
    are ready: all of them once finished; otherwise, with ``simulate_first_pass_online``, every frame but
    the last ``max_frames_latency`` whose best path is still open (their values are the current best path,
    which later input may revise), and else only the frames that no later input can change.

    Example:
        >>> import torch
        >>> stream = PitchStream(PitchOptions(sample_frequency=8000.0, simulate_first_pass_online=True))
        >>> stream.accept(torch.randn(800))
        >>> stream.take().shape
        torch.Size([6, 2])
    """

    def __init__(self, options: PitchOptions) -> None:
        self.options = options
        self._factor = pitch_penalty_factor(options)
        self._lags = torch.as_tensor(options.lags)
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far and start a new one."""
        self._input = torch.zeros(0, dtype=torch.float64)  # received samples later outputs still read
        self._input_offset = 0  # the index of self._input[0] in the stream
        self._received = 0
        self._resampled = torch.zeros(0, dtype=torch.float64)  # resampled samples later frames still read
        self._resampled_offset = 0
        self._available = 0  # resampled samples computed so far
        self._dropped_sum = 0.0  # sums over the resampled samples no longer held, for the ballast energy
        self._dropped_squares = 0.0
        self._energy: list[float] = []
        self._avg_norm_prod: list[torch.Tensor] = []
        self._pitch_nccf: list[torch.Tensor] = []
        self._pov_nccf: list[torch.Tensor] = []
        self._pointers: list[np.ndarray] = []
        self._cost = np.zeros(len(self.options.lags), dtype=np.float32)
        self._revisable = True
        self._emitted = 0
        self._finished = False

    @property
    def samples_held(self) -> int:
        """Samples the stream keeps (received and resampled) for the frames still to come: bounded by the
        chunk size and the windows, however long the stream runs."""
        return self._input.shape[0] + self._resampled.shape[0]

    @property
    def num_frames_ready(self) -> int:
        """Frames returned so far."""
        return self._emitted

    def accept(self, chunk: torch.Tensor) -> None:
        """Append a 1-D chunk of samples and advance the search by the frames it completed."""
        self._input = torch.cat([self._input, chunk.detach().to("cpu", torch.float64)])
        self._received += chunk.shape[0]
        self._advance(finished=False)

    def finish(self) -> None:
        """End the stream: compute the last frames (and Kaldi's ballast correction, if not yet done)."""
        if self._finished:
            raise ValueError("input_finished() was already called; reset() first")
        self._advance(finished=True)
        self._finished = True

    def take(self) -> torch.Tensor:
        """The ``(frames, 2)`` (NCCF, pitch) frames that became ready since the last call."""
        if self._finished:
            return self._emit(len(self._pointers))
        if self.options.simulate_first_pass_online:
            return self._emit(len(self._pointers) - self._latency())
        return self._emit(self._final_frames())

    def _advance(self, finished: bool) -> None:
        options = self.options
        rates = int(options.sample_frequency), int(options.resample_frequency)
        available = num_resampled(
            self._received, *rates, options.lowpass_cutoff, options.lowpass_filter_width, finished
        )
        self._resample_upto(available)
        start = len(self._pointers)
        end = frames_available(options, available, finished)
        if end > start:
            inner, norm_prod, average = nccf_terms(options, self._resampled, start, end, self._resampled_offset)
            energy = self._frame_energy(start, end, available)
            pitch_nccf, pov_nccf = lag_nccf(options, inner, norm_prod, energy, torch.float32)
            self._energy += energy.tolist()
            self._avg_norm_prod += list(average)
            self._pitch_nccf += list(pitch_nccf)
            self._pov_nccf += list(pov_nccf)
            if start < options.recompute_frame <= end:
                self._search(start, options.recompute_frame)
                self._recompute()
                start = options.recompute_frame
            self._search(start, end)
        if finished and len(self._pointers) < options.recompute_frame:
            self._recompute()
        self._forget_resampled(window_start(options, len(self._pointers)))

    def _resample_upto(self, available: int) -> None:
        """Resample the outputs from the last computed one up to ``available``, from the input they read.

        Output ``m * out_unit + j`` reads what output ``j`` reads, ``m * in_unit`` inputs later: the new
        outputs are computed from the input ``context`` whole units before them, and the input before that is
        let go.
        """
        options = self.options
        rate_in, rate_out = int(options.sample_frequency), int(options.resample_frequency)
        base = math.gcd(rate_in, rate_out)
        in_unit, out_unit = rate_in // base, rate_out // base
        width = options.lowpass_filter_width / (2.0 * options.lowpass_cutoff)
        context = math.ceil(width * rate_in / in_unit) + 1
        if available > self._available:
            first_unit = max(self._available // out_unit - context, 0)
            signal = self._input[first_unit * in_unit - self._input_offset :]
            cutoff, zeros = options.lowpass_cutoff, options.lowpass_filter_width
            outputs = available - first_unit * out_unit
            fresh = linear_resample(signal[None], rate_in, rate_out, cutoff, zeros, num_outputs=outputs)[0]
            fresh = fresh[self._available - first_unit * out_unit :]
            self._resampled = torch.cat([self._resampled, fresh])
            self._available = available
        keep = max(self._available // out_unit - context, 0) * in_unit
        if keep > self._input_offset:
            self._input = self._input[keep - self._input_offset :]
            self._input_offset = keep

    def _forget_resampled(self, first_needed: int) -> None:
        """Let go of the resampled samples before ``first_needed`` (the next frame's first), keeping their sums."""
        drop = min(max(first_needed, 0), self._available) - self._resampled_offset
        if drop > 0:
            dropped = self._resampled[:drop]
            self._dropped_sum += float(dropped.sum())
            self._dropped_squares += float(dropped.square().sum())
            self._resampled = self._resampled[drop:]
            self._resampled_offset += drop

    def _mean_squares(self, counts: torch.Tensor) -> torch.Tensor:
        """:func:`mean_squares` of the first ``counts`` resampled samples, each at least the offset held."""
        running_sum = torch.nn.functional.pad(self._resampled.cumsum(0), [1, 0]) + self._dropped_sum
        running_squares = torch.nn.functional.pad(self._resampled.square().cumsum(0), [1, 0]) + self._dropped_squares
        counts = torch.as_tensor(counts)
        index = counts - self._resampled_offset
        counts = counts.clamp(min=1)
        mean = running_sum[index] / counts
        return running_squares[index] / counts - mean * mean

    def _frame_energy(self, start: int, end: int, available: int) -> torch.Tensor:
        """The mean square energy behind each new frame's ballast (all samples so far, or up to the frame)."""
        if self.options.nccf_ballast_online:
            return self._mean_squares(ballast_online_counts(self.options, start, end, available))
        return self._mean_squares(torch.full((end - start,), available))

    def _search(self, start: int, end: int) -> None:
        """Advance the Viterbi search through frames ``start .. end - 1`` (after frame ``start - 1``'s costs)."""
        if end <= start:
            return
        nccf = torch.stack(self._pitch_nccf[start:end])
        local = (1.0 - nccf + self.options.soft_min_f0 * (self._lags * nccf)).numpy()
        self._pointers[start:end] = list(advance(self._cost, local, self._factor))

    def _recompute(self) -> None:
        """Kaldi's ``RecomputeBacktraces``: rescale the early frames' ballast to the energy now and search again."""
        if not self._revisable or self.options.nccf_ballast_online:
            return
        self._revisable = False
        frames = len(self._pointers)
        if frames == 0:
            return
        current = float(self._mean_squares(torch.tensor(self._available)))
        old = torch.tensor(self._energy[:frames], dtype=torch.float64)
        old32, new32 = old.to(torch.float32), torch.tensor(current, dtype=torch.float32)
        if not bool(((old32 - new32).abs() > 0.01 * torch.maximum(old32.abs(), new32.abs())).any()):
            return
        average = torch.stack(self._avg_norm_prod[:frames])
        scale = ballast_rescaling(self.options, old, torch.full_like(old, current), average)
        for t in range(frames):
            self._pitch_nccf[t] = self._pitch_nccf[t] * scale[t].to(torch.float32)
        self._cost = np.zeros_like(self._cost)
        self._search(0, frames)

    def _final_frames(self) -> int:
        """How many frames no later input can change."""
        frames = len(self._pointers)
        if frames == 0 or (self._revisable and not self.options.nccf_ballast_online):
            return self._emitted
        low, high = 0, len(self._cost) - 1
        for t in range(frames - 1, self._emitted - 1, -1):
            if low == high:
                return t + 1
            low, high = int(self._pointers[t][low]), int(self._pointers[t][high])
        return self._emitted

    def _latency(self) -> int:
        """Kaldi's frame latency: the newest frames (at most ``max_frames_latency``) whose paths have not merged."""
        low, high = 0, len(self._cost) - 1
        latency = 0
        for t in range(len(self._pointers) - 1, -1, -1):
            if latency >= self.options.max_frames_latency:
                break
            low, high = int(self._pointers[t][low]), int(self._pointers[t][high])
            if low == high:
                break
            latency += 1
        return latency

    def _emit(self, upto: int) -> torch.Tensor:
        if upto <= self._emitted:
            return torch.zeros((0, 2))
        path = trace_back(np.stack(self._pointers[self._emitted :]), int(self._cost.argmin()))
        states = torch.from_numpy(path[: upto - self._emitted]).unsqueeze(1)
        nccf = nccf_on_path(self.options, torch.stack(self._pov_nccf[self._emitted : upto]), states[:, 0])
        self._emitted = upto
        return torch.stack([nccf.to(torch.float32), 1.0 / self._lags[states[:, 0]].to(torch.float32)], dim=1)
