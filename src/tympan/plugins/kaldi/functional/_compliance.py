"""Kaldi's features as functions with torchaudio.compliance.kaldi's call signatures.

``import tympan.plugins.kaldi.functional as kaldi`` replaces ``import torchaudio.compliance.kaldi as
kaldi``: the same names, parameters, defaults and ``(channels, time)`` reading of 2-D input (``channel``
picks one; -1 means the first). Beyond torchaudio, input of more dimensions is read as ``(..., channels,
time)`` and gives ``(..., frames, dim)``, float64 input is computed in float64, ``generator`` seeds the
dither, and a signal shorter than one frame gives zero frames. The parameters are those of the modules
(:class:`~tympan.plugins.kaldi.features.Fbank` and its siblings), where each is described.

Example:
    >>> import torch
    >>> wave = torch.randn(1, 16000)
    >>> fbank(wave, num_mel_bins=80).shape, mfcc(wave).shape, spectrogram(wave).shape
    (torch.Size([98, 80]), torch.Size([98, 13]), torch.Size([98, 257]))
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from tympan.core.params import validate_params
from tympan.plugins.kaldi.functional._compute import compute_features
from tympan.plugins.kaldi.functional._options import FeatureKind, FeatureOptions, feature_tables

__all__ = ["fbank", "mfcc", "pitch", "plp", "spectrogram"]


@functools.lru_cache(maxsize=256)
def _resolved_options(kind: FeatureKind, arguments: tuple[tuple[str, Any], ...]) -> FeatureOptions:
    """Validate the arguments with the module's ``Params`` (typed errors naming the parameter), once per set."""
    from tympan.plugins.kaldi._base import feature_options
    from tympan.plugins.kaldi.features import Fbank, Mfcc, Plp, Spectrogram

    component = {"spectrogram": Spectrogram, "fbank": Fbank, "mfcc": Mfcc, "plp": Plp}[kind]
    return feature_options(kind, validate_params(component, dict(arguments), name=component.qualified_name))


def _select_channel(waveform: torch.Tensor, channel: int) -> torch.Tensor:
    if waveform.dim() < 2:
        return waveform
    channels = waveform.shape[-2]
    index = max(channel, 0)
    if index >= channels:
        raise ValueError(f"channel={channel} is out of range for a waveform of {channels} channel(s)")
    return waveform.select(-2, index)


def _features(
    kind: FeatureKind,
    waveform: torch.Tensor,
    channel: int,
    min_duration: float,
    generator: torch.Generator | None,
    arguments: dict[str, Any],
) -> torch.Tensor:
    from tympan.plugins.kaldi._base import as_batch

    options = _resolved_options(kind, tuple(sorted(arguments.items())))
    signal = _select_channel(torch.as_tensor(waveform), channel)
    flat, _, leading = as_batch(signal, None)
    if signal.shape[-1] < min_duration * options.sample_frequency:
        return flat.new_zeros((*leading, 0, options.feature_dim))
    tables = feature_tables(options, flat.dtype, flat.device)
    features, _ = compute_features(flat, None, options, tables, generator)
    return features.reshape(*leading, *features.shape[1:])


def _arguments(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in ("waveform", "channel", "min_duration", "generator")}


