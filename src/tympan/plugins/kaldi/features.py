"""Kaldi's features as modules: ``kaldi:spectrogram``, ``kaldi:fbank``, ``kaldi:mfcc`` and ``kaldi:plp``.

Each computes what Kaldi's ``compute-*-feats`` computes, on ``(..., time)`` batches (every leading dimension
is batch), on any device, in float32 or float64; ``forward(waveform, lengths=...)`` takes utterances of
different lengths and returns ``(features, frame_counts)``. Options carry torchaudio.compliance.kaldi's
names and defaults (so ``dither`` is 0 and ``energy_floor`` 1, where Kaldi's binaries use 1 and 0).

Example:
    >>> import torch
    >>> fbank = Fbank(num_mel_bins=80)
    >>> fbank(torch.randn(3, 16000)).shape
    torch.Size([3, 98, 80])
"""

from __future__ import annotations

from typing import ClassVar

from tympan.core.params import validated_arguments
from tympan.plugins.kaldi._base import KaldiFeature
from tympan.plugins.kaldi._params import (
    BlackmanCoeff,
    CepstralLifter,
    CepstralScale,
    CompressFactor,
    Dither,
    DitherSeed,
    EnergyFloor,
    FrameLength,
    FrameShift,
    HighFreq,
    HtkCompat,
    LowFreq,
    LpcOrder,
    NumCeps,
    NumMelBins,
    PreemphasisCoefficient,
    RawEnergy,
    RemoveDcOffset,
    RoundToPowerOfTwo,
    SampleFrequency,
    SnipEdges,
    SubtractMean,
    UseEnergy,
    UseLogFbank,
    UsePower,
    VtlnHigh,
    VtlnLow,
    VtlnWarp,
    WindowTypeName,
)
from tympan.plugins.kaldi.functional._options import FeatureKind

__all__ = ["Fbank", "Mfcc", "Plp", "Spectrogram"]


