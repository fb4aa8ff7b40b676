"""tympan run --jobs / --shards and the tympan data commands."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile
import torch
from click.testing import CliRunner

from tympan.cli import cli


def _setup(tmp_path: Path) -> tuple[Path, list[str]]:
    config = tmp_path / "pipe.yaml"
    config.write_text("steps:\n  - mel_spectrogram: {n_mels: 20}\n")
    files = []
    for i in range(4):
        path = tmp_path / f"clip{i}.wav"
        soundfile.write(path, np.random.default_rng(i).standard_normal(1600) * 0.1, 16000, subtype="PCM_16")
        files.append(str(path))
    return config, files


def test_run_with_jobs_matches_one_job_and_reports_throughput(tmp_path: Path) -> None:
    config, files = _setup(tmp_path)
    one = CliRunner().invoke(cli, ["run", str(config), *files, "-o", str(tmp_path / "one")])
    two = CliRunner().invoke(cli, ["run", str(config), *files, "-o", str(tmp_path / "two"), "--jobs", "2"])
    assert one.exit_code == two.exit_code == 0, two.output
    # Both report the seconds of audio processed: 4 clips of 1600 samples at 16 kHz.
    for run in (one, two):
        assert re.search(
            r"4 of 4 file\(s\) written to .* \(0\.4 s of audio in [0-9.]+ s: [0-9.]+ audio-s/s\)", run.output
        )
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir()) and len(names) == 4
    for name in names:  # float32; thread counts change summation order: rtol 1e-5
        torch.testing.assert_close(
            torch.load(tmp_path / "one" / name), torch.load(tmp_path / "two" / name), rtol=1e-5, atol=1e-6
        )


def test_run_into_shards(tmp_path: Path) -> None:
    config, files = _setup(tmp_path)
    result = CliRunner().invoke(cli, ["run", str(config), *files, "-o", str(tmp_path / "shards"), "--shards", "2"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == ["shard-000000.tar", "shard-000001.tar"]
    missing = CliRunner().invoke(
        cli, ["run", str(config), str(tmp_path / "absent.wav"), "-o", str(tmp_path / "s2"), "--shards", "1"]
    )
    assert missing.exit_code == 1 and "absent.wav" in missing.output
    kaldi = f"ark,scp:{tmp_path}/feats/feats.ark,{tmp_path}/feats/feats.scp"
    archives = CliRunner().invoke(cli, ["run", str(config), *files, "-o", kaldi])
    assert archives.exit_code == 0 and "4 of 4 item(s)" in archives.output, archives.output
    assert [line.split()[0] for line in (tmp_path / "feats" / "feats.scp").read_text().splitlines()] == [
        f"clip{i}" for i in range(4)
    ]


def test_data_commands(tmp_path: Path) -> None:
    listed = CliRunner().invoke(cli, ["data", "list"])
    assert "data:librispeech" in listed.output and "data:kaldi_dir" in listed.output
    info = CliRunner().invoke(cli, ["data", "info", "librispeech"]).output
    assert "dev-clean.tar.gz (sha256 76f87d09" in info and "layout: root/LibriSpeech/" in info
    (tmp_path / "waves_yesno.tar.gz").write_bytes(b"not the archive")
    verify = CliRunner().invoke(cli, ["data", "verify", "yesno", "--root", str(tmp_path)])
    assert verify.exit_code == 1 and "FAILED" in verify.output
    unknown = CliRunner().invoke(cli, ["data", "info", "librispeach"])
    assert unknown.exit_code == 1 and "data:librispeech" in unknown.output
