"""Kaldi data directories: reading and writing, validation that names file and line, fixing, audio and segments.

Audio is compared with kaldiio's reading of the same ``wav.scp`` and ``segments`` (its int16 samples
against ours times 32768, tolerance 0: 16-bit PCM converts exactly); segment times sit on sample
boundaries, where Kaldi's rounding and kaldiio's truncation agree.
"""

from __future__ import annotations

import pathlib
import re

import kaldiio
import numpy as np
import pytest
import soundfile

from tympan.core.errors import InvalidParameterError, KaldiFormatError, UnsupportedFormatError
from tympan.plugins.kaldi.datadir import (
    DataDir,
    Segment,
    check,
    fix,
    fix_data_dir,
    load_utterance,
    read_audio,
    validate,
)


def _write(folder: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def _valid(folder: pathlib.Path) -> pathlib.Path:
    return _write(
        folder,
        {
            "wav.scp": "rec1 /c/rec1.wav\nrec2 sox /c/rec2.flac -t wav - |\n",
            "segments": "spk1-a rec1 0.0 1.5\nspk1-b rec1 1.5 -1\nspk2-a rec2 0.2 0.9 0\n",
            "utt2spk": "spk1-a spk1\nspk1-b spk1\nspk2-a spk2\n",
            "spk2utt": "spk1 spk1-a spk1-b\nspk2 spk2-a\n",
            "text": "spk1-a HELLO WORLD\nspk1-b\nspk2-a GOOD  BYE\n",
            "feats.scp": "spk1-a raw.ark:10\nspk1-b raw.ark:2000[0:9]\nspk2-a raw.ark:4000\n",
            "cmvn.scp": "spk1 cmvn.ark:5\nspk2 cmvn.ark:300\n",
            "utt2dur": "spk1-a 1.5\nspk1-b 2.25\nspk2-a 0.7\n",
            "utt2num_frames": "spk1-a 148\nspk1-b 223\nspk2-a 68\n",
            "spk2gender": "spk1 f\nspk2 m\n",
        },
    )


def test_read_write_round_trip(tmp_path: pathlib.Path) -> None:
    data = DataDir.read(_valid(tmp_path / "in"))
    assert validate(data) == [] and validate(tmp_path / "in") == []
    assert data.segments["spk2-a"] == Segment("rec2", 0.2, 0.9, 0)
    assert data.text["spk1-b"] == "" and data.utt2num_frames["spk1-b"] == 223
    assert data.spk2utt == {"spk1": ["spk1-a", "spk1-b"], "spk2": ["spk2-a"]}
    data.write(tmp_path / "out")
    for name in ("wav.scp", "utt2spk", "spk2utt", "feats.scp", "cmvn.scp", "spk2gender", "utt2num_frames"):
        assert (tmp_path / "out" / name).read_text() == (tmp_path / "in" / name).read_text(), name
    assert DataDir.read(tmp_path / "out") == data


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("utt2spk", "spk1-a spk1\n\nspk2-a spk2\n", "line 2: empty line"),
        ("utt2spk", "spk1-a spk1\nspk1-a spk1\n", "line 2: key 'spk1-a' repeats the key of line 1"),
        ("segments", "spk1-a rec1 zero 1.5\n", "line 1: start time 'zero' is not a number"),
        ("segments", "spk1-a rec1 0.0\n", "line 1: expected 'UTT RECORDING START END [CHANNEL]'"),
        ("utt2num_frames", "spk1-a 1.5\n", "line 1: frame count '1.5' is not a number"),
        ("feats.scp", "spk1-a\n", "line 1: no value after the key 'spk1-a'"),
    ],
)
def test_parse_errors_name_file_and_line(tmp_path: pathlib.Path, name: str, text: str, expected: str) -> None:
    folder = _write(_valid(tmp_path), {name: text})
    with pytest.raises(KaldiFormatError, match=re.escape(expected)) as caught:
        DataDir.read(folder)
    assert caught.value.path == str(folder / name)
    assert [p.file for p in validate(folder)] == [name]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("utt2spk", "spk1-b spk1\nspk1-a spk1\nspk2-a spk2\n", "utt2spk: line 2: key spk1-a is out of order"),
        ("text", "spk1-a HI\nspk1-b\nspk2-a BYE\nspk3-x NEW\n", "text: line 4: utterance spk3-x is not in utt2spk"),
        (
            "segments",
            "spk1-a rec1 0.0 1.5\nspk1-b rec9 1.5 -1\nspk2-a rec2 0.2 0.9\n",
            "segments: line 2: recording rec9",
        ),
        (
            "segments",
            "spk1-a rec1 2.0 1.5\nspk1-b rec1 1.5 -1\nspk2-a rec2 0.2 0.9\n",
            "segments: line 1: impossible times",
        ),
        ("spk2utt", "spk1 spk1-a\nspk2 spk2-a\n", "spk2utt: line 1: speaker spk1 disagrees with utt2spk"),
        ("cmvn.scp", "spk1 c.ark:5\nspk3 c.ark:9\n", "cmvn.scp: line 2: speaker spk3 is not in utt2spk"),
        ("spk2gender", "spk1 f\nspk2 x\n", "spk2gender: line 2: gender 'x' is neither m nor f"),
        ("utt2dur", "spk1-a 1.5\nspk1-b 0\nspk2-a 0.7\n", "utt2dur: line 2: duration 0 is not positive"),
        (
            "feats.scp",
            "spk1-a raw.ark:10\nspk2-a raw.ark:4000\n",
            "feats.scp: utterance spk1-b of utt2spk has no entry",
        ),
        ("utt2spk", "a-1 zed\nb-1 alf\nspk2-a spk2\n", "utt2spk: line 1: utterances do not sort like their speakers"),
    ],
)
def test_validation_names_file_and_line(tmp_path: pathlib.Path, name: str, text: str, expected: str) -> None:
    folder = _write(_valid(tmp_path), {name: text})
    if name == "utt2spk" and text.startswith("a-1"):  # renamed utterances: keep the other files in step
        _write(folder, {"spk2utt": "alf b-1\nspk2 spk2-a\nzed a-1\n"})
        for other in ("segments", "text", "feats.scp", "utt2dur", "utt2num_frames"):
            (folder / other).unlink()
        _write(folder, {"wav.scp": "a-1 /c/a.wav\nb-1 /c/b.wav\nspk2-a /c/c.wav\n", "cmvn.scp": "", "spk2gender": ""})
        (folder / "cmvn.scp").unlink()
        (folder / "spk2gender").unlink()
    problems = [str(p) for p in validate(folder)]
    assert any(p.startswith(expected) for p in problems), problems
    with pytest.raises(KaldiFormatError, match="problem"):
        check(folder)


