"""Audio loading against soundfile, pedalboard and librosa; seeking; streaming memory.

Three kinds of case, on files generated once into a temporary directory (a stereo 44.1 kHz mix of tones
and noise, written by soundfile: WAV 16-bit, FLAC 16-bit, MP3 at libsndfile's default bit rate):

- ``load``: ``tympan.load(path)`` (the default dispatch of :mod:`tympan.plugins.io.api`, float32
  ``(channels, time)``) against ``soundfile.read(path, dtype="float32")`` (target: at least 0.9x),
  ``pedalboard.io.AudioFile(path).read(frames)`` and ``librosa.load(path, sr=None, mono=False)``, each of
  which also returns float32. The check compares the samples: within one 16-bit step for WAV and FLAC
  (identical except pedalboard, which scales by 1/32767); for MP3 the
  peers' decoders may differ in priming, so the largest difference is taken at the best alignment within
  :data:`MAX_LAG` frames.
- ``slice``: a 5 s slice of a 60 s FLAC by ``tympan.load(frame_offset=..., num_frames=...)`` against
  loading the whole file (target: at least 5x faster); checked against the whole file's frames.
- ``stream``: ``tympan.stream`` (and the ``io:ffmpeg`` backend's, when PyAV is installed) over one hour of
  mono 16 kHz FLAC, cached in the temporary directory between runs. Time is measured in this process.
  Memory is measured in a fresh subprocess (Linux): the resident size once the first chunk has been
  decoded (imports, decoder buffers and one chunk in place) is the baseline, the process's resident
  high-water mark is reset there (``/proc/self/clear_refs``), and the high-water mark at the end of the
  hour (``VmHWM``) less the baseline is what streaming costs. tracemalloc would miss it (torch, libsndfile
  and FFmpeg allocate outside Python's allocator), and ``ru_maxrss`` survives ``exec``, so a child starts
  at its parent's peak. The check passes when the increase is at most ``3 x`` one chunk's bytes plus
  :data:`RSS_CONSTANT_MIB`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.signal
import soundfile
import torch

from benchmarks.harness import Result, compare, measure

RATE = 44100
#: ``(seconds, speed-up aimed for against soundfile)`` of the load cases.
LOAD_SECONDS = ((1.0, 0.9), (10.0, 0.9), (60.0, 0.9))
SMOKE_LOAD_SECONDS = ((1.0, None),)
FORMATS = (("wav", "WAV", "PCM_16"), ("flac", "FLAC", "PCM_16"), ("mp3", "MP3", "MPEG_LAYER_III"))
#: pedalboard scales 16-bit samples by 1/32767 (JUCE's convention), the others by 1/32768: lossless files
#: agree within one 16-bit step (identical between tympan, soundfile and librosa).
LOSSLESS_TOL = 2.0**-15
#: MP3 decoders may start at a different point of the encoder's priming; alignment is searched this far.
MAX_LAG = 4096
#: MP3 decoders agree to this after alignment (float decoders of the same stream).
MP3_TOL = 1e-3
#: The slice case: seconds of audio, where the slice starts, its length, and the speed-up aimed for.
SLICE = (60.0, 30.0, 5.0, 5.0)
SMOKE_SLICE = (10.0, 5.0, 1.0, None)
#: The stream case: seconds of mono 16 kHz FLAC and the frames per chunk (2**20 frames: a 4 MiB chunk).
STREAM_RATE = 16000
STREAM = (3600.0, 1 << 20)
SMOKE_STREAM = (60.0, 1 << 16)
#: Memory streaming may use beyond 3 chunks: decoder state, allocator slack, pages of code touched late.
RSS_CONSTANT_MIB = 8.0
#: Where generated files are kept (the one-hour file is reused across runs).
CACHE = Path(tempfile.gettempdir()) / "tympan-bench-io"


def _signal(frames: int, channels: int, rate: int, seed: int = 0) -> np.ndarray:
    """(frames, channels) float32: tones plus a little noise, within [-0.5, 0.5]."""
    generator = np.random.default_rng(seed)
    t = np.arange(frames)[:, None] / rate
    tones = 0.3 * np.sin(2 * np.pi * 220.0 * (1 + np.arange(channels))[None, :] * t)
    return (tones + 0.1 * generator.uniform(-1, 1, (frames, channels))).astype(np.float32)


def _file(name: str, seconds: float, major: str, subtype: str, channels: int = 2, rate: int = RATE) -> Path:
    """A generated file, written once (blockwise, so an hour needs little memory)."""
    path = CACHE / f"{name}-{seconds:g}s-{channels}ch-{rate}.{major.lower()}"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    block = rate * 60
    with soundfile.SoundFile(partial, "w", rate, channels, subtype, format=major) as sound:
        for start in range(0, round(seconds * rate), block):
            frames = min(block, round(seconds * rate) - start)
            sound.write(_signal(frames, channels, rate, seed=start))
    partial.replace(path)
    return path


def _aligned_error(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, int]:
    """Largest difference where ``theirs`` overlaps ``ours`` at the best alignment (a shift of ``theirs``
    by at most ``MAX_LAG`` frames either way, found by cross-correlating the first channel)."""
    a, b = ours[0].astype(np.float64), theirs[0].astype(np.float64)
    window = min(len(a), len(b)) - 2 * MAX_LAG
    if window <= 0:
        return float("inf"), 0
    scores = scipy.signal.correlate(b[: window + 2 * MAX_LAG], a[MAX_LAG : MAX_LAG + window], mode="valid")
    lag = int(np.argmax(scores)) - MAX_LAG  # theirs[i + lag] lines up with ours[i]
    start, stop = max(0, -lag), min(ours.shape[1], theirs.shape[1] - lag)
    return float(np.abs(ours[:, start:stop] - theirs[:, start + lag : stop + lag]).max()), lag


def agreement(ours: torch.Tensor, theirs: np.ndarray, lossy: bool) -> dict[str, Any]:
    """Lossless files agree within :data:`LOSSLESS_TOL`; MP3 within :data:`MP3_TOL` at the best alignment."""
    mine = ours.numpy()
    facts: dict[str, Any] = {"frames": mine.shape[1], "peer_frames": theirs.shape[1]}
    if not lossy:
        if mine.shape != theirs.shape:
            return {**facts, "ok": False}
        error = float(np.abs(mine - theirs).max())
        return {**facts, "max_abs_err": error, "ok": error <= LOSSLESS_TOL}
    error, lag = _aligned_error(mine, theirs)
    return {**facts, "max_abs_err": error, "lag": lag, "ok": error <= MP3_TOL}


def _peers() -> dict[str, Callable[[Path], np.ndarray]]:
    """Each peer reads a path into float32 ``(channels, time)``."""
    import librosa
    from pedalboard.io import AudioFile

    def pedalboard_read(path: Path) -> np.ndarray:
        with AudioFile(str(path)) as audio:
            return audio.read(audio.frames)

    return {
        "soundfile.read": lambda path: soundfile.read(path, dtype="float32", always_2d=True)[0].T,
        "pedalboard": pedalboard_read,
        "librosa.load": lambda path: librosa.load(path, sr=None, mono=False)[0],
    }


def _load_cases(smoke: bool, rounds: int) -> list[Result]:
    import tympan

    results = []
    for seconds, target in SMOKE_LOAD_SECONDS if smoke else LOAD_SECONDS:
        for extension, major, subtype in FORMATS:
            path = _file("load", seconds, major, subtype)
            for peer_name, peer in _peers().items():
                results.append(
                    compare(
                        f"load {extension} vs {peer_name}",
                        lambda path=path: tympan.load(path),
                        lambda path=path, peer=peer: peer(path),
                        rounds=rounds,
                        check=lambda path=path, peer=peer, lossy=extension == "mp3": agreement(
                            tympan.load(path)[0], peer(path), lossy
                        ),
                        params={"seconds": seconds, "channels": 2},
                        target_ratio=target if peer_name == "soundfile.read" else None,
                    )
                )
    return results


def _slice_case(smoke: bool, rounds: int) -> Result:
    import tympan

    seconds, start, length, target = SMOKE_SLICE if smoke else SLICE
    path = _file("slice", seconds, "FLAC", "PCM_16")
    offset, count = round(start * RATE), round(length * RATE)

    def check() -> dict[str, Any]:
        part, whole = tympan.load(path, frame_offset=offset, num_frames=count)[0], tympan.load(path)[0]
        return {"ok": bool(torch.equal(part, whole[:, offset : offset + count]))}

    return compare(
        "load slice vs whole file",
        lambda: tympan.load(path, frame_offset=offset, num_frames=count),
        lambda: tympan.load(path),
        rounds=rounds,
        check=check,
        params={"seconds": seconds, "slice_s": length, "format": "flac"},
        target_ratio=target,
    )


# Run in a fresh interpreter: stream a file; report the resident size once the first chunk is decoded and the
# peak resident size from then to the end. Linux's per-process high-water mark (VmHWM) is reset to the
# current size by writing 5 to /proc/self/clear_refs; ru_maxrss cannot be used, as it survives exec and so
# starts at the parent's peak.
_STREAM_SCRIPT = """
import json, sys
path, chunk, which = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":"))

