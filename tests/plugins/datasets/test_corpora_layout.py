"""Corpora on broken or partial layouts, downloads by name, and the corpus without a torchaudio twin."""

from __future__ import annotations

import hashlib
import io
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tympan import registry
from tympan.core.errors import DatasetIndexError, DatasetLayoutError, IntegrityError, InvalidParameterError
from tympan.plugins.datasets.corpus import DatasetLayoutWarning, Resource
from tympan.plugins.datasets.simple import YesNo
from tympan.testing.loopback import LoopbackServer, Route


def _wav(path: Path, frames: int = 400, rate: int = 16000, seed: int = 0) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (np.random.default_rng(seed).standard_normal(frames) * 0.1).astype("float32")
    soundfile.write(path, data, rate, subtype="PCM_16")
    return soundfile.read(path, dtype="float32")[0]


def _librispeech(root: Path) -> Path:
    chapter = root / "LibriSpeech" / "dev-clean" / "19" / "198"
    for i in range(3):
        _wav(chapter / f"19-198-{i:04d}.flac", seed=i)
    (chapter / "19-198.trans.txt").write_text("19-198-0000 A\n19-198-0001 B\n19-198-0002 C\n")
    return chapter


def test_a_missing_transcript_names_the_file_and_the_layout(tmp_path: Path) -> None:
    chapter = _librispeech(tmp_path)
    (chapter / "19-198.trans.txt").unlink()
    with pytest.raises(DatasetLayoutError, match=r"19-198\.trans\.txt: missing; expected root/LibriSpeech/<subset>/"):
        registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean")


