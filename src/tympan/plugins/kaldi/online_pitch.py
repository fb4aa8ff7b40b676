"""Streaming Kaldi pitch: ``OnlinePitch`` takes audio in chunks and returns (NCCF, pitch) frames once final.

It follows Kaldi's ``OnlinePitchFeature``: each chunk adds the frames whose windows it completed, with a
ballast from the energy of the signal so far, and advances the Viterbi search by those frames. A frame is
returned once no later input can change it: when every state of the newest frame traces back through the
same lag there, and, among the first ``recompute_frame`` frames, once Kaldi's ballast correction is done
(at that frame, or at the end). ``input_finished()`` returns the rest. Everything returned equals
``kaldi_pitch`` of the whole signal given the same chunk sizes (with ``nccf_ballast_online``, any sizes give
the offline result). The stream is computed on the CPU in float32.

Example:
    >>> import math, torch
    >>> t = torch.arange(32000) / 16000
    >>> audio = 1000 * torch.sin(2 * math.pi * 180 * t)
    >>> stream = OnlinePitch(nccf_ballast_online=True)
    >>> parts = [stream.accept_waveform(chunk) for chunk in audio.split(3200)] + [stream.input_finished()]
    >>> streamed = torch.cat(parts)
    >>> streamed.shape, torch.equal(streamed, Pitch(nccf_ballast_online=True)(audio))
    (torch.Size([198, 2]), True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from tympan.plugins.kaldi.functional._pitch import (
    ballast_online_counts,
    ballast_rescaling,
    frames_available,
    lag_nccf,
    mean_squares,
    nccf_terms,
)
from tympan.plugins.kaldi.functional._pitch_resample import linear_resample, num_resampled
from tympan.plugins.kaldi.functional._pitch_viterbi import _MonotoneSearch, _penalty, pitch_penalty_factor
from tympan.plugins.kaldi.online import checked_chunk
from tympan.plugins.kaldi.pitch import Pitch

__all__ = ["OnlinePitch"]


class OnlinePitch:
    """Kaldi's pitch tracker on a stream, built with :class:`~tympan.plugins.kaldi.pitch.Pitch`'s options.

    ``frames_per_chunk`` is not an option here: the chunks are the stream's own.

    Example:
        >>> import torch
        >>> stream = OnlinePitch(sample_frequency=8000.0)
        >>> stream.accept_waveform(torch.randn(800)).shape[1], stream.input_finished().shape[1]
        (2, 2)
    """

    def __init__(self, **options: Any) -> None:
        if options.get("frames_per_chunk", 0):
            raise ValueError("frames_per_chunk does not apply to a stream: its chunks are the ones it receives")
        self.options = Pitch(**options).options
        states = len(self.options.lags)
        self._search = _MonotoneSearch(
            states, _penalty(states, pitch_penalty_factor(self.options), np.dtype(np.float32))
        )
        self._lags = torch.as_tensor(self.options.lags)
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far and start a new one."""
        self._samples: list[torch.Tensor] = []
        self._received = 0
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
    def num_frames_ready(self) -> int:
        """Frames returned so far."""
        return self._emitted

    def accept_waveform(self, chunk: torch.Tensor) -> torch.Tensor:
        """Append a 1-D chunk; returns the ``(frames, 2)`` (NCCF, pitch) frames that became final."""
        chunk = checked_chunk(chunk, self._finished)
        self._samples.append(chunk.detach().to("cpu", torch.float32))
        self._received += chunk.shape[0]
        self._advance(finished=False)
        return self._emit(self._final_frames())

    def input_finished(self) -> torch.Tensor:
        """End the stream; returns the remaining frames."""
        if self._finished:
            raise ValueError("input_finished() was already called; reset() first")
        self._advance(finished=True)
        self._finished = True
        return self._emit(len(self._pointers))

    def _advance(self, finished: bool) -> None:
        options = self.options
        rates = int(options.sample_frequency), int(options.resample_frequency)
        cutoff, zeros = options.lowpass_cutoff, options.lowpass_filter_width
        available = num_resampled(self._received, *rates, cutoff, zeros, flush=finished)
        signal = torch.cat(self._samples).to(torch.float64) if self._samples else torch.zeros(0, dtype=torch.float64)
        resampled = linear_resample(signal[None], *rates, cutoff, zeros, num_outputs=available)[0]
        start = len(self._pointers)
        end = frames_available(options, available, finished)
        values = resampled
        if end > start:
            inner, norm_prod, average = nccf_terms(options, resampled, start, end)
            energy = self._frame_energy(values, start, end, available)
            pitch_nccf, pov_nccf = lag_nccf(options, inner, norm_prod, energy, torch.float32)
            self._energy += energy.tolist()
            self._avg_norm_prod += list(average)
            self._pitch_nccf += list(pitch_nccf)
            self._pov_nccf += list(pov_nccf)
            for t in range(start, end):
                self._step(t)
                if t == options.recompute_frame - 1:
                    self._recompute(values)
        if finished and len(self._pointers) < options.recompute_frame:
            self._recompute(values)

    def _frame_energy(self, values: torch.Tensor, start: int, end: int, available: int) -> torch.Tensor:
        """The mean square energy behind each new frame's ballast (all samples so far, or up to the frame)."""
        if self.options.nccf_ballast_online:
            return mean_squares(values, ballast_online_counts(self.options, start, end, available))
        return mean_squares(values, torch.full((end - start,), available))

    def _step(self, t: int) -> None:
        local = self._local_cost(t)
        best, pointer = self._search(self._cost)
        cost = best + local
        self._cost = cost - cost.min()
        if t < len(self._pointers):
            self._pointers[t] = pointer
        else:
            self._pointers.append(pointer)

    def _local_cost(self, t: int) -> np.ndarray:
        nccf = self._pitch_nccf[t]
        return (1.0 - nccf + self.options.soft_min_f0 * (self._lags * nccf)).numpy()

    def _recompute(self, values: torch.Tensor) -> None:
        """Kaldi's ``RecomputeBacktraces``: rescale the early frames' ballast to the energy now and search again."""
        if not self._revisable or self.options.nccf_ballast_online:
            return
        self._revisable = False
        frames = len(self._pointers)
        if frames == 0:
            return
        current = float(mean_squares(values, torch.tensor(values.shape[0])))
        old = torch.tensor(self._energy[:frames], dtype=torch.float64)
        old32, new32 = old.to(torch.float32), torch.tensor(current, dtype=torch.float32)
        if not bool(((old32 - new32).abs() > 0.01 * torch.maximum(old32.abs(), new32.abs())).any()):
            return
        average = torch.stack(self._avg_norm_prod[:frames])
        scale = ballast_rescaling(self.options, old, torch.full_like(old, current), average)
        for t in range(frames):
            self._pitch_nccf[t] = self._pitch_nccf[t] * scale[t].to(torch.float32)
        self._cost = np.zeros_like(self._cost)
        for t in range(frames):
            self._step(t)

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

    def _emit(self, upto: int) -> torch.Tensor:
        frames = len(self._pointers)
        output = torch.zeros((max(upto - self._emitted, 0), 2))
        if upto <= self._emitted:
            return output
        state = int(self._cost.argmin())
        path = np.zeros(frames, dtype=np.int64)
        for t in range(frames - 1, -1, -1):
            path[t] = state
            state = int(self._pointers[t][state])
        for row, t in enumerate(range(self._emitted, upto)):
            output[row, 0] = self._pov_nccf[t][path[t]]
            output[row, 1] = 1.0 / self._lags[path[t]]
        self._emitted = upto
        return output
