"""``io:wav`` against ``soundfile.read`` on stereo 44.1 kHz WAV, 16-bit PCM and 32-bit float.

Each file is read whole (1 s, 10 s and 60 s) and as a 5 s window from the middle of the 60 s file, from
a warm page cache. Two layouts are timed:

- ``frames-first``: ``WavBackend().load(path, channels_first=False)`` against ``soundfile.read(path,
  dtype="float32", always_2d=True)`` (plus ``torch.from_numpy``): both give the same ``(time, channels)``
  float32 samples, so this is the decoders side by side.
- ``channels-first``: ``WavBackend().load(path)``, tympan's default ``(channels, time)`` layout, against
  the same ``soundfile.read`` followed by the contiguous transpose a ``(channels, time)`` tensor needs
  (what ``io:soundfile`` does).

The window is read by seeking on both sides (``soundfile.SoundFile.seek`` then ``read``). The check
requires the samples to be identical (no tolerance: both decode the same integers with the same scaling).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch

from benchmarks.harness import Result, compare

SAMPLE_RATE = 44100
CHANNELS = 2
SUBTYPES = ("PCM_16", "FLOAT")
#: Whole-file lengths in seconds, and the window read from the longest file (start, length) in seconds.
SECONDS = (1, 10, 60)
WINDOW = (30, 5)
SMOKE_SECONDS = (1,)
SMOKE_WINDOW = (0.5, 0.25)
TARGET = 1.5


def _write(directory: Path, subtype: str, seconds: float) -> Path:
    path = directory / f"{subtype}-{seconds:g}s.wav"
    frames = int(seconds * SAMPLE_RATE)
    noise = np.random.default_rng(frames).uniform(-0.9, 0.9, (frames, CHANNELS))
    soundfile.write(path, noise, SAMPLE_RATE, subtype=subtype)
    return path


def _soundfile_window(path: Path, start: int, count: int) -> np.ndarray:
    with soundfile.SoundFile(path) as sound:
        sound.seek(start)
        return sound.read(count, dtype="float32", always_2d=True)


def _identical(ours: torch.Tensor, peer: torch.Tensor) -> dict[str, Any]:
    same = ours.shape == peer.shape and ours.dtype == peer.dtype and bool(torch.equal(ours, peer))
    return {"ok": same, "shape": tuple(ours.shape)}


def _cases(path: Path, subtype: str, seconds: float, window: tuple[int, int] | None, rounds: int) -> list[Result]:
    from tympan.plugins.io.wav_backend import WavBackend

    backend = WavBackend()
    start, count = window if window is not None else (0, -1)

    def peer_frames_first() -> torch.Tensor:
        if window is None:
            return torch.from_numpy(soundfile.read(path, dtype="float32", always_2d=True)[0])
        return torch.from_numpy(_soundfile_window(path, start, count))

    def peer_channels_first() -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(peer_frames_first().numpy().T))

    params = {"subtype": subtype, "seconds": seconds}
    if window is not None:
        params["window_s"] = count / SAMPLE_RATE
    results = []
    for layout, channels_first, peer in (
        ("frames-first", False, peer_frames_first),
        ("channels-first", True, peer_channels_first),
    ):

        def ours(channels_first: bool = channels_first) -> torch.Tensor:
            return backend.load(path, start, count, channels_first=channels_first)[0]

        results.append(
            compare(
                f"io:wav {layout} vs soundfile.read",
                ours,
                peer,
                rounds=rounds,
                warmup=2,
                check=lambda ours=ours, peer=peer: _identical(ours(), peer()),
                params=params,
                target_ratio=TARGET,
            )
        )
    return results


def run(smoke: bool = False) -> list[Result]:
    """Every length and the window, both subtypes and both layouts; ``smoke`` uses short files, 3 rounds."""
    rounds = 3 if smoke else 20
    seconds = SMOKE_SECONDS if smoke else SECONDS
    window_start, window_length = SMOKE_WINDOW if smoke else WINDOW
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as directory:
        for subtype in SUBTYPES:
            for length in seconds:
                path = _write(Path(directory), subtype, length)
                results += _cases(path, subtype, length, None, rounds)
            window = (int(window_start * SAMPLE_RATE), int(window_length * SAMPLE_RATE))
            results += _cases(path, subtype, seconds[-1], window, rounds)
    return results
