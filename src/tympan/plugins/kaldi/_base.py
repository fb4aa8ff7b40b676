"""What the Kaldi feature modules share: options from validated parameters, tables as buffers, batching.

Example:
    >>> import torch
    >>> from tympan.plugins.kaldi.features import Fbank
    >>> feats, counts = Fbank(num_mel_bins=40)(torch.randn(2, 16000), lengths=torch.tensor([16000, 8000]))
    >>> feats.shape, counts.tolist()
    (torch.Size([2, 98, 40]), [98, 48])
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from tympan.core.budget import check_buffer_bytes
from tympan.core.components import Transform
from tympan.core.streaming import StreamingStep
from tympan.plugins.kaldi.functional._compute import compute_features
from tympan.plugins.kaldi.functional._options import FeatureKind, FeatureOptions, feature_tables

__all__ = ["KaldiFeature", "as_batch", "compute_dtype", "feature_options"]

#: Parameters of the modules that are not options of the computation itself.
_NOT_OPTIONS = frozenset({"dither_seed"})


def feature_options(kind: FeatureKind, params: Any) -> FeatureOptions:
    """The :class:`FeatureOptions` of ``kind`` from a validated ``Params`` (or any object with ``kwargs()``).

    Example:
        >>> from tympan.core.params import params_of
        >>> from tympan.plugins.kaldi.features import Mfcc
        >>> feature_options("mfcc", params_of(Mfcc)(num_ceps=20, num_mel_bins=40)).num_ceps
        20
    """
    values = {name: value for name, value in params.kwargs().items() if name not in _NOT_OPTIONS}
    return FeatureOptions(kind=kind, **values)


def compute_dtype(waveform: torch.Tensor) -> torch.dtype:
    """float64 for float64 input, float32 for everything else (integers and half precision included).

    Example:
        >>> compute_dtype(torch.zeros(1, dtype=torch.int16))
        torch.float32
    """
    return torch.float64 if waveform.dtype == torch.float64 else torch.float32


def as_batch(
    waveform: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Size]:
    """``(batch, time)`` waveforms in the computation dtype, flat lengths, and the leading shape to restore.

    Raises ``ValueError`` when ``lengths`` does not have the leading shape, is not integer, or lies outside
    ``[0, time]``.

    Example:
        >>> flat, lengths, leading = as_batch(torch.zeros(2, 3, 100), torch.tensor([[100, 50, 0], [1, 2, 3]]))
        >>> flat.shape, lengths.tolist(), leading
        (torch.Size([6, 100]), [100, 50, 0, 1, 2, 3], torch.Size([2, 3]))
    """
    if waveform.dim() == 0:
        raise ValueError("waveform must have a time dimension, got a scalar")
    if waveform.is_complex():
        raise ValueError(f"waveform must be real, got {waveform.dtype}")
    leading = waveform.shape[:-1]
    flat = waveform.to(compute_dtype(waveform)).reshape(math.prod(leading), waveform.shape[-1])  # symbolic too
    if lengths is None:
        return flat, None, leading
    lengths = torch.as_tensor(lengths, device=waveform.device)
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be an integer tensor, got {lengths.dtype}")
    if lengths.shape != leading:
        raise ValueError(
            f"lengths must have the leading shape {list(leading)} of the waveform, got {list(lengths.shape)}"
        )
    flat_lengths = lengths.reshape(-1).to(torch.int64)
    if flat_lengths.numel() and (int(flat_lengths.min()) < 0 or int(flat_lengths.max()) > waveform.shape[-1]):
        raise ValueError(f"lengths must lie in [0, {waveform.shape[-1]}] (the waveform's time dimension)")
    return flat, flat_lengths, leading


class KaldiFeature(Transform):
    """A Kaldi feature extractor as a module: ``(..., time)`` waveforms to ``(..., frames, feature_dim)``.

    Every leading dimension is batch. Given ``lengths`` (the valid samples of each item, shaped like the
    leading dimensions) ``forward`` returns ``(features, frame_counts)``; frames past an item's count are
    zero. float64 input is computed in float64, any other dtype in float32; tables live on the module's
    device as buffers.
    """

    kind: ClassVar[FeatureKind]
    qualified_name: ClassVar[str]
    sample_rate_param: ClassVar[str | None] = "sample_frequency"
    scriptable: ClassVar[bool] = False
    #: Outputs are ``(..., frames, feature_dim)``, Kaldi's layout: a model step after one reads them transposed.
    frames_first: ClassVar[bool] = True

    @classmethod
    def check_params(cls, params: Any) -> None:
        """The options fit together as Kaldi requires (band, VTLN cutoffs, mel bins, cepstra)."""
        feature_options(cls.kind, params).check()

    def _setup(self, params: Any) -> None:
        self.options = feature_options(self.kind, params)
        self.dither_seed: int | None = params.dither_seed
        geometry = self.options.geometry
        table_values = geometry.window_size + self.options.num_mel_bins * (geometry.padded_window_size // 2 + 1)
        check_buffer_bytes(
            self.qualified_name,
            {"sample_frequency": self.options.sample_frequency, "frame_length": self.options.frame_length},
            8 * table_values,
        )
        for name, table in feature_tables(self.options, torch.float32, torch.device("cpu")).items():
            self.register_buffer(name, table.clone(), persistent=False)

    @property
    def export_min_frames(self) -> int:
        """The shortest input an exported program takes: a window and a shift (two frames at least; a single
        frame is a size the shape system treats apart)."""
        geometry = self.options.geometry
        return geometry.window_size + geometry.window_shift

    @property
    def feature_dim(self) -> int:
        """Values per frame."""
        return self.options.feature_dim

    def _tables(self, dtype: torch.dtype) -> dict[str, torch.Tensor]:
        buffers = dict(self.named_buffers())
        if buffers["window"].dtype == dtype:
            return buffers
        return feature_tables(self.options, dtype, buffers["window"].device)

    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.dither_seed is None or self.options.dither == 0.0:
            return None
        return torch.Generator(device=device).manual_seed(self.dither_seed)

    def streaming_step(self, chunk_samples: int, dtype: torch.dtype = torch.float32) -> StreamingStep:
        """The step computing these features a chunk of ``chunk_samples`` samples at a time (for export).

        Example:
            >>> from tympan.plugins.kaldi.features import Fbank
            >>> Fbank().streaming_step(480).output_size
            3
        """
        from tympan.plugins.kaldi.step import KaldiFeatureStep

        return KaldiFeatureStep(self, chunk_samples, dtype)

    def forward(
        self, waveform: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Features of ``(..., time)``; with ``lengths``, ``(features, frame_counts)``."""
        flat, flat_lengths, leading = as_batch(waveform, lengths)
        features, counts = compute_features(
            flat, flat_lengths, self.options, self._tables(flat.dtype), self._generator(flat.device)
        )
        if waveform.dtype in (torch.float16, torch.bfloat16):
            features = features.to(waveform.dtype)
        features = features.reshape(*leading, *features.shape[1:])
        return features if lengths is None else (features, counts.reshape(leading))
