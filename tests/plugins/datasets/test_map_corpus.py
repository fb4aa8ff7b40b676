"""map_corpus: the same shards from one process, two processes and Ray; resume; failures retried and reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

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
    """The API on Ray, then ``tympan run --engine ray`` resuming its job: one Ray session, two Ray jobs."""
    from click.testing import CliRunner

    from tympan.cli import cli

    files = _files(tmp_path / "audio")
    good = files[5].read_bytes()
    files[5].write_bytes(b"not audio")
    local = map_corpus(files, CONFIG, tmp_path / "local", jobs=1, shards=2, progress=False)
    remote = map_corpus(files, CONFIG, tmp_path / "ray", engine="ray", jobs=2, shards=2, progress=False)
    assert remote.engine == "ray" and remote.written == local.written == 7
    assert remote.failures == local.failures and [path for path, _ in remote.failures] == [str(files[5])]
    assert _contents(tmp_path / "ray") == _contents(tmp_path / "local")  # failure lists included
    files[5].write_bytes(good)
    config = tmp_path / "pipe.yaml"
    config.write_text("steps:\n  - mel_spectrogram: {n_mels: 20}\n")  # CONFIG as a file
    args = ["run", str(config), *map(str, files), "-o", str(tmp_path / "ray"), "--shards", "2", "--engine", "ray"]
    rerun = CliRunner().invoke(cli, args)
    assert rerun.exit_code == 0 and "4 of 8 item(s)" in rerun.output, rerun.output  # the complete shard skipped
    map_corpus(files, CONFIG, tmp_path / "whole", jobs=1, shards=2, progress=False)
    assert _contents(tmp_path / "ray") == _contents(tmp_path / "whole")


def test_kaldi_archives_hold_each_items_features_and_resume(tmp_path: Path) -> None:
    import kaldiio

    from tympan.plugins.io.api import load
    from tympan.plugins.kaldi import io as kaldi_io
    from tympan.plugins.kaldi.features import Fbank

    files = _files(tmp_path / "audio", 5)
    config = {"steps": [{"kaldi:fbank": {"num_mel_bins": 23}}]}
    out = f"ark,scp:{tmp_path}/fbank/feats.ark,{tmp_path}/fbank/feats.scp"
    report = map_corpus(files, config, out, jobs=2, shards=2, progress=False)
    assert report.written == 5 and report.failures == []
    names = sorted(p.name for p in (tmp_path / "fbank").iterdir())
    assert names == ["feats.000000.ark", "feats.000000.scp", "feats.000001.ark", "feats.000001.scp", "feats.scp"]
    ours = dict(kaldi_io.read(f"scp:{tmp_path}/fbank/feats.scp"))
    theirs = kaldiio.load_scp(str(tmp_path / "fbank" / "feats.scp"))  # an independent reader
    assert list(ours) == [f.stem for f in files] and sorted(theirs) == sorted(ours)
    fbank = Fbank(num_mel_bins=23)
    for path in files:
        with torch.inference_mode():
            expected = fbank(load(path)[0])[0]
        # the same computation; the workers run one thread, this process maybe more: float32 rounding, 1e-5
        torch.testing.assert_close(ours[path.stem], expected, rtol=1e-5, atol=1e-5)
        assert np.array_equal(theirs[path.stem], ours[path.stem].numpy())  # kaldiio reads the same bits
    one = map_corpus(files, config, f"ark,scp:{tmp_path}/one/feats.ark,{tmp_path}/one/feats.scp", jobs=1, shards=2)
    assert one.written == 5
    for name in ("feats.000000.ark", "feats.000001.ark"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "fbank" / name).read_bytes()
    again = map_corpus(files, config, out, jobs=2, shards=2, progress=False)
    assert (
        again.skipped_shards == 2 and again.written == 0 and len(dict(kaldi_io.read(f"scp:{out.split(',')[-1]}"))) == 5
    )
    with pytest.raises(ValueError, match="a Kaldi archive holds features"):
        map_corpus(files, {"sample_rate": 16000, "steps": [{"dsp:vol": {"gain": 0.5}}]}, out, jobs=1)


def test_ray_joins_a_running_cluster_by_address(tmp_path: Path) -> None:
    """``tympan run --engine ray --ray-address`` in a fresh process joins a cluster started with ``ray start``
    (its own temporary directory, so no other Ray instance of the tests can find it) and writes what the local
    engine writes."""
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import tempfile
    import time

    pytest.importorskip("ray")
    ray_command = Path(sys.executable).with_name("ray")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a length limit
    environment = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    environment.pop("RAY_ADDRESS", None)
    head = subprocess.Popen(
        [str(ray_command), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
         "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while subprocess.run(
            [str(ray_command), "status", f"--address={address}"], env=environment, capture_output=True, timeout=60
        ).returncode:
            assert head.poll() is None and time.monotonic() < deadline, "the Ray head did not start"
            time.sleep(1)
        files = _files(tmp_path / "audio", 4)
        config = tmp_path / "mel.yaml"
        config.write_text("steps:\n  - mel_spectrogram: {n_mels: 20}\n")
        tympan = Path(sys.executable).with_name("tympan")
        common = [str(tympan), "run", str(config), *map(str, files), "--shards", "2"]
        joined = [*common, "-o", str(tmp_path / "ray"), "--engine", "ray", "--ray-address", address]
        subprocess.run(joined, env=environment, check=True, capture_output=True, timeout=300)
        drivers = list(Path(temp_dir).glob("session_latest/logs/python-core-driver-*"))
        subprocess.run([*common, "-o", str(tmp_path / "local")], env=environment, check=True, capture_output=True)
    finally:
        head.terminate()
        head.wait(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert drivers, "the job did not run on the cluster at the given address"  # a driver connected to its head
    assert _contents(tmp_path / "ray") == _contents(tmp_path / "local")
