"""The options of Kaldi's feature extractors, resolved once into the tables every frame needs.

:class:`FeatureOptions` holds every option of ``compute-{spectrogram,fbank,mfcc,plp}-feats`` under
torchaudio.compliance.kaldi's names; :func:`feature_tables` turns them into the analysis window, the mel
filter bank, the DCT (with the cepstral lifter folded in) and the PLP tables, cached per dtype and device.

Example:
    >>> options = FeatureOptions(kind="fbank", num_mel_bins=40)
    >>> options.geometry.padded_window_size, options.feature_dim
    (512, 40)
    >>> sorted(feature_tables(options, torch.float32, torch.device("cpu")))
    ['mel', 'window']
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import torch

from tympan.plugins.kaldi.functional._frames import FrameGeometry, feature_window
from tympan.plugins.kaldi.functional._mel import mel_banks
from tympan.plugins.kaldi.functional._plp import equal_loudness, idft_bases

__all__ = ["FeatureKind", "FeatureOptions", "feature_tables"]

FeatureKind = Literal["spectrogram", "fbank", "mfcc", "plp"]

#: Kaldi's floor under powers before their logarithm: float32's machine epsilon.
EPSILON = 1.1920928955078125e-07


@dataclass(frozen=True)
class FeatureOptions:
    """Every option of one of Kaldi's feature extractors (``kind``), with torchaudio's defaults.

    Example:
        >>> FeatureOptions(kind="mfcc").feature_dim
        13
    """

    kind: FeatureKind = "fbank"
    sample_frequency: float = 16000.0
    frame_length: float = 25.0
    frame_shift: float = 10.0
    dither: float = 0.0
    preemphasis_coefficient: float = 0.97
    remove_dc_offset: bool = True
    window_type: str = "povey"
    blackman_coeff: float = 0.42
    round_to_power_of_two: bool = True
    snip_edges: bool = True
    low_freq: float = 20.0
    high_freq: float = 0.0
    num_mel_bins: int = 23
    use_energy: bool = False
    raw_energy: bool = True
    energy_floor: float = 1.0
    use_log_fbank: bool = True
    use_power: bool = True
    htk_compat: bool = False
    vtln_warp: float = 1.0
    vtln_low: float = 100.0
    vtln_high: float = -500.0
    num_ceps: int = 13
    cepstral_lifter: float = 22.0
    lpc_order: int = 12
    compress_factor: float = 0.33333
    cepstral_scale: float = 1.0
    subtract_mean: bool = False

    @property
    def geometry(self) -> FrameGeometry:
        """Where the frames lie."""
        return FrameGeometry(
            self.sample_frequency, self.frame_length, self.frame_shift, self.snip_edges, self.round_to_power_of_two
        )

    @property
    def uses_mel(self) -> bool:
        """Whether the features go through the mel filter bank."""
        return self.kind != "spectrogram"

    @property
    def feature_dim(self) -> int:
        """Values per frame.

        Example:
            >>> FeatureOptions(kind="spectrogram").feature_dim, FeatureOptions(use_energy=True).feature_dim
            (257, 24)
        """
        if self.kind == "spectrogram":
            return self.geometry.padded_window_size // 2 + 1
        if self.kind == "fbank":
            return self.num_mel_bins + int(self.use_energy)
        return self.num_ceps

    def check(self) -> None:
        """Raise ``ValueError`` naming the options that do not fit together (as Kaldi refuses them).

        Example:
            >>> FeatureOptions(kind="mfcc", num_ceps=30).check()
            Traceback (most recent call last):
            ...
            ValueError: num_ceps=30 must not exceed num_mel_bins=23
        """
        self.geometry.check()
        if self.kind == "mfcc" and self.num_ceps > self.num_mel_bins:
            raise ValueError(f"num_ceps={self.num_ceps} must not exceed num_mel_bins={self.num_mel_bins}")
        if self.kind == "plp" and self.num_ceps > self.lpc_order + 1:
            raise ValueError(f"num_ceps={self.num_ceps} must not exceed lpc_order + 1 = {self.lpc_order + 1}")
        if self.uses_mel:
            if self.num_mel_bins < 3:
                raise ValueError(f"num_mel_bins={self.num_mel_bins}: Kaldi needs at least 3 mel bins")
            geometry = self.geometry
            mel_banks(
                self.num_mel_bins,
                geometry.padded_window_size,
                self.sample_frequency,
                self.low_freq,
                self.high_freq,
                self.vtln_low,
                self.vtln_high,
                self.vtln_warp,
            )


def dct_matrix(num_ceps: int, num_bins: int, cepstral_lifter: float) -> torch.Tensor:
    """Kaldi's orthonormal DCT-II rows ``(num_ceps, num_bins)``, each scaled by its cepstral lifter.

    The lifter of coefficient ``i`` is ``1 + Q / 2 * sin(pi * i / Q)`` (none when ``Q`` is 0).

    Example:
        >>> dct_matrix(2, 4, 0.0)[0].tolist()
        [0.5, 0.5, 0.5, 0.5]
    """
    k = torch.arange(num_ceps, dtype=torch.float64)[:, None]
    n = torch.arange(num_bins, dtype=torch.float64)
    scale = torch.where(k == 0, math.sqrt(1.0 / num_bins), math.sqrt(2.0 / num_bins))
    matrix = scale * torch.cos(math.pi / num_bins * (n + 0.5) * k)
    return matrix * lifter_coefficients(num_ceps, cepstral_lifter)[:, None]


def lifter_coefficients(num_ceps: int, cepstral_lifter: float) -> torch.Tensor:
    """Kaldi's cepstral lifter ``1 + Q / 2 * sin(pi * i / Q)`` for ``i < num_ceps`` (ones when ``Q`` is 0).

    Example:
        >>> [round(v, 3) for v in lifter_coefficients(3, 22.0).tolist()]
        [1.0, 2.565, 4.099]
    """
    i = torch.arange(num_ceps, dtype=torch.float64)
    if cepstral_lifter == 0.0:
        return torch.ones_like(i)
    return 1.0 + 0.5 * cepstral_lifter * torch.sin(math.pi * i / cepstral_lifter)


@functools.lru_cache(maxsize=64)
def feature_tables(options: FeatureOptions, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    """The window, mel bank, DCT and PLP tables of ``options`` in ``dtype`` on ``device`` (cached).

    Keys: ``window`` always; ``mel`` ``(num_mel_bins, n_fft // 2 + 1)`` unless a spectrogram; ``dct``
    ``(num_ceps, num_mel_bins)`` for MFCC; for PLP ``loudness``, ``idft`` and ``lifter`` (see
    :func:`~tympan.plugins.kaldi.functional._plp.plp_cepstra`).

    Example:
        >>> tables = feature_tables(FeatureOptions(kind="mfcc"), torch.float64, torch.device("cpu"))
        >>> tables["dct"].shape
        torch.Size([13, 23])
    """
    options.check()
    geometry = options.geometry
    tables = {"window": feature_window(options.window_type, geometry.window_size, options.blackman_coeff)}
    if options.uses_mel:
        tables["mel"] = mel_banks(
            options.num_mel_bins,
            geometry.padded_window_size,
            options.sample_frequency,
            options.low_freq,
            options.high_freq,
            options.vtln_low,
            options.vtln_high,
            options.vtln_warp,
        )
    if options.kind == "mfcc":
        tables["dct"] = dct_matrix(options.num_ceps, options.num_mel_bins, options.cepstral_lifter)
    if options.kind == "plp":
        tables["loudness"] = equal_loudness(
            options.num_mel_bins,
            options.sample_frequency,
            options.low_freq,
            options.high_freq,
            options.vtln_low,
            options.vtln_high,
            options.vtln_warp,
        )
        tables["idft"] = idft_bases(options.lpc_order + 1, options.num_mel_bins + 2)
        lifter = lifter_coefficients(options.num_ceps, options.cepstral_lifter)
        tables["lifter"] = lifter * options.cepstral_scale
    return {name: table.to(dtype=dtype, device=device) for name, table in tables.items()}