def test_not_strict_warns_and_keeps_what_exists(tmp_path: Path) -> None:
    chapter = _librispeech(tmp_path)
    (chapter / "19-198.trans.txt").write_text("19-198-0000 A\n19-198-0002 C\n")
    with pytest.warns(DatasetLayoutWarning, match="19-198-0001"):
        corpus = registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean", strict=False)
    assert [corpus.metadata(i).id for i in range(len(corpus))] == ["19-198-0000", "19-198-0002"]
    ljspeech = tmp_path / "LJSpeech-1.1"
    _wav(ljspeech / "wavs" / "LJ001-0001.wav")
    (ljspeech / "metadata.csv").write_text("LJ001-0001|a|a\nLJ001-0002|b|b\n")
    with pytest.raises(DatasetLayoutError, match=r"LJ001-0002\.wav: missing"):
        registry.create("data:ljspeech", root=str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(registry.create("data:ljspeech", root=str(tmp_path), strict=False)) == 1
    assert [w.category for w in caught] == [DatasetLayoutWarning]


def test_a_missing_corpus_folder_suggests_downloading(tmp_path: Path) -> None:
    with pytest.raises(DatasetLayoutError, match=r"LibriSpeech/dev-clean: no such folder.*download=True"):
        registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean")


def test_unknown_subsets_list_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown subset 'dev_clean' of data:librispeech; valid: dev-clean, dev-other"):
        registry.create("data:librispeech", root=str(tmp_path), subset="dev_clean")
    with pytest.raises(InvalidParameterError, match="mic_id"):
        registry.create("data:vctk", root=str(tmp_path), mic_id="mic3")
    with pytest.raises(ValueError, match="data:yesno has no subsets"):
        registry.create("data:yesno", root=str(tmp_path), subset="training")


def test_options_resample_and_select_channels(tmp_path: Path) -> None:
    _librispeech(tmp_path)
    corpus = registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean", sample_rate=8000)
    record = corpus[0]
    assert record.sample_rate == 8000 and record.num_frames == 200 == record.waveform.shape[-1]
    assert corpus.metadata(0).num_frames == 200 and corpus.metadata(0).duration == pytest.approx(0.025)
    with pytest.raises(DatasetIndexError):
        corpus[3]
    assert [r.id for r in corpus] == ["19-198-0000", "19-198-0001", "19-198-0002"]  # iteration ends cleanly


def test_wsj0mix_reads_the_mixture_and_its_sources(tmp_path: Path) -> None:
    expected = {}
    for name in ("011a0101_0.061_20ca0109_-0.061", "01aa010b_0.97_20da010e_-0.97"):
        expected[name] = [
            _wav(tmp_path / folder / f"{name}.wav", 800, 8000, seed) for seed, folder in enumerate(("mix", "s1", "s2"))
        ]
    corpus = registry.create("data:wsj0mix", root=str(tmp_path))
    assert len(corpus) == 2
    for index, (name, (mix, first, second)) in enumerate(sorted(expected.items())):
        record = corpus[index]
        assert record.id == name and record.sample_rate == 8000
        np.testing.assert_array_equal(record.waveform[0].numpy(), mix)  # tolerance 0: same 16-bit PCM
        np.testing.assert_array_equal(record.sources[0][0].numpy(), first)
        np.testing.assert_array_equal(record.sources[1][0].numpy(), second)
    (tmp_path / "s2" / f"{sorted(expected)[0]}.wav").unlink()
    with pytest.raises(DatasetLayoutError, match=r"s2/011a0101.*\.wav: missing"):
        registry.create("data:wsj0mix", root=str(tmp_path))


def _yesno_archive() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ("0_0_1", "1_1_0"):
            wav = io.BytesIO()
            soundfile.write(wav, np.zeros(80, dtype="float32"), 8000, format="WAV", subtype="PCM_16")
            info = tarfile.TarInfo(f"waves_yesno/{name}.wav")
            info.size = len(wav.getvalue())
            tar.addfile(info, io.BytesIO(wav.getvalue()))
    return buffer.getvalue()


def test_download_by_name_through_a_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = _yesno_archive()
    with LoopbackServer({"/mirror/waves_yesno.tar.gz": Route(archive)}) as server:
        monkeypatch.setenv("TYMPAN_DATA_MIRROR", server.url("/mirror"))
        # the published checksum does not match this stand-in archive: refused, nothing left
        with pytest.raises(IntegrityError, match=r"waves_yesno\.tar\.gz: sha256"):
            YesNo(tmp_path / "a", download=True)
        assert list((tmp_path / "a").iterdir()) == []
        digest = hashlib.sha256(archive).hexdigest()
        monkeypatch.setattr(
            YesNo, "resources", {None: (Resource("https://example.org/waves_yesno.tar.gz", sha256=digest),)}
        )
        corpus = YesNo(tmp_path / "b", download=True)
        assert [corpus.metadata(i).labels for i in range(2)] == [(0, 0, 1), (1, 1, 0)]
        assert torch.equal(corpus[0].waveform, torch.zeros(1, 80))
        YesNo(tmp_path / "b", download=True)  # verified archive and complete extraction: nothing fetched
        assert len(server.log) == 2


def _libritts_r_archive() -> bytes:
    """A stand-in for LibriTTS-R's ``dev_clean.tar.gz``: one utterance in the published layout."""
    wav = io.BytesIO()
    soundfile.write(wav, np.zeros(120, dtype="float32"), 24000, format="WAV", subtype="PCM_16")
    stem = "LibriTTS_R/dev-clean/84/121123/84_121123_000007_000001"
    members = {f"{stem}.wav": wav.getvalue(), f"{stem}.original.txt": b"Hello, there!", f"{stem}.normalized.txt": b"Hi"}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_libritts_r_downloads_verified_by_its_published_md5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tympan.plugins.datasets.downloader import WeakChecksumWarning
    from tympan.plugins.datasets.librispeech import LibriTTSR

    archive = _libritts_r_archive()
    with LoopbackServer({"/mirror/dev_clean.tar.gz": Route(archive)}) as server:
        monkeypatch.setenv("TYMPAN_DATA_MIRROR", server.url("/mirror"))
        # the published MD5 of dev_clean.tar.gz does not match this stand-in: refused, nothing left
        with pytest.warns(WeakChecksumWarning), pytest.raises(IntegrityError, match=r"dev_clean\.tar\.gz: md5"):
            LibriTTSR(tmp_path / "a", subset="dev-clean", download=True)
        assert list((tmp_path / "a").iterdir()) == []
        stand_in = Resource(LibriTTSR.resources["dev-clean"][0].url, md5=hashlib.md5(archive).hexdigest())
        monkeypatch.setattr(LibriTTSR, "resources", {"dev-clean": (stand_in,)})
        with pytest.warns(WeakChecksumWarning, match="MD5 only"):
            corpus = LibriTTSR(tmp_path / "b", subset="dev-clean", download=True)
    record = corpus.metadata(0)
    assert (record.id, record.original_text, record.normalized_text) == (
        "84_121123_000007_000001",
        "Hello, there!",
        "Hi",
    )


def test_the_download_and_verify_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from tympan.cli import cli

    archive = _yesno_archive()
    root = tmp_path / "root"
    with LoopbackServer({"/mirror/waves_yesno.tar.gz": Route(archive)}) as server:
        monkeypatch.setenv("TYMPAN_DATA_MIRROR", server.url("/mirror"))
        refused = CliRunner().invoke(cli, ["data", "download", "yesno", "--root", str(root)])
        assert refused.exit_code == 1 and "waves_yesno.tar.gz: sha256" in refused.output, refused.output
        assert not root.exists() or list(root.iterdir()) == []  # nothing left behind
        digest = hashlib.sha256(archive).hexdigest()
        resource = Resource("https://example.org/waves_yesno.tar.gz", sha256=digest)
        monkeypatch.setattr(YesNo, "resources", {None: (resource,)})
        fetched = CliRunner().invoke(cli, ["data", "download", "yesno", "--root", str(root)])
        assert fetched.exit_code == 0 and "data:yesno: 2 item(s)" in fetched.output, fetched.output
        bad_subset = CliRunner().invoke(cli, ["data", "download", "yesno", "--root", str(root), "--subset", "x"])
        assert bad_subset.exit_code == 1 and "data:yesno has no subsets" in bad_subset.output
    verified = CliRunner().invoke(cli, ["data", "verify", "yesno", "--root", str(root)])
    assert verified.exit_code == 0 and verified.output == "ok: waves_yesno.tar.gz\n"