class Spectrogram(KaldiFeature):
    """Kaldi's log power spectrogram (``compute-spectrogram-feats``): ``(..., frames, n_fft // 2 + 1)``.

    Bin 0 holds the frame's log energy instead of the DC power.

    Example:
        >>> import torch
        >>> Spectrogram(sample_frequency=8000.0)(torch.randn(8000)).shape
        torch.Size([98, 129])
    """

    kind: ClassVar[FeatureKind] = "spectrogram"
    qualified_name: ClassVar[str] = "kaldi:spectrogram"

    def __init__(
        self,
        sample_frequency: SampleFrequency = 16000.0,
        frame_length: FrameLength = 25.0,
        frame_shift: FrameShift = 10.0,
        dither: Dither = 0.0,
        preemphasis_coefficient: PreemphasisCoefficient = 0.97,
        remove_dc_offset: RemoveDcOffset = True,
        window_type: WindowTypeName = "povey",
        blackman_coeff: BlackmanCoeff = 0.42,
        round_to_power_of_two: RoundToPowerOfTwo = True,
        snip_edges: SnipEdges = True,
        raw_energy: RawEnergy = True,
        energy_floor: EnergyFloor = 1.0,
        subtract_mean: SubtractMean = False,
        dither_seed: DitherSeed = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self._setup(params)


class Fbank(KaldiFeature):
    """Kaldi's log mel filter bank energies (``compute-fbank-feats``): ``(..., frames, num_mel_bins [+ 1])``.

    With ``use_energy`` the log energy comes first (last with ``htk_compat``).

    Example:
        >>> import torch
        >>> Fbank(num_mel_bins=40, use_energy=True)(torch.randn(2, 4000)).shape
        torch.Size([2, 23, 41])
    """

    kind: ClassVar[FeatureKind] = "fbank"
    qualified_name: ClassVar[str] = "kaldi:fbank"

    def __init__(
        self,
        sample_frequency: SampleFrequency = 16000.0,
        frame_length: FrameLength = 25.0,
        frame_shift: FrameShift = 10.0,
        dither: Dither = 0.0,
        preemphasis_coefficient: PreemphasisCoefficient = 0.97,
        remove_dc_offset: RemoveDcOffset = True,
        window_type: WindowTypeName = "povey",
        blackman_coeff: BlackmanCoeff = 0.42,
        round_to_power_of_two: RoundToPowerOfTwo = True,
        snip_edges: SnipEdges = True,
        low_freq: LowFreq = 20.0,
        high_freq: HighFreq = 0.0,
        num_mel_bins: NumMelBins = 23,
        use_energy: UseEnergy = False,
        raw_energy: RawEnergy = True,
        energy_floor: EnergyFloor = 1.0,
        use_log_fbank: UseLogFbank = True,
        use_power: UsePower = True,
        htk_compat: HtkCompat = False,
        vtln_warp: VtlnWarp = 1.0,
        vtln_low: VtlnLow = 100.0,
        vtln_high: VtlnHigh = -500.0,
        subtract_mean: SubtractMean = False,
        dither_seed: DitherSeed = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self._setup(params)


class Mfcc(KaldiFeature):
    """Kaldi's MFCCs (``compute-mfcc-feats``): ``(..., frames, num_ceps)``.

    The DCT of the log mel energies, liftered; with ``use_energy`` the log energy replaces C0, and
    ``htk_compat`` moves C0 (or the energy) last.

    Example:
        >>> import torch
        >>> Mfcc(num_ceps=20, num_mel_bins=40)(torch.randn(16000)).shape
        torch.Size([98, 20])
    """

    kind: ClassVar[FeatureKind] = "mfcc"
    qualified_name: ClassVar[str] = "kaldi:mfcc"

    def __init__(
        self,
        sample_frequency: SampleFrequency = 16000.0,
        frame_length: FrameLength = 25.0,
        frame_shift: FrameShift = 10.0,
        dither: Dither = 0.0,
        preemphasis_coefficient: PreemphasisCoefficient = 0.97,
        remove_dc_offset: RemoveDcOffset = True,
        window_type: WindowTypeName = "povey",
        blackman_coeff: BlackmanCoeff = 0.42,
        round_to_power_of_two: RoundToPowerOfTwo = True,
        snip_edges: SnipEdges = True,
        low_freq: LowFreq = 20.0,
        high_freq: HighFreq = 0.0,
        num_mel_bins: NumMelBins = 23,
        num_ceps: NumCeps = 13,
        cepstral_lifter: CepstralLifter = 22.0,
        use_energy: UseEnergy = False,
        raw_energy: RawEnergy = True,
        energy_floor: EnergyFloor = 1.0,
        htk_compat: HtkCompat = False,
        vtln_warp: VtlnWarp = 1.0,
        vtln_low: VtlnLow = 100.0,
        vtln_high: VtlnHigh = -500.0,
        subtract_mean: SubtractMean = False,
        dither_seed: DitherSeed = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self._setup(params)


class Plp(KaldiFeature):
    """Kaldi's perceptual linear prediction cepstra (``compute-plp-feats``): ``(..., frames, num_ceps)``.

    Mel energies weighted by the equal-loudness curve and compressed (``compress_factor``), an all-pole
    model of order ``lpc_order`` fitted to them, its cepstrum liftered and scaled; C0 is the log of the
    prediction residual, or the frame's log energy with ``use_energy``.

    Example:
        >>> import torch
        >>> Plp()(torch.randn(16000)).shape
        torch.Size([98, 13])
    """

    kind: ClassVar[FeatureKind] = "plp"
    qualified_name: ClassVar[str] = "kaldi:plp"

    def __init__(
        self,
        sample_frequency: SampleFrequency = 16000.0,
        frame_length: FrameLength = 25.0,
        frame_shift: FrameShift = 10.0,
        dither: Dither = 0.0,
        preemphasis_coefficient: PreemphasisCoefficient = 0.97,
        remove_dc_offset: RemoveDcOffset = True,
        window_type: WindowTypeName = "povey",
        blackman_coeff: BlackmanCoeff = 0.42,
        round_to_power_of_two: RoundToPowerOfTwo = True,
        snip_edges: SnipEdges = True,
        low_freq: LowFreq = 20.0,
        high_freq: HighFreq = 0.0,
        num_mel_bins: NumMelBins = 23,
        lpc_order: LpcOrder = 12,
        num_ceps: NumCeps = 13,
        cepstral_lifter: CepstralLifter = 22.0,
        compress_factor: CompressFactor = 0.33333,
        cepstral_scale: CepstralScale = 1.0,
        use_energy: UseEnergy = False,
        raw_energy: RawEnergy = True,
        energy_floor: EnergyFloor = 1.0,
        htk_compat: HtkCompat = False,
        vtln_warp: VtlnWarp = 1.0,
        vtln_low: VtlnLow = 100.0,
        vtln_high: VtlnHigh = -500.0,
        subtract_mean: SubtractMean = False,
        dither_seed: DitherSeed = None,
    ) -> None:
        params = validated_arguments(type(self), locals())
        super().__init__()
        self._setup(params)