def test_fix_keeps_what_is_consistent(tmp_path: pathlib.Path) -> None:
    folder = _write(
        _valid(tmp_path),
        {
            "text": "spk1-a HELLO\nspk2-a BYE\nzz-extra WORDS\n",  # spk1-b has no transcript
            "segments": "spk1-a rec1 0.0 1.5\nspk1-b rec1 1.5 -1\nspk2-a rec9 0.2 0.9\n",  # rec9 is unknown
        },
    )
    lost = fix_data_dir(folder)
    data = DataDir.read(folder)
    assert data.utterances == ["spk1-a"] and validate(folder) == []
    assert list(data.wav_scp) == ["rec1"] and list(data.cmvn_scp) == ["spk1"] and list(data.spk2gender) == ["spk1"]
    assert lost["utt2spk"] == 2 and lost["text"] == 2 and lost["wav.scp"] == 1
    assert fix(data) == data  # fixing is idempotent


def test_builder_refuses_bad_ids() -> None:
    data = DataDir()
    with pytest.raises(InvalidParameterError, match="invalid id"):
        data.add_utterance("has space", "spk")
    with pytest.raises(InvalidParameterError, match="needs its recording"):
        data.add_utterance("u", "s", start=0.0, end=1.0)


def test_audio_and_segments_match_kaldiio(tmp_path: pathlib.Path) -> None:
    rate = 16000
    samples = (np.random.default_rng(0).uniform(-0.5, 0.5, 2 * rate) * 32767).astype(np.int16)
    soundfile.write(tmp_path / "rec1.wav", samples, rate, subtype="PCM_16")
    soundfile.write(tmp_path / "rec2.flac", samples[::-1].copy(), rate, subtype="PCM_16")
    folder = _write(
        tmp_path / "data",
        {
            "wav.scp": f"rec1 {tmp_path}/rec1.wav\nrec2 {tmp_path}/rec2.flac\n",
            "segments": "u1 rec1 0.25 0.5\nu2 rec1 1.0 -1\nu3 rec2 0.0 0.125\n",
        },
    )
    theirs = kaldiio.load_scp(str(folder / "wav.scp"), segments=str(folder / "segments"))
    ours = list(read_audio(folder / "wav.scp", folder / "segments"))
    assert [key for key, _, _ in ours] == ["u1", "u2", "u3"]
    for key, waveform, sample_rate in ours:
        their_rate, their_samples = theirs[key] if key != "u3" else (rate, samples[::-1][: rate // 8])
        assert sample_rate == their_rate
        np.testing.assert_array_equal((waveform[0] * 32768).numpy().astype(np.int16), their_samples)
    data = DataDir(wav_scp={"rec1": f"{tmp_path}/rec1.wav"}, segments={"u": Segment("rec1", 1.9, 2.3)})
    assert load_utterance(data, "u")[0].shape == (1, int(0.1 * rate))  # overshoot within 0.5 s is clamped
    data.segments["v"] = Segment("rec1", 1.0, 2.6)
    with pytest.raises(KaldiFormatError, match="outside"):
        load_utterance(data, "v")


def test_wav_scp_pipes_and_archives(tmp_path: pathlib.Path) -> None:
    rate = 8000
    soundfile.write(tmp_path / "a.wav", np.zeros(800, np.int16), rate, subtype="PCM_16")
    wav_bytes = (tmp_path / "a.wav").read_bytes()
    (tmp_path / "w.ark").write_bytes(b"a " + wav_bytes)
    _write(tmp_path, {"wav.scp": f"p cat {tmp_path}/a.wav |\nq {tmp_path}/w.ark:2\n"})
    with pytest.raises(UnsupportedFormatError, match="allow_pipes"):
        list(read_audio(tmp_path / "wav.scp"))
    loaded = {key: (tuple(w.shape), r) for key, w, r in read_audio(tmp_path / "wav.scp", allow_pipes=True)}
    assert loaded == {"p": ((1, 800), rate), "q": ((1, 800), rate)}
    _write(tmp_path, {"wav.scp": f"q {tmp_path}/w.ark:1\n"})
    with pytest.raises(KaldiFormatError, match="RIFF"):
        list(read_audio(tmp_path / "wav.scp"))


def test_write_removes_stale_files(tmp_path: pathlib.Path) -> None:
    folder = _valid(tmp_path)
    data = DataDir.read(folder)
    data.feats_scp.clear()
    data.write(folder)
    assert not (folder / "feats.scp").exists() and validate(folder) == []
