"""Duration-bucketed batches from streams: the budget, nothing lost, equal-share edges, features per item."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tympan.core.errors import DatasetLayoutError
from tympan.plugins.datasets.shards import ShardStream, ShardWriter, decode_sample, shard_name
from tympan.plugins.datasets.streaming import (
    BatchFeatures,
    DurationBucketStream,
    bucket_edges,
    collate_samples,
    sample_duration,
    stream_loader,
)
from tympan.plugins.dsp.transforms import Resample
from tympan.plugins.io.api import load
from tympan.plugins.kaldi.features import Fbank


def _records(count: int, seed: int = 0) -> list[dict[str, object]]:
    rng = random.Random(seed)
    return [{"__key__": f"u{i:03d}", "json": {"duration": rng.uniform(0.5, 15.0)}} for i in range(count)]


def test_batches_keep_the_budget_stay_in_their_bucket_and_lose_nothing() -> None:
    samples = _records(300)
    stream = DurationBucketStream(samples, 60.0, num_buckets=6, estimate=100, transform=list)
    batches = list(stream)
    keys = sorted(sample["__key__"] for batch in batches for sample in batch)
    assert keys == sorted(sample["__key__"] for sample in samples)  # each sample exactly once
    edges = bucket_edges([sample_duration(s) for s in samples[:100]], 6)
    for batch in batches:
        durations = [sample_duration(sample) for sample in batch]
        assert len(batch) == 1 or len(batch) * max(durations) <= 60.0
        assert len({int(np.searchsorted(edges, d, side="right")) for d in durations}) == 1  # one bucket
    again = list(DurationBucketStream(samples, 60.0, num_buckets=6, estimate=100, transform=list))
    assert again == batches  # the same stream gives the same batches
    kept = list(DurationBucketStream(samples, 60.0, num_buckets=6, estimate=100, transform=list, drop_last=True))
    assert kept == batches[: len(kept)] and 0 < len(batches) - len(kept) <= len(edges) + 1  # the part-filled


def test_edges_give_each_bucket_an_equal_share_of_the_audio() -> None:
    durations = np.random.default_rng(1).uniform(1.0, 20.0, 5000)
    edges = bucket_edges(list(durations), 8)
    shares = np.bincount(np.searchsorted(edges, durations, side="right"), weights=durations) / durations.sum()
    # The reference is the exact 1/8 share; a bucket edge falls on one item, so a share is off by at most
    # one item's duration (20 s of 52,500 s), far less than 0.5 %.
    np.testing.assert_allclose(shares, np.full(8, 1 / 8), atol=0.005)
    assert edges == sorted(edges) and len(edges) == 7


def _flac_shards(folder: Path, count: int, per_shard: int) -> tuple[list[Path], list[Path]]:
    rng = np.random.default_rng(7)
    files, shards = [], []
    (folder / "flac").mkdir(parents=True)
    for index in range(count):
        channels = 2 if index % 5 == 0 else 1
        path = folder / "flac" / f"utt{index:03d}.flac"
        soundfile.write(path, rng.standard_normal((int(44100 * rng.uniform(0.2, 1.2)), channels)) * 0.1, 44100)
        files.append(path)
    for start in range(0, count, per_shard):
        shards.append(folder / shard_name(len(shards)))
        with ShardWriter(shards[-1]) as writer:
            for path in files[start : start + per_shard]:
                writer.add(path.stem, {"id": path.stem}, encoded={"flac": path.read_bytes()})
    return files, shards


def test_encoded_audio_stays_encoded_until_asked(tmp_path: Path) -> None:
    files, shards = _flac_shards(tmp_path, 3, 3)
    samples = list(ShardStream(shards, shuffle_buffer=0, decode=False))
    assert [s["flac"] for s in samples] == [f.read_bytes() for f in files]  # the files' own bytes
    assert {s["__url__"] for s in samples} == {str(shards[0])}
    waveform, rate = load(files[1])
    decoded = decode_sample(samples[1])
    torch.testing.assert_close(decoded["waveform"], waveform, rtol=0, atol=0)  # the same decoder
    assert decoded["sample_rate"] == rate and sample_duration(samples[0]) == soundfile.info(files[0]).duration
    with pytest.raises(DatasetLayoutError, match=r"shard-000000\.tar \(utt000\)"):
        sample_duration({"__key__": "utt000", "__url__": str(shards[0]), "json": {}})


def test_the_loader_gives_each_items_features_and_skips_a_broken_one(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    files, shards = _flac_shards(tmp_path, 16, 4)
    with ShardWriter(tmp_path / shard_name(9)) as writer:
        writer.add("broken", {"id": "broken", "duration": 0.5}, encoded={"flac": b"fLaC" + bytes(64)})
    fbank, resample = Fbank(num_mel_bins=40, snip_edges=False), Resample(44100, 16000)
    loader = stream_loader([*shards, tmp_path / shard_name(9)], 3.0, feature=fbank, sample_rate=16000, seed=3)
    expected = {}
    with torch.inference_mode():
        for path in files:
            waveform = load(path)[0]
            expected[path.stem] = fbank(resample(waveform.mean(dim=0)))
    seen = []
    for batch in loader:
        assert batch["sample_rate"] == 16000 and batch["features"].shape[0] == len(batch["__key__"])
        assert batch["features"].shape[0] * batch["features"].shape[1] <= 300 + batch["features"].shape[0]
        for row, key in enumerate(batch["__key__"]):
            count = int(batch["features_lengths"][row])
            # The same computation item by item; the worker runs one thread where this process may run
            # several, which can reorder a matrix product's sums: float32 rounding only, 1e-5.
            torch.testing.assert_close(batch["features"][row, :count], expected[key], rtol=1e-5, atol=1e-5)
            assert not batch["features"][row, count:].any()
            seen.append(key)
    assert sorted(seen) == sorted(expected)
    assert "skipped broken of " in capfd.readouterr().err


def test_a_batch_of_two_sample_rates_is_refused() -> None:
    samples = [
        {"__key__": "a", "waveform": torch.zeros(1, 8), "sample_rate": 8000},
        {"__key__": "b", "waveform": torch.zeros(1, 16), "sample_rate": 16000},
    ]
    with pytest.raises(ValueError, match=r"several sample rates \[8000, 16000\].*'a', 'b'"):
        collate_samples(samples)
    with pytest.raises(ValueError, match="several sample rates"):
        BatchFeatures(Fbank())(samples)
    with pytest.raises(ValueError, match="max_seconds"):
        DurationBucketStream([], 0.0)
    with pytest.raises(ValueError, match="ascending"):
        DurationBucketStream([], 1.0, bucket_edges=[2.0, 1.0])
