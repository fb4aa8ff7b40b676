"""The training input pipeline: FLAC shards -> resample 44.1 kHz -> 16 kHz -> 80-bin fbank -> duration-bucketed
batches, on 2 ``DataLoader`` workers; ours against lhotse's equivalent, interleaved in one process.

- ours: :func:`tympan.data.stream_loader` over WebDataset shards that hold the FLAC files unchanged; each
  worker streams its shards, buckets still-encoded samples by duration, then decodes, resamples
  (``dsp:resample``) and computes ``kaldi:fbank`` on each padded batch.
- lhotse: a ``CutSet`` of the same FLAC files resampled to 16 kHz, its ``DynamicBucketingSampler``, and a
  dataset computing ``OnTheFlyFeatures(Fbank)`` per batch, on the same number of workers.

Both use lhotse's default fbank options (povey window, 25/10 ms frames, no dither, ``snip_edges=False``,
20 Hz .. Nyquist-400 Hz, 80 bins) and torchaudio's default resampler (Hann-windowed sinc, 6 zero crossings,
rolloff 0.99), 10 buckets and the same seconds per batch. An epoch is timed from creating the loader's
iterator (workers start) to its last batch. The target is absolute: at least 1,500 seconds of audio per
second (``ours`` column: the seconds one epoch may take); the ratio is lhotse's time over ours. Beside the
wall-clock rates, the seconds of audio per CPU-second (the main process and its workers) are recorded: on
a machine shared with other work they say what the pipeline costs, which wall-clock time cannot.

The check records that every utterance came out exactly once on each side, that no batch exceeds the
budget, and how far our features are from lhotse's for the same files (each side resampling with its own
code; the largest difference of the mel energies relative to the utterance's largest, which must stay
below ``FEATURE_RTOL``). lhotse
rounds a resampled length to the nearest sample where torchaudio and we round up; where the two differ by
a sample, the last frame's reflected padding differs, so that frame is left out of the comparison.

The utterances are generated: stretches of a harmonic, syllable-modulated voice with a little noise, at
random levels (speech compresses in FLAC much as this does, to about 60 %; white noise would make FLAC
decoding the whole benchmark), 16-bit, 44.1 kHz, 2 to 12 s.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch

from benchmarks.harness import Result, compare

SOURCE_RATE, TARGET_RATE = 44100, 16000
MAX_SECONDS = 200.0
NUM_BUCKETS = 10
WORKERS = 2
TARGET_AUDIO_SECONDS_PER_SECOND = 1500.0
#: Mel energies (``exp`` of the log-mel features) of ours and lhotse's computations may differ by this much
#: of the utterance's largest mel energy: both compute in float32, each resampling with its own code, so
#: rounding moves them by about 1e-5 of the peak. (Log energies near the floor can move by more: there a
#: rounding-sized change of a tiny energy is a large change of its logarithm, and means nothing.)
FEATURE_RTOL = 1e-4
#: lhotse's fbank defaults, under our (torchaudio's) parameter names.
FBANK = {"num_mel_bins": 80, "snip_edges": False, "dither": 0.0, "low_freq": 20.0, "high_freq": -400.0}


def _voice_pool(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A speech-like 44.1 kHz signal: 12 harmonics of a gliding pitch, syllable envelopes, a noise floor."""
    n = int(seconds * SOURCE_RATE)
    t = np.arange(n) / SOURCE_RATE
    f0 = 150 * (1 + 0.3 * np.sin(2 * np.pi * 0.37 * t) + 0.1 * np.sin(2 * np.pi * 2.3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SOURCE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 13))
    envelope = np.clip(np.sin(2 * np.pi * 3.7 * t) + 0.3 * np.sin(2 * np.pi * 0.9 * t), 0, None) ** 2
    return (0.2 * voice * envelope + 0.003 * rng.standard_normal(n)).astype(np.float32)


