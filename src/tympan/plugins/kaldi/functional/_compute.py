"""Kaldi's feature pipeline on batches of frames: extraction, per-frame processing, and the four features.

:func:`extract_frames` cuts ``(batch, time)`` waveforms, each with its own length, into frames;
:func:`frame_features` runs Kaldi's per-frame chain on a block of them (dither, DC removal, raw log energy,
pre-emphasis, window, FFT, power spectrum) and finishes the spectrogram, fbank, MFCC or PLP. Every frame of
a block is computed at once; :func:`compute_features` walks blocks of frames so that long inputs never hold
more than a few megabytes of intermediate spectra.

Example:
    >>> import torch
    >>> from tympan.plugins.kaldi.functional._options import FeatureOptions, feature_tables
    >>> options = FeatureOptions(kind="fbank", num_mel_bins=40)
    >>> tables = feature_tables(options, torch.float32, torch.device("cpu"))
    >>> feats, counts = compute_features(torch.randn(2, 16000), None, options, tables)
    >>> feats.shape, counts.tolist()
    (torch.Size([2, 98, 40]), [98, 98])
"""

from __future__ import annotations

import torch

from tympan.plugins.kaldi.functional._frames import FrameGeometry, reflect_indices
from tympan.plugins.kaldi.functional._options import EPSILON, FeatureOptions
from tympan.plugins.kaldi.functional._plp import FLOAT32_MIN, plp_cepstra

__all__ = ["compute_features", "extract_frames", "features_into", "frame_features"]

#: Samples of frames (batch x frames x frame length) processed together: large enough to amortise each
#: operation's overhead, small enough that the spectra stay in cache-sized blocks.
BLOCK_SAMPLES = 1 << 20

#: The same on an accelerator, where each operation's launch costs more than its work at the CPU's block
#: size and no cache is to be kept to: 128 MiB of float32 frames, 256 MiB of float64 (32 recordings of 10 s
#: at 16 kHz are one block).
GPU_BLOCK_SAMPLES = 1 << 25

#: Fewest frames (over the batch) one block computes; smaller blocks are padded with silent frames.
MIN_ROWS = 64


def extract_frames(
    waveform: torch.Tensor, lengths: torch.Tensor | None, geometry: FrameGeometry, num_frames: int
) -> torch.Tensor:
    """``(batch, num_frames, window_size)`` frames of ``(batch, time)`` waveforms (a view where possible).

    Frame ``f`` of item ``b`` starts at ``geometry.first_sample(f)``; samples outside ``[0, lengths[b])``
    are read from the item reflected about its edges (Kaldi's ``ExtractWindow``). Frames past an item's
    own count are whatever its padding gives; callers zero them.
    """
    size, shift = geometry.window_size, geometry.window_shift
    time = waveform.shape[-1]
    if lengths is None and time >= size:
        return _whole_signal_frames(waveform, geometry, num_frames)
    start = geometry.first_sample(0)
    span = (num_frames - 1) * shift + size
    if geometry.snip_edges and span <= time:  # items of their own lengths, whose frames lie inside them
        return waveform[..., :span].unfold(-1, size, shift)
    positions = torch.arange(start, start + span, device=waveform.device)
    if lengths is None:  # shorter than a window: reflected as often as it takes
        signal = waveform.index_select(-1, reflect_indices(positions, torch.tensor(time, device=waveform.device)))
    else:
        index = reflect_indices(positions[None, :], lengths[:, None].to(waveform.device))
        signal = waveform.gather(-1, index.clamp(max=max(time - 1, 0)))
    return signal.unfold(-1, size, shift)


def _whole_signal_frames(waveform: torch.Tensor, geometry: FrameGeometry, num_frames: int) -> torch.Tensor:
    """:func:`extract_frames` of whole signals of at least one window, by a formula of the length.

    With ``snip_edges`` the frames are a view; without, the signal is reflected about each end (a window's
    worth at the end, Kaldi's indices) and the frames' span cut from it by a negative padding. No comparison of
    the length with the frames' reach is made, so ``torch.export`` traces it for every length.
    """
    size, shift = geometry.window_size, geometry.window_shift
    head = -geometry.first_sample(0)
    if head <= 0:
        return waveform.unfold(-1, size, shift)
    reflected = torch.cat([waveform[..., :head].flip(-1), waveform, waveform[..., -size:].flip(-1)], dim=-1)
    span = (num_frames - 1) * shift + size
    return torch.nn.functional.pad(reflected, [0, span - reflected.shape[-1]]).unfold(-1, size, shift)


