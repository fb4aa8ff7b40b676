"""Batching, the bucketing sampler across ranks, broken files skipped by workers, and WebDataset shards."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tympan import registry
from tympan.plugins.datasets.batching import DurationBucketSampler, collate, loader
from tympan.plugins.datasets.shards import ShardStream, write_shards


def _corpus(root: Path, count: int = 12) -> None:
    chapter = root / "LibriSpeech" / "dev-clean" / "19" / "198"
    chapter.mkdir(parents=True)
    rng = np.random.default_rng(3)
    lines = []
    for i in range(count):
        soundfile.write(
            chapter / f"19-198-{i:04d}.flac", rng.standard_normal(400 + 160 * i) * 0.1, 16000, subtype="PCM_16"
        )
        lines.append(f"19-198-{i:04d} WORD {i}\n")
    (chapter / "19-198.trans.txt").write_text("".join(lines))


def test_collate_pads_features_along_frames() -> None:
    padded, lengths = collate([torch.ones(5, 80), torch.ones(3, 80)], dim=0)
    assert padded.shape == (2, 5, 80) and lengths.tolist() == [5, 3] and padded[1, 3:].abs().sum() == 0


def test_the_sampler_is_deterministic_per_epoch_and_fair_across_ranks() -> None:
    durations = list(np.random.default_rng(0).uniform(0.5, 15.0, 203))
    for world in (1, 2, 3):
        samplers = [DurationBucketSampler(durations, 60.0, rank=r, world_size=world, seed=5) for r in range(world)]
        lengths = {len(s) for s in samplers}
        assert len(lengths) == 1  # the same number of batches on every rank
        covered = sorted({i for s in samplers for batch in s for i in batch})
        assert covered == list(range(203))  # nothing dropped
        for sampler in samplers:
            for batch in sampler:
                assert len(batch) == 1 or len(batch) * max(durations[i] for i in batch) <= 60.0
    first = DurationBucketSampler(durations, 60.0, seed=5)
    again = DurationBucketSampler(durations, 60.0, seed=5)
    assert list(first) == list(again)
    again.set_epoch(1)
    assert list(first) != list(again)


def test_items_of_equal_duration_are_not_batched_in_corpus_order() -> None:
    # a corpus listed by label (ten labels of 100 clips), every clip 1 s long: batches of ten must mix labels
    labels = [index // 100 for index in range(1000)]
    sampler = DurationBucketSampler([1.0] * 1000, 10.0, seed=3)
    batches = list(sampler)
    assert sorted(i for batch in batches for i in batch) == list(range(1000))
    distinct = [len({labels[i] for i in batch}) for batch in batches]
    # drawn at random, ten clips of ten equal labels show 6.5 labels on average; in corpus order, one or two
    assert sum(distinct) / len(distinct) > 5.0
    sampler.set_epoch(1)
    assert [sorted(b) for b in sampler] != [sorted(b) for b in batches]  # a new spread each epoch
    in_order = DurationBucketSampler([1.0] * 1000, 10.0, shuffle=False)
    assert list(in_order) == [list(range(start, start + 10)) for start in range(0, 1000, 10)]
    # the spread is drawn from the seed and epoch alone: every rank builds the same batches and takes its share
    again = DurationBucketSampler([1.0] * 1000, 10.0, seed=3)
    assert list(again) == batches
    ranks = [DurationBucketSampler([1.0] * 1000, 10.0, seed=3, rank=r, world_size=2) for r in (0, 1)]
    assert sorted(i for sampler in ranks for batch in sampler for i in batch) == list(range(1000))


def test_a_broken_file_is_skipped_with_a_warning_in_workers(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    _corpus(tmp_path)
    corpus = registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean")
    durations = [corpus.metadata(i).duration for i in range(len(corpus))]
    broken = Path(corpus.metadata(4).path)
    broken.write_bytes(b"fLaC" + bytes(100))
    batches = list(loader(corpus, 0.5, num_workers=2, durations=durations, seed=1))
    seen = sorted(i for batch in batches for i in batch["id"])
    assert seen == sorted(corpus.metadata(i).id for i in range(len(corpus)) if i != 4)
    for batch in batches:
        assert batch["waveform"].shape[0] == len(batch["id"]) == len(batch["waveform_lengths"])
    assert "skipped item 4" in capfd.readouterr().err and "19-198-0004.flac" in str(broken)


def test_shards_round_trip_audio_and_features(tmp_path: Path) -> None:
    _corpus(tmp_path)
    corpus = registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean")
    paths = write_shards(corpus, tmp_path / "shards", items_per_shard=5)
    assert [p.name for p in paths] == ["shard-000000.tar", "shard-000001.tar", "shard-000002.tar"]
    with tarfile.open(paths[0]) as tar:
        assert tar.getnames()[:2] == ["19-198-0000.flac", "19-198-0000.json"]
    samples = list(ShardStream(paths, shuffle_buffer=0))
    assert [s["json"]["id"] for s in samples] == [corpus.metadata(i).id for i in range(len(corpus))]
    for index, sample in enumerate(samples):
        torch.testing.assert_close(sample["waveform"], corpus[index].waveform, rtol=0, atol=0)  # lossless FLAC
    shuffled = [s["json"]["id"] for s in ShardStream(paths, shuffle_buffer=4, seed=2)]
    assert sorted(shuffled) == sorted(s["json"]["id"] for s in samples) and shuffled != [
        s["json"]["id"] for s in samples
    ]
    fbank = registry.create("mel_spectrogram", sample_rate=16000, n_mels=20)
    feature_shards = write_shards(corpus, tmp_path / "features", items_per_shard=100, transform=fbank)
    assert (
        write_shards(corpus, tmp_path / "features2", items_per_shard=100, transform=fbank)[0].read_bytes()
        == feature_shards[0].read_bytes()
    )
    first = next(iter(ShardStream(feature_shards, shuffle_buffer=0)))
    torch.testing.assert_close(first["features"], fbank(corpus[0].waveform), rtol=0, atol=0)
    workers = list(torch.utils.data.DataLoader(ShardStream(paths, shuffle_buffer=0), batch_size=None, num_workers=2))
    assert sorted(s["json"]["id"] for s in workers) == sorted(s["json"]["id"] for s in samples)