def _utterance(pool: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A random stretch of the pool, at a random level."""
    n = int(seconds * SOURCE_RATE)
    start = int(rng.integers(0, len(pool) - n))
    return pool[start : start + n] * np.float32(rng.uniform(0.3, 1.0))


def _corpus(folder: Path, count: int, per_shard: int) -> tuple[list[Path], list[Path], float]:
    """FLAC files, and shards holding the same FLAC bytes with each record's duration."""
    from tympan.plugins.datasets.shards import ShardWriter, shard_name

    rng = np.random.default_rng(0)
    pool = _voice_pool(60.0, rng)
    files, shards, total = [], [], 0.0
    (folder / "flac").mkdir()
    (folder / "shards").mkdir()
    for index in range(count):
        seconds = float(rng.uniform(2.0, 12.0))
        path = folder / "flac" / f"utt{index:05d}.flac"
        soundfile.write(path, _utterance(pool, seconds, rng), SOURCE_RATE, subtype="PCM_16")
        files.append(path)
    for start in range(0, count, per_shard):
        shards.append(folder / "shards" / shard_name(len(shards)))
        with ShardWriter(shards[-1]) as writer:
            for path in files[start : start + per_shard]:
                frames = soundfile.info(path).frames
                total += frames / SOURCE_RATE
                fields = {"id": path.stem, "num_frames": frames, "sample_rate": SOURCE_RATE}
                writer.add(path.stem, {**fields, "duration": frames / SOURCE_RATE}, encoded={"flac": path.read_bytes()})
    return files, shards, total


class LhotseFbankBatches(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """lhotse's map-style dataset contract: a ``CutSet`` in, the padded on-the-fly fbank batch out."""

    def __init__(self) -> None:
        from lhotse import Fbank, FbankConfig
        from lhotse.dataset import OnTheFlyFeatures

        self.features = OnTheFlyFeatures(Fbank(FbankConfig(num_filters=80)))

    def __getitem__(self, cuts: Any) -> dict[str, Any]:
        features, lengths = self.features(cuts)
        return {"features": features, "features_lengths": lengths, "ids": [cut.recording_id for cut in cuts]}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the ``DataLoader`` workers of past epochs)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _epoch(loader: Any, seen: dict[str, int], padded: list[float]) -> int:
    frames = 0
    for batch in loader:
        frames += int(batch["features_lengths"].sum())
        keys = batch["__key__"] if "__key__" in batch else batch["ids"]
        for key in keys:
            seen[key] = seen.get(key, 0) + 1
        padded.append(batch["features"].shape[0] * batch["features"].shape[1] / 100.0)
    return frames


def _feature_difference(files: list[Path]) -> float:
    from lhotse import Fbank, FbankConfig, Recording

    from tympan.plugins.dsp.transforms import Resample
    from tympan.plugins.io.api import load
    from tympan.plugins.kaldi.features import Fbank as OurFbank

    theirs, ours, resample = Fbank(FbankConfig(num_filters=80)), OurFbank(**FBANK), Resample(SOURCE_RATE, TARGET_RATE)
    worst = 0.0
    for path in files:
        audio = Recording.from_file(path).resample(TARGET_RATE).load_audio()
        reference = theirs.extract(audio, TARGET_RATE)
        with torch.inference_mode():
            resampled = resample(load(path)[0])
            computed = ours(resampled)[0].numpy()
        if computed.shape != reference.shape:
            return float("inf")
        frames = len(reference) - (resampled.shape[-1] != audio.shape[-1])
        ours_energy, their_energy = (
            np.exp(computed[:frames].astype(np.float64)),
            np.exp(reference[:frames].astype(np.float64)),
        )
        worst = max(worst, float(np.abs(ours_energy - their_energy).max() / their_energy.max()))
    return worst


def bench_training_input(count: int, rounds: int, per_shard: int) -> Result:
    from lhotse import CutSet, Recording, RecordingSet
    from lhotse.dataset import DynamicBucketingSampler

    from tympan.plugins.datasets.streaming import stream_loader
    from tympan.plugins.kaldi.features import Fbank

    work = Path(tempfile.mkdtemp(prefix="tympan-bench-input-"))
    try:
        files, shards, total = _corpus(work, count, per_shard)
        cuts = CutSet.from_manifests(
            recordings=RecordingSet.from_recordings(Recording.from_file(path) for path in files)
        ).resample(TARGET_RATE)
        ours_seen: dict[str, int] = {}
        theirs_seen: dict[str, int] = {}
        padded: list[float] = []
        loader = stream_loader(
            shards,
            MAX_SECONDS,
            feature=Fbank(**FBANK),
            sample_rate=TARGET_RATE,
            num_workers=WORKERS,
            shuffle_buffer=100,
            num_buckets=NUM_BUCKETS,
        )
        sampler = DynamicBucketingSampler(cuts, max_duration=MAX_SECONDS, num_buckets=NUM_BUCKETS, shuffle=True)
        theirs = torch.utils.data.DataLoader(
            LhotseFbankBatches(), sampler=sampler, batch_size=None, num_workers=min(WORKERS, os.cpu_count() or 1)
        )
        epochs, cpu = [0, 0], [0.0, 0.0]

        def ours() -> None:
            loader.dataset.set_epoch(epochs[0])
            epochs[0] += 1
            started = _cpu_seconds()
            _epoch(loader, ours_seen, padded)
            cpu[0] += _cpu_seconds() - started

        def lhotse() -> None:
            sampler.set_epoch(epochs[1])
            epochs[1] += 1
            started = _cpu_seconds()
            _epoch(theirs, theirs_seen, [])
            cpu[1] += _cpu_seconds() - started

        def check() -> dict[str, Any]:
            passes = epochs[0]
            every_once = set(ours_seen.values()) == set(theirs_seen.values()) == {passes} and len(ours_seen) == count
            difference = _feature_difference(files[:3])
            within_budget = max(padded) <= MAX_SECONDS + 0.05  # frames round up by less than a frame per item
            return {
                "ok": every_once and within_budget and difference <= FEATURE_RTOL,
                "utterances": count,
                "audio_s": round(total, 1),
                "each_once": every_once,
                "within_budget": within_budget,
                "fbank_max_rel_diff": difference,
            }

        result = compare(
            f"training input, {count} utterances, {WORKERS} workers",
            ours,
            lhotse,
            rounds=rounds,
            warmup=1,
            number=1,
            check=check,
            params={"max_s": MAX_SECONDS},
        )
        epoch_budget = total / TARGET_AUDIO_SECONDS_PER_SECOND
        result.target = f"<= {epoch_budget:.3g} s ({TARGET_AUDIO_SECONDS_PER_SECOND:g} audio-s/s)"
        if result.ours_s is not None and result.peer_s is not None:
            result.met = result.ours_s <= epoch_budget
            result.check["ours_audio_s_per_s"] = round(total / result.ours_s)
            result.check["lhotse_audio_s_per_s"] = round(total / result.peer_s)
            result.check["ours_audio_s_per_cpu_s"] = round(total * epochs[0] / cpu[0])
            result.check["lhotse_audio_s_per_cpu_s"] = round(total * epochs[1] / cpu[1])
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(smoke: bool = False) -> list[Result]:
    """``smoke``: 12 utterances in 3 shards, 1 round; otherwise 800 utterances (about 1.8 h) in 16 shards, 3 rounds."""
    return [bench_training_input(12, 1, 4) if smoke else bench_training_input(800, 3, 50)]