def _log_energy(frames: torch.Tensor, floor: float) -> torch.Tensor:
    return torch.linalg.vecdot(frames, frames).clamp(min=floor).log()


def _needs_raw_energy(options: FeatureOptions) -> bool:
    return options.raw_energy and (options.use_energy or options.kind == "spectrogram")


def _windowed(
    frames: torch.Tensor, window: torch.Tensor, options: FeatureOptions, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Kaldi's ``ProcessWindow`` on ``(..., window_size)`` frames, zero-padded to the FFT size.

    Returns the padded windowed frames and, when the features use it, the log energy before pre-emphasis
    and windowing (the raw energy). The DC offset is removed from the pre-emphasised frame rather than
    before it (``x[i] - c x[i-1] - (1 - c) mean``, the same value), which saves a pass over the frames.
    """
    if options.dither != 0.0:
        noise = torch.randn(frames.shape, generator=generator, dtype=frames.dtype, device=frames.device)
        frames = frames + options.dither * noise
    mean = frames.mean(dim=-1, keepdim=True) if options.remove_dc_offset else None
    raw_log_energy = None
    if _needs_raw_energy(options):
        centred = frames - mean if mean is not None else frames
        raw_log_energy = _log_energy(centred, EPSILON)
    size = frames.shape[-1]
    padded = frames.new_empty((*frames.shape[:-1], options.geometry.padded_window_size))
    padded[..., size:] = 0.0
    coeff = options.preemphasis_coefficient
    body = padded[..., :size]
    if coeff != 0.0:
        torch.sub(frames[..., 1:], frames[..., :-1], alpha=coeff, out=body[..., 1:])
        body[..., :1] = frames[..., :1] * (1.0 - coeff)
        if mean is not None:
            body -= (1.0 - coeff) * mean
    elif mean is not None:
        torch.sub(frames, mean, out=body)
    else:
        body.copy_(frames)
    body *= window
    return padded, raw_log_energy


def _power_spectrum(padded: torch.Tensor) -> torch.Tensor:
    spectrum = torch.fft.rfft(padded)
    return spectrum.real.square() + spectrum.imag.square()


def _floored_energy(log_energy: torch.Tensor, options: FeatureOptions) -> torch.Tensor:
    if options.energy_floor > 0.0:
        return log_energy.clamp(min=float(torch.tensor(options.energy_floor, dtype=torch.float32).log()))
    return log_energy


def frame_features(
    frames: torch.Tensor,
    options: FeatureOptions,
    tables: dict[str, torch.Tensor],
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The features of ``(..., window_size)`` frames: ``(..., feature_dim)``, Kaldi's computation per frame."""
    padded, log_energy = _windowed(frames, tables["window"], options, generator)
    if not options.raw_energy and (options.use_energy or options.kind == "spectrogram"):
        log_energy = _log_energy(padded, FLOAT32_MIN if options.kind == "plp" else EPSILON)
    power = _power_spectrum(padded)
    if options.kind == "spectrogram":
        features = power.clamp(min=EPSILON).log()
        features[..., 0] = _floored_energy(log_energy, options)
        return features
    if options.kind == "fbank" and not options.use_power:
        power = power.sqrt()
    mel = power @ tables["mel"].T
    if options.kind == "fbank":
        if options.use_log_fbank:
            mel = mel.clamp(min=EPSILON).log()
        if not options.use_energy:
            return mel
        energy = _floored_energy(log_energy, options).unsqueeze(-1)
        return torch.cat([mel, energy] if options.htk_compat else [energy, mel], dim=-1)
    if options.kind == "plp":
        return finish_cepstra(plp_cepstra(mel, tables, options.compress_factor), log_energy, options, c0_scale=1.0)
    cepstra = mel.clamp(min=EPSILON).log() @ tables["dct"].T
    return finish_cepstra(cepstra, log_energy, options, c0_scale=2.0**0.5)


def finish_cepstra(
    cepstra: torch.Tensor, log_energy: torch.Tensor | None, options: FeatureOptions, c0_scale: float
) -> torch.Tensor:
    """Put the (floored) log energy in place of C0 with ``use_energy``; with ``htk_compat`` move C0 last.

    Without ``use_energy``, HTK order scales C0 by ``c0_scale`` (sqrt(2) for MFCC, 1 for PLP), as Kaldi.
    """
    if options.use_energy:
        cepstra = torch.cat([_floored_energy(log_energy, options).unsqueeze(-1), cepstra[..., 1:]], dim=-1)
    if options.htk_compat:
        first = cepstra[..., :1] if options.use_energy else cepstra[..., :1] * c0_scale
        cepstra = torch.cat([cepstra[..., 1:], first], dim=-1)
    return cepstra


def features_into(
    output: torch.Tensor,
    frames: torch.Tensor,
    options: FeatureOptions,
    tables: dict[str, torch.Tensor],
    generator: torch.Generator | None = None,
) -> None:
    """Write the features of ``(batch, frames, window_size)`` frames into ``output``, a block of frames at a time.

    A block of fewer than :data:`MIN_ROWS` frames is padded with silent frames first: the matrix products
    then take the same code path for every block, so a frame's features do not depend on how many frames
    were computed with it (a stream's chunks give exactly the offline values).
    """
    batch, num_frames, size = frames.shape
    block_samples = BLOCK_SAMPLES if frames.device.type == "cpu" else GPU_BLOCK_SAMPLES
    block = max(block_samples // (max(batch, 1) * size), 1)
    for first in range(0, num_frames, block):
        chunk = frames[:, first : first + block]
        count = chunk.shape[1]
        shortfall = -(-MIN_ROWS // max(batch, 1)) - count
        if shortfall > 0:
            chunk = torch.cat([chunk, chunk.new_zeros((batch, shortfall, size))], dim=1)
        output[:, first : first + count] = frame_features(chunk, options, tables, generator)[:, :count]


def compute_features(
    waveform: torch.Tensor,
    lengths: torch.Tensor | None,
    options: FeatureOptions,
    tables: dict[str, torch.Tensor],
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features ``(batch, frames, feature_dim)`` and frame counts ``(batch,)`` of ``(batch, time)`` waveforms.

    ``lengths`` gives each item's valid samples (``None``: all of them); frames past an item's count are
    zero. ``waveform`` must already have the computation dtype of ``tables``.
    """
    geometry = options.geometry
    batch, time = waveform.shape
    device = waveform.device
    sample_counts = torch.full((batch,), time, dtype=torch.int64, device=device) if lengths is None else lengths
    counts = geometry.frame_counts(sample_counts)
    num_frames = geometry.num_frames(time) if lengths is None else int(counts.max()) if batch else 0
    output = waveform.new_zeros((batch, num_frames, options.feature_dim))
    if num_frames == 0 or batch == 0:
        return output, counts
    frames = extract_frames(waveform, lengths, geometry, num_frames)
    if torch.compiler.is_compiling():  # traced: every frame in one block, whatever the batch and the length
        output = frame_features(frames, options, tables, generator)
    else:
        features_into(output, frames, options, tables, generator)
    if lengths is not None:
        valid = (torch.arange(num_frames, device=device) < counts[:, None]).unsqueeze(-1)
        output = torch.where(valid, output, torch.zeros_like(output))
    if options.subtract_mean:
        output = subtract_frame_mean(output, counts)
    return output, counts


def subtract_frame_mean(features: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Remove each item's mean over its valid frames from ``(batch, frames, dim)`` features (padding stays 0)."""
    valid = (torch.arange(features.shape[1], device=features.device) < counts[:, None]).unsqueeze(-1)
    mean = features.sum(dim=1, keepdim=True) / counts.clamp(min=1).to(features.dtype)[:, None, None]
    return torch.where(valid, features - mean, torch.zeros_like(features))
