"""Kaldi data directories and lhotse manifests: written from corpora, read by lhotse, read back as datasets."""

from __future__ import annotations

from pathlib import Path

import lhotse
import numpy as np
import pytest
import soundfile
import torch

from tympan import registry
from tympan.core.errors import DatasetLayoutError, KaldiFormatError
from tympan.plugins.datasets.interop import to_kaldi_dir, to_lhotse
from tympan.plugins.kaldi.datadir import DataDir, validate


def _librispeech(root: Path) -> None:
    rng = np.random.default_rng(1)
    for speaker, chapter in ((19, 198), (26, 495)):
        folder = root / "LibriSpeech" / "dev-clean" / str(speaker) / str(chapter)
        folder.mkdir(parents=True)
        (folder / f"{speaker}-{chapter}.trans.txt").write_text(
            f"{speaker}-{chapter}-0000 HELLO  THERE\n{speaker}-{chapter}-0001 YES\n"
        )
        for i in range(2):
            soundfile.write(
                folder / f"{speaker}-{chapter}-{i:04d}.flac", rng.standard_normal(800) * 0.1, 16000, subtype="PCM_16"
            )


def _tedlium(root: Path, extension: str = ".sph") -> None:
    base = root / "TEDLIUM_release1" / "train"
    (base / "sph").mkdir(parents=True)
    (base / "stm").mkdir()
    noise = np.random.default_rng(2).standard_normal(32000) * 0.1
    soundfile.write(
        base / "sph" / f"Talk_2010{extension}",
        noise,
        16000,
        format=extension[1:].upper().replace("SPH", "NIST"),
        subtype="PCM_16",
    )
    (base / "stm" / "Talk_2010.stm").write_text(
        "Talk_2010 1 Talk_2010 0.10 0.75 <o,f0,male> hello there\nTalk_2010 1 Talk_2010 0.90 1.50 <o,f0,male> again\n"
    )


@pytest.mark.parametrize("name", ["librispeech", "tedlium"])
def test_kaldi_dir_round_trip(tmp_path: Path, name: str) -> None:
    if name == "librispeech":
        _librispeech(tmp_path)
        corpus = registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean")
    else:
        _tedlium(tmp_path)
        corpus = registry.create("data:tedlium", root=str(tmp_path))
    out = to_kaldi_dir(corpus, tmp_path / "data")
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(
        ["spk2utt", "text", "utt2dur", "utt2spk", "wav.scp"] + (["segments"] if name == "tedlium" else [])
    )
    for file in files:  # Kaldi's sort order (C locale) and no blank lines
        lines = (out / file).read_text().splitlines()
        assert lines == sorted(lines) and all(lines)
    assert validate(DataDir.read(out)) == []  # consistent, as utils/validate_data_dir.sh checks
    back = registry.create("data:kaldi_dir", root=str(out))
    ours = {corpus.metadata(i).id: corpus[i] for i in range(len(corpus))}
    assert len(back) == len(ours)
    for index in range(len(back)):
        record = back[index]
        original = ours[record.id]
        assert record.transcript == " ".join(original.transcript.split())
        assert record.speaker_id == str(original.speaker_id)
        torch.testing.assert_close(record.waveform, original.waveform, rtol=0, atol=0)  # same frames of the same file


def test_kaldi_dir_refuses_pipes_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "wav.scp").write_text("u1 sox a.wav -t wav - |\n")
    (tmp_path / "utt2spk").write_text("u1 s1\n")
    with pytest.raises(DatasetLayoutError, match="piped command"):
        registry.create("data:kaldi_dir", root=str(tmp_path))
    (tmp_path / "wav.scp").write_text("u1 a.wav\nu1 b.wav\n")
    with pytest.raises(KaldiFormatError, match=r"wav\.scp: line 2: key 'u1' repeats the key of line 1"):
        registry.create("data:kaldi_dir", root=str(tmp_path))
    (tmp_path / "wav.scp").write_text("u1 wav.ark:1024\n")
    with pytest.raises(DatasetLayoutError, match=r"wav\.scp: line 1.*audio inside an archive"):
        registry.create("data:kaldi_dir", root=str(tmp_path))
    (tmp_path / "wav.scp").unlink()
    with pytest.raises(DatasetLayoutError, match=r"wav\.scp: missing"):
        registry.create("data:kaldi_dir", root=str(tmp_path))


@pytest.mark.parametrize("name", ["librispeech", "tedlium"])
def test_lhotse_manifests_load_in_lhotse_and_back(tmp_path: Path, name: str) -> None:
    if name == "librispeech":
        _librispeech(tmp_path)
        corpus = registry.create("data:librispeech", root=str(tmp_path), subset="dev-clean")
    else:  # as WAV: lhotse reads SPHERE files through the sph2pipe binary
        _tedlium(tmp_path, ".wav")
        corpus = registry.create("data:tedlium", root=str(tmp_path), audio_ext=".wav")
    out = to_lhotse(corpus, tmp_path / "manifests")
    recordings = lhotse.load_manifest(out / "recordings.jsonl")
    supervisions = lhotse.load_manifest(out / "supervisions.jsonl")
    cuts = lhotse.load_manifest(out / "cuts.jsonl")
    assert isinstance(cuts, lhotse.CutSet) and len(cuts) == len(supervisions) == len(corpus)
    assert len(recordings) == (1 if name == "tedlium" else len(corpus))
    ours = {corpus.metadata(i).id: corpus[i] for i in range(len(corpus))}
    for cut in cuts:
        audio = torch.from_numpy(cut.load_audio())
        # lhotse cuts at rounded sample positions; ours at int(seconds * rate): compare within one sample
        expected = ours[cut.id].waveform
        assert abs(audio.shape[-1] - expected.shape[-1]) <= 1
        n = min(audio.shape[-1], expected.shape[-1])
        offset = 0 if torch.equal(audio[..., :n], expected[..., :n]) else 1
        assert (
            offset == 0
            or torch.equal(audio[..., 1:n], expected[..., : n - 1])
            or torch.equal(audio[..., : n - 1], expected[..., 1:n])
        )
    back = registry.create("data:lhotse", root=str(out))
    assert sorted(back.metadata(i).id for i in range(len(back))) == sorted(ours)
    assert {back.metadata(i).transcript for i in range(len(back))} == {
        " ".join(r.transcript.split()) for r in ours.values()
    }
