"""Rendering one :class:`~tympan.plugins.datasets.synth.layouts.Clip`: speech, padding, noise floor, mixing.

Every random choice comes from the clip's ``seed``, so a clip renders the same in any order, on any
number of threads. Files are 16-bit PCM (FLAC for ``.flac``, WAV otherwise), as the real corpora are.

Example:
    >>> import pathlib, tempfile, tympan
    >>> from tympan.plugins.datasets.synth.layouts import Clip
    >>> from tympan.plugins.datasets.synth.voices import Voice
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> render(Clip("go.wav", ("go",), (Voice(100, "en-us", "m1", 150, 50),), 16000, "s", length=1.0), root)
    1.0
    >>> tympan.info(root / "go.wav").num_frames
    16000
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from tympan.plugins.datasets.synth.layouts import Clip
from tympan.plugins.datasets.synth.voices import speak

__all__ = ["render"]

#: The level range of the noise floor under speech, and of the noise-only clips (RMS, dBFS).
NOISE_FLOOR_DB = (-70.0, -55.0)
SILENCE_DB = (-65.0, -35.0)
#: Leading and trailing silence of an utterance (seconds), and its peak level range.
PAD_SECONDS = (0.05, 0.3)
PEAK = (0.3, 0.9)
#: The level difference of a mixture's second speaker from its first (dB).
MIX_GAIN_DB = (-5.0, 5.0)
#: The RMS level of a mixture's first speaker (about -26 dBFS).
MIX_RMS = 0.05


def _generator(seed: str) -> torch.Generator:
    return torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "little"))


def _uniform(generator: torch.Generator, bounds: tuple[float, float]) -> float:
    low, high = bounds
    return low + (high - low) * float(torch.rand((), generator=generator))


def _noise(generator: torch.Generator, frames: int, level_db: float) -> torch.Tensor:
    """White or brown-ish noise (a random leaky integration) at ``level_db`` RMS."""
    noise = torch.randn(1, frames, generator=generator)
    leak = _uniform(generator, (0.0, 0.98))
    if leak > 0.5 and frames:
        kernel = leak ** torch.arange(min(frames, 256), dtype=noise.dtype)
        noise = torch.nn.functional.conv1d(noise[None], kernel.flip(0)[None, None], padding=kernel.numel() - 1)[0]
        noise = noise[:, :frames]
    rms = noise.square().mean().sqrt().clamp_min(1e-12)
    return noise * (10 ** (level_db / 20) / rms)


def _place(speech: torch.Tensor, frames: int, generator: torch.Generator) -> torch.Tensor:
    """``speech`` at a random offset inside ``frames`` samples (its middle when longer)."""
    length = speech.shape[-1]
    if length >= frames:
        start = (length - frames) // 2
        return speech[:, start : start + frames]
    offset = int(torch.randint(0, frames - length + 1, (), generator=generator))
    return torch.nn.functional.pad(speech, (offset, frames - length - offset))


def _utterance(clip: Clip, index: int, generator: torch.Generator) -> torch.Tensor:
    speech = speak(clip.texts[index], clip.voices[index], clip.sample_rate)
    speech = speech * (_uniform(generator, PEAK) / speech.abs().max().clamp_min(1e-6))
    if clip.length is not None:
        return _place(speech, round(clip.length * clip.sample_rate), generator)
    pads = [round(_uniform(generator, PAD_SECONDS) * clip.sample_rate) for _ in range(2)]
    return torch.nn.functional.pad(speech, pads)


def _save(path: Path, waveform: torch.Tensor, sample_rate: int) -> None:
    from tympan.plugins.io.api import save

    path.parent.mkdir(parents=True, exist_ok=True)
    save(path, waveform, sample_rate, encoding="PCM_S", bits_per_sample=16, clip=True)


def _mixture(clip: Clip, root: Path, generator: torch.Generator) -> torch.Tensor:
    sources = [_utterance(clip, i, generator) for i in range(len(clip.voices))]
    frames = min(source.shape[-1] for source in sources)  # LibriMix's "min" mode
    sources = [source[:, :frames] for source in sources]
    gains = [0.0] + [_uniform(generator, MIX_GAIN_DB) for _ in sources[1:]]
    rms = [source.square().mean().sqrt().clamp_min(1e-6) for source in sources]
    sources = [
        source * (MIX_RMS * 10 ** (gain / 20) / level) for source, gain, level in zip(sources, gains, rms, strict=True)
    ]
    mixture = torch.stack(sources).sum(0)
    peak = float(mixture.abs().max())
    if peak > 0.9:
        sources, mixture = [source * (0.9 / peak) for source in sources], mixture * (0.9 / peak)
    for path, source in zip(clip.sources, sources, strict=True):
        _save(root / path, source, clip.sample_rate)
    return mixture


def render(clip: Clip, root: Path) -> float:
    """Write ``clip`` (and a mixture's sources) under ``root``; return its duration in seconds."""
    generator = _generator(clip.seed)
    if clip.mixture:
        waveform = _mixture(clip, root, generator)
    elif clip.texts:
        waveform = _utterance(clip, 0, generator)
        waveform = waveform + _noise(generator, waveform.shape[-1], _uniform(generator, NOISE_FLOOR_DB))
    else:
        frames = round((clip.length or 1.0) * clip.sample_rate)
        waveform = _noise(generator, frames, _uniform(generator, SILENCE_DB))
    _save(root / clip.path, waveform, clip.sample_rate)
    return waveform.shape[-1] / clip.sample_rate
