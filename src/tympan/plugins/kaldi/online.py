"""Streaming Kaldi features: ``OnlineFbank``, ``OnlineMfcc`` (and the spectrogram and PLP) take audio in
chunks of any size.

``accept_waveform(chunk)`` returns the frames that the chunk completed, ``input_finished()`` the rest; the
concatenation of everything returned is the offline result (the same frames through the same code), as
Kaldi's and kaldi-native-fbank's online extractors give: bit for bit in float32, and to the last few bits
in float64 (whose matrix products sum in an order that depends on how many frames they multiply). Without
``snip_edges`` the last frames reflect the signal about its end, so they wait for ``input_finished()``.
Only the samples that later frames still need are kept between calls.

Example:
    >>> import torch
    >>> stream = OnlineFbank(num_mel_bins=40)
    >>> audio = torch.randn(16000)
    >>> parts = [stream.accept_waveform(chunk) for chunk in audio.split(1234)] + [stream.input_finished()]
    >>> torch.equal(torch.cat(parts), Fbank(num_mel_bins=40)(audio))
    True
"""

from __future__ import annotations

from typing import Any

import torch

from tympan.plugins.kaldi._base import KaldiFeature, compute_dtype
from tympan.plugins.kaldi.features import Fbank, Mfcc, Plp, Spectrogram
from tympan.plugins.kaldi.functional._compute import features_into
from tympan.plugins.kaldi.functional._frames import reflect_indices

__all__ = ["OnlineFbank", "OnlineFeature", "OnlineMfcc", "OnlinePlp", "OnlineSpectrogram", "checked_chunk"]


def checked_chunk(chunk: torch.Tensor, finished: bool) -> torch.Tensor:
    """``chunk`` as a tensor; ``ValueError`` unless it is 1-D and the stream is still open.

    Example:
        >>> checked_chunk([0.0, 1.0], finished=False).shape
        torch.Size([2])
    """
    if finished:
        raise ValueError("input_finished() was called; reset() before streaming another utterance")
    chunk = torch.as_tensor(chunk)
    if chunk.dim() != 1:
        raise ValueError(f"a chunk must be 1-D (time,), got shape {list(chunk.shape)}")
    return chunk


class OnlineFeature:
    """A streaming front end around an offline Kaldi feature module (its options, tables and device).

    Example:
        >>> import torch
        >>> stream = OnlineFeature(Mfcc())
        >>> stream.accept_waveform(torch.randn(500)).shape, stream.num_frames_ready
        (torch.Size([1, 13]), 1)
    """

    def __init__(self, extractor: KaldiFeature) -> None:
        if extractor.options.subtract_mean:
            raise ValueError("subtract_mean needs the whole utterance, so a stream cannot apply it")
        self.extractor = extractor
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far and start a new one."""
        self._buffer: torch.Tensor | None = None
        self._offset = 0
        self._received = 0
        self._emitted = 0
        self._finished = False
        self._generator = self.extractor._generator(self.extractor.window.device)

    @property
    def dim(self) -> int:
        """Values per frame."""
        return self.extractor.feature_dim

    @property
    def num_frames_ready(self) -> int:
        """Frames returned so far."""
        return self._emitted

    def to(self, device: torch.device | str) -> OnlineFeature:
        """Move the tables to ``device``; chunks are computed there. Returns ``self``.

        Example:
            >>> OnlineFbank().to("cpu").dim
            23
        """
        self.extractor.to(device)
        if self._buffer is not None:
            self._buffer = self._buffer.to(device)
        return self

    def accept_waveform(self, chunk: torch.Tensor) -> torch.Tensor:
        """Append a 1-D chunk of samples; returns the ``(frames, dim)`` frames it completed (maybe none)."""
        chunk = checked_chunk(chunk, self._finished)
        device = self.extractor.window.device
        chunk = chunk.to(device=device, dtype=compute_dtype(chunk))
        self._buffer = chunk if self._buffer is None else torch.cat([self._buffer.to(chunk.dtype), chunk])
        self._received += chunk.shape[0]
        return self._emit(self._buffer, flush=False)

    def input_finished(self) -> torch.Tensor:
        """End the stream; returns the remaining frames (those that needed the end of the signal)."""
        if self._buffer is None:
            self._buffer = self.extractor.window.new_zeros(0)
        frames = self._emit(self._buffer, flush=True)
        self._finished = True
        return frames

    def _emit(self, buffer: torch.Tensor, flush: bool) -> torch.Tensor:
        geometry = self.extractor.options.geometry
        ready = geometry.num_frames(self._received, flush=flush)
        first, count = self._emitted, max(ready - self._emitted, 0)
        output = buffer.new_zeros((count, self.dim))
        if count:
            start = geometry.first_sample(first)
            span = (count - 1) * geometry.window_shift + geometry.window_size
            positions = torch.arange(start, start + span, device=buffer.device)
            received = torch.tensor(self._received, device=positions.device)
            signal = buffer.index_select(0, reflect_indices(positions, received) - self._offset)
            frames = signal.unfold(0, geometry.window_size, geometry.window_shift).unsqueeze(0)
            tables = self.extractor._tables(buffer.dtype)
            features_into(output.unsqueeze(0), frames, self.extractor.options, tables, self._generator)
            self._emitted = ready
        keep_from = max(geometry.first_sample(self._emitted) - geometry.window_size, 0)
        if keep_from > self._offset:
            self._buffer = buffer[keep_from - self._offset :]
            self._offset = keep_from
        return output


class OnlineSpectrogram(OnlineFeature):
    """Streaming :class:`~tympan.plugins.kaldi.features.Spectrogram`, built with the same keyword options.

    Example:
        >>> OnlineSpectrogram(sample_frequency=8000.0).dim
        129
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(Spectrogram(**options))


class OnlineFbank(OnlineFeature):
    """Streaming :class:`~tympan.plugins.kaldi.features.Fbank`, built with the same keyword options.

    Example:
        >>> OnlineFbank(num_mel_bins=80).dim
        80
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(Fbank(**options))


class OnlineMfcc(OnlineFeature):
    """Streaming :class:`~tympan.plugins.kaldi.features.Mfcc`, built with the same keyword options.

    Example:
        >>> OnlineMfcc(num_ceps=20, num_mel_bins=40).dim
        20
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(Mfcc(**options))


class OnlinePlp(OnlineFeature):
    """Streaming :class:`~tympan.plugins.kaldi.features.Plp`, built with the same keyword options.

    Example:
        >>> OnlinePlp().dim
        13
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(Plp(**options))
