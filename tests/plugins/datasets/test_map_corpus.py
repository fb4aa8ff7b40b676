"""map_corpus: the same shards from one process, two processes and Ray; resume; failures retried and reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from tympan.plugins.datasets.corpus_jobs import map_corpus
from tympan.plugins.datasets.interop import to_kaldi_dir

CONFIG = {"steps": [{"mel_spectrogram": {"n_mels": 20}}]}


def _files(folder: Path, count: int = 8) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    paths = []
    for i in range(count):
        path = folder / f"utt{i:03d}.flac"
        soundfile.write(path, rng.standard_normal(1600 + 100 * i) * 0.1, 16000, subtype="PCM_16")
        paths.append(path)
    return paths


def _contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_one_and_two_processes_write_identical_shards_and_resume(tmp_path: Path) -> None:
    files = _files(tmp_path / "audio")
    one = map_corpus(files, CONFIG, tmp_path / "one", jobs=1, shards=3, progress=False)
    two = map_corpus(files, CONFIG, tmp_path / "two", jobs=2, shards=3, progress=False)
    assert one.written == two.written == 8 and one.failures == two.failures == []
    assert _contents(tmp_path / "one") == _contents(tmp_path / "two")
    again = map_corpus(files, CONFIG, tmp_path / "two", jobs=2, shards=3, progress=False)
    assert again.skipped_shards == 3 and again.written == 0


def test_a_failed_item_is_reported_and_its_shard_redone(tmp_path: Path) -> None:
    files = _files(tmp_path / "audio", 4)
    good = files[2].read_bytes()
    files[2].write_bytes(b"not audio")
    report = map_corpus(files, CONFIG, tmp_path / "out", jobs=1, shards=2, retries=2, progress=False)
    assert report.written == 3 and [path for path, _ in report.failures] == [str(files[2])]
    assert (tmp_path / "out" / "shard-000001.tar.failed.json").exists()
    files[2].write_bytes(good)
    rerun = map_corpus(files, CONFIG, tmp_path / "out", jobs=1, shards=2, progress=False)
    assert rerun.skipped_shards == 1 and rerun.written == 2 and rerun.failures == []
    assert not (tmp_path / "out" / "shard-000001.tar.failed.json").exists()


def test_a_kaldi_data_directory_as_the_source(tmp_path: Path) -> None:
    from tympan.plugins.datasets.corpus import Record

    files = _files(tmp_path / "audio", 3)
    records = [Record(id=f.stem, path=str(f), sample_rate=16000, num_frames=1, duration=0.0) for f in files]
    data = to_kaldi_dir(records, tmp_path / "data")
    from_dir = map_corpus(data, CONFIG, tmp_path / "a", jobs=1, shards=1, progress=False)
    map_corpus(files, CONFIG, tmp_path / "b", jobs=1, shards=1, progress=False)
    assert from_dir.written == 3 and _contents(tmp_path / "a") == _contents(tmp_path / "b")


def test_ray_writes_the_same_bytes_as_the_local_engine_reports_failures_and_resumes(
    tmp_path: Path, ray_session: object
) -> None:
    files = _files(tmp_path / "audio")
    good = files[5].read_bytes()
    files[5].write_bytes(b"not audio")
    local = map_corpus(files, CONFIG, tmp_path / "local", jobs=1, shards=2, progress=False)
    remote = map_corpus(files, CONFIG, tmp_path / "ray", engine="ray", jobs=2, shards=2, progress=False)
    assert remote.engine == "ray" and remote.written == local.written == 7
    assert remote.failures == local.failures and [path for path, _ in remote.failures] == [str(files[5])]
    assert _contents(tmp_path / "ray") == _contents(tmp_path / "local")  # failure lists included
    files[5].write_bytes(good)
    rerun = map_corpus(files, CONFIG, tmp_path / "ray", engine="ray", jobs=2, shards=2, progress=False)
    assert rerun.skipped_shards == 1 and rerun.written == 4 and rerun.failures == []
    map_corpus(files, CONFIG, tmp_path / "whole", jobs=1, shards=2, progress=False)
    assert _contents(tmp_path / "ray") == _contents(tmp_path / "whole")