if which == "io:ffmpeg":
    from tympan.plugins.io.ffmpeg_backend import FfmpegBackend
    chunks = FfmpegBackend().stream(path, chunk)
else:
    import tympan
    chunks = tympan.stream(path, chunk)
frames = next(chunks).shape[-1]
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")
baseline = status("VmRSS")
for piece in chunks:
    frames += piece.shape[-1]
print(json.dumps({"baseline_kib": baseline, "peak_kib": status("VmHWM"), "frames": frames}))
"""


def stream_memory(path: Path, frames_per_chunk: int, which: str, expected_frames: int) -> dict[str, Any]:
    """Peak RSS increase of streaming ``path`` in a subprocess, against ``3 x chunk + RSS_CONSTANT_MIB``."""
    command = [sys.executable, "-c", _STREAM_SCRIPT, str(path), str(frames_per_chunk), which]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    report = json.loads(subprocess.run(command, capture_output=True, check=True, text=True, env=environment).stdout)
    chunk_mib = frames_per_chunk * 4 / 2**20  # float32 mono
    increase_mib = (report["peak_kib"] - report["baseline_kib"]) / 1024
    bound_mib = 3 * chunk_mib + RSS_CONSTANT_MIB
    return {
        "ok": increase_mib <= bound_mib and report["frames"] == expected_frames,
        "baseline_mib": report["baseline_kib"] / 1024,
        "peak_increase_mib": increase_mib,
        "chunk_mib": chunk_mib,
        "bound_mib": bound_mib,
    }


def _stream_cases(smoke: bool) -> list[Result]:
    import tympan

    seconds, frames_per_chunk = SMOKE_STREAM if smoke else STREAM
    path = _file("stream", seconds, "FLAC", "PCM_16", channels=1, rate=STREAM_RATE)
    expected = round(seconds * STREAM_RATE)
    streams: dict[str, Callable[[], Any]] = {"tympan.stream": lambda: tympan.stream(path, frames_per_chunk)}
    try:
        from tympan.plugins.io.ffmpeg_backend import FfmpegBackend
    except ImportError:  # PyAV not installed: only the default dispatch is measured
        pass
    else:
        streams["io:ffmpeg"] = lambda: FfmpegBackend().stream(path, frames_per_chunk)
    results = []
    for which, make in streams.items():
        results.append(
            measure(
                f"stream {which} 1 ch FLAC",
                lambda make=make: sum(chunk.shape[-1] for chunk in make()),
                rounds=1 if not smoke else 2,
                warmup=0,
                number=1,
                check=lambda which=which: stream_memory(path, frames_per_chunk, which, expected),
                params={"seconds": seconds, "rate": STREAM_RATE, "frames_per_chunk": frames_per_chunk},
            )
        )
    return results


def run(smoke: bool = False) -> list[Result]:
    """Every case; ``smoke`` uses 1 s files for the loads, a 10 s file to slice and a minute to stream."""
    rounds = 3 if smoke else 20
    return [*_load_cases(smoke, rounds), _slice_case(smoke, rounds), *_stream_cases(smoke)]