def spectrogram(
    waveform: torch.Tensor,
    blackman_coeff: float = 0.42,
    channel: int = -1,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    min_duration: float = 0.0,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    window_type: str = "povey",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Kaldi's log power spectrogram ``(..., frames, n_fft // 2 + 1)``; see
    :class:`~tympan.plugins.kaldi.features.Spectrogram` for the parameters.

    Example:
        >>> import torch
        >>> spectrogram(torch.randn(2, 8000), sample_frequency=8000.0, round_to_power_of_two=False).shape
        torch.Size([98, 101])
    """
    return _features("spectrogram", waveform, channel, min_duration, generator, _arguments(locals()))


def fbank(
    waveform: torch.Tensor,
    blackman_coeff: float = 0.42,
    channel: int = -1,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    high_freq: float = 0.0,
    htk_compat: bool = False,
    low_freq: float = 20.0,
    min_duration: float = 0.0,
    num_mel_bins: int = 23,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    use_energy: bool = False,
    use_log_fbank: bool = True,
    use_power: bool = True,
    vtln_high: float = -500.0,
    vtln_low: float = 100.0,
    vtln_warp: float = 1.0,
    window_type: str = "povey",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Kaldi's (log) mel filter bank energies ``(..., frames, num_mel_bins [+ 1])``; see
    :class:`~tympan.plugins.kaldi.features.Fbank` for the parameters.

    Example:
        >>> import torch
        >>> fbank(torch.randn(16000), num_mel_bins=80, use_energy=True).shape
        torch.Size([98, 81])
    """
    return _features("fbank", waveform, channel, min_duration, generator, _arguments(locals()))


def mfcc(
    waveform: torch.Tensor,
    blackman_coeff: float = 0.42,
    cepstral_lifter: float = 22.0,
    channel: int = -1,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    high_freq: float = 0.0,
    htk_compat: bool = False,
    low_freq: float = 20.0,
    num_ceps: int = 13,
    min_duration: float = 0.0,
    num_mel_bins: int = 23,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    use_energy: bool = False,
    vtln_high: float = -500.0,
    vtln_low: float = 100.0,
    vtln_warp: float = 1.0,
    window_type: str = "povey",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Kaldi's MFCCs ``(..., frames, num_ceps)``; see :class:`~tympan.plugins.kaldi.features.Mfcc` for the
    parameters.

    Example:
        >>> import torch
        >>> mfcc(torch.randn(16000), num_ceps=20, num_mel_bins=40).shape
        torch.Size([98, 20])
    """
    return _features("mfcc", waveform, channel, min_duration, generator, _arguments(locals()))


def plp(
    waveform: torch.Tensor,
    blackman_coeff: float = 0.42,
    cepstral_lifter: float = 22.0,
    cepstral_scale: float = 1.0,
    channel: int = -1,
    compress_factor: float = 0.33333,
    dither: float = 0.0,
    energy_floor: float = 1.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    high_freq: float = 0.0,
    htk_compat: bool = False,
    low_freq: float = 20.0,
    lpc_order: int = 12,
    num_ceps: int = 13,
    min_duration: float = 0.0,
    num_mel_bins: int = 23,
    preemphasis_coefficient: float = 0.97,
    raw_energy: bool = True,
    remove_dc_offset: bool = True,
    round_to_power_of_two: bool = True,
    sample_frequency: float = 16000.0,
    snip_edges: bool = True,
    subtract_mean: bool = False,
    use_energy: bool = False,
    vtln_high: float = -500.0,
    vtln_low: float = 100.0,
    vtln_warp: float = 1.0,
    window_type: str = "povey",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Kaldi's PLP cepstra ``(..., frames, num_ceps)``, in the signature style of the others; see
    :class:`~tympan.plugins.kaldi.features.Plp` for the parameters.

    Example:
        >>> import torch
        >>> plp(torch.randn(16000)).shape
        torch.Size([98, 13])
    """
    return _features("plp", waveform, channel, min_duration, generator, _arguments(locals()))


def pitch(
    waveform: torch.Tensor,
    sample_frequency: float = 16000.0,
    frame_length: float = 25.0,
    frame_shift: float = 10.0,
    preemphasis_coefficient: float = 0.0,
    min_f0: float = 50.0,
    max_f0: float = 400.0,
    soft_min_f0: float = 10.0,
    penalty_factor: float = 0.1,
    lowpass_cutoff: float = 1000.0,
    resample_frequency: float = 4000.0,
    delta_pitch: float = 0.005,
    nccf_ballast: float = 7000.0,
    nccf_ballast_online: bool = False,
    lowpass_filter_width: int = 1,
    upsample_filter_width: int = 5,
    frames_per_chunk: int = 0,
    recompute_frame: int = 500,
    snip_edges: bool = True,
    simulate_first_pass_online: bool = False,
    max_frames_latency: int = 0,
) -> torch.Tensor:
    """Kaldi's raw pitch ``(..., frames, 2)`` = (NCCF, pitch in Hz) of ``(..., time)`` (leading dimensions are
    batch); see :class:`~tympan.plugins.kaldi.pitch.Pitch` for the parameters.

    Example:
        >>> import torch
        >>> pitch(torch.randn(3, 8000), sample_frequency=8000.0).shape
        torch.Size([3, 98, 2])
    """
    arguments = {k: v for k, v in locals().items() if k != "waveform"}
    from tympan.plugins.kaldi._base import as_batch
    from tympan.plugins.kaldi.functional._pitch import kaldi_pitch
    from tympan.plugins.kaldi.pitch import Pitch, pitch_options

    options = pitch_options(validate_params(Pitch, arguments, name=Pitch.qualified_name))
    flat, _, leading = as_batch(torch.as_tensor(waveform), None)
    output, _ = kaldi_pitch(flat, None, options)
    return output.reshape(*leading, *output.shape[1:])
