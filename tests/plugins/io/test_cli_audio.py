"""``tympan info FILE...`` and ``tympan convert``, in process (click's runner)."""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np
import pytest
import soundfile
import torch
from click.testing import CliRunner

import tympan
from tympan.cli import cli

from .conftest import make_signal


def invoke(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def files(tmp_path: pathlib.Path) -> dict[str, pathlib.Path]:
    made = {
        "wav": tmp_path / "speech.wav",
        "flac": tmp_path / "music.flac",
        "ogg": tmp_path / "clip.ogg",
    }
    soundfile.write(made["wav"], make_signal(16000, 2, 16000), 16000, subtype="PCM_16")
    soundfile.write(made["flac"], make_signal(22050, 1, 44100), 44100, subtype="PCM_24")
    soundfile.write(made["ogg"], make_signal(4800, 6, 48000), 48000, subtype="VORBIS")
    return made


def test_info_prints_an_aligned_table(files) -> None:
    code, out, err = invoke("info", files["wav"], files["flac"], files["ogg"])
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["FILE", "FORMAT", "ENCODING", "RATE", "CHANNELS", "FRAMES", "DURATION", "BITS"]
    assert lines[1].split() == [str(files["wav"]), "wav", "PCM_S", "16000", "2", "16000", "1.000s", "16"]
    assert lines[2].split() == [str(files["flac"]), "flac", "FLAC", "44100", "1", "22050", "0.500s", "24"]
    assert lines[3].split() == [str(files["ogg"]), "ogg", "VORBIS", "48000", "6", "4800", "0.100s", "-"]
    # aligned: every column starts at the same offset on every line
    starts = [line.index(f" {word} ") for line, word in zip(lines, ["FORMAT", "wav", "flac", "ogg"], strict=True)]
    assert len(set(starts)) == 1
    ends = [len(line) for line in lines]  # numbers are right-aligned, so the last column ends together
    assert len(set(ends)) == 1


def test_info_json_matches_the_api(files) -> None:
    code, out, _ = invoke("info", "--json", files["wav"], files["flac"])
    assert code == 0
    listed = json.loads(out)
    for entry, key in zip(listed, ["wav", "flac"], strict=True):
        found = tympan.info(files[key])
        assert entry == {
            "file": str(files[key]),
            "format": found.format,
            "encoding": found.encoding,
            "sample_rate": found.sample_rate,
            "num_channels": found.num_channels,
            "num_frames": found.num_frames,
            "duration": found.duration,
            "bits_per_sample": found.bits_per_sample,
        }


def test_info_reports_bad_files_and_goes_on(files, tmp_path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    missing = tmp_path / "missing.flac"
    code, out, err = invoke("info", broken, files["wav"], missing)
    assert code == 1
    assert [line.split()[0] for line in out.splitlines()] == ["FILE", str(files["wav"])]
    errors = err.splitlines()
    assert errors[0].startswith(f"error: cannot decode {broken}:")
    assert errors[1].startswith("error: ") and str(missing) in errors[1] and "Traceback" not in err

    code, out, _ = invoke("info", "--json", broken, files["wav"])
    listed = json.loads(out)
    assert code == 1 and listed[0]["file"] == str(broken) and "cannot decode" in listed[0]["error"]
    assert listed[1]["num_frames"] == 16000


def test_info_dispatch_between_components_and_files(files, tmp_path, monkeypatch) -> None:
    code, out, _ = invoke("info", "mfcc")
    assert code == 0 and out.startswith("dsp:mfcc (transform)")
    code, out, _ = invoke("info", "dsp:mfcc", "--json")
    assert code == 0 and json.loads(out)["name"] == "dsp:mfcc"

    monkeypatch.chdir(tmp_path)
    pathlib.Path("take1").write_bytes(files["wav"].read_bytes())  # named like a component, which none is
    code, out, _ = invoke("info", "take1")
    assert code == 0 and out.splitlines()[1].split()[:2] == ["take1", "wav"]
    pathlib.Path("mfcc").write_bytes(files["wav"].read_bytes())  # a component's name: ./ makes it a file
    assert invoke("info", "mfcc")[1].startswith("dsp:mfcc")
    assert invoke("info", "./mfcc")[1].splitlines()[1].split()[:2] == ["./mfcc", "wav"]

    result = CliRunner().invoke(cli, ["info", "nosuchthing"])
    assert result.exit_code == 1 and "unknown component 'nosuchthing'" in result.output
    result = CliRunner().invoke(cli, ["info", "--kind", "transform", str(files["wav"])])
    assert result.exit_code == 2 and "--kind applies to a component NAME" in result.output


def test_convert_rate_channels_and_format(files, tmp_path) -> None:
    out = tmp_path / "out.flac"
    code, _, err = invoke("convert", files["wav"], out, "--rate", 8000, "--channels", "mean")
    assert code == 0 and err.startswith(f"wrote {out}: flac 16-bit FLAC, 8000 Hz, 1 channel(s), 8000 frames")
    expected, _ = tympan.load(files["wav"], channels="mean", sample_rate=8000)
    # 16-bit FLAC holds the float result to within one quantisation step
    torch.testing.assert_close(tympan.load(out)[0], expected, rtol=0, atol=2.0**-15)


def test_convert_keeps_the_encoding_where_it_can(files, tmp_path) -> None:
    assert invoke("convert", files["flac"], tmp_path / "a.wav")[0] == 0
    assert tympan.info(tmp_path / "a.wav").encoding == "PCM_S" and tympan.info(tmp_path / "a.wav").bits_per_sample == 24
    # lossless: the 24-bit samples travel as integers
    torch.testing.assert_close(tympan.load(tmp_path / "a.wav")[0], tympan.load(files["flac"])[0], rtol=0, atol=0)
    ulaw = tmp_path / "u.wav"
    soundfile.write(ulaw, make_signal(800, 1, 8000), 8000, subtype="ULAW")
    assert invoke("convert", ulaw, tmp_path / "u.flac")[0] == 0  # FLAC has no mu-law: its default
    assert tympan.info(tmp_path / "u.flac").bits_per_sample == 16
    assert invoke("convert", files["ogg"], tmp_path / "o.wav", "--channels", "5,0")[0] == 0
    converted = tympan.load(tmp_path / "o.wav")[0]
    torch.testing.assert_close(converted, tympan.load(files["ogg"], channels=[5, 0])[0], rtol=0, atol=0)


def test_convert_with_explicit_encoding(files, tmp_path) -> None:
    out = tmp_path / "out.wav"
    code, _, _ = invoke("convert", files["wav"], out, "--encoding", "ulaw", "--rate", 8000)
    assert code == 0 and tympan.info(out).encoding == "ULAW"
    assert invoke("convert", files["wav"], tmp_path / "c.flac", "--bits", 24, "--compression", 8)[0] == 0
    assert tympan.info(tmp_path / "c.flac").bits_per_sample == 24


def test_convert_failures_are_one_line_and_leave_the_destination(files, tmp_path) -> None:
    out = tmp_path / "keep.wav"
    out.write_bytes(files["wav"].read_bytes())
    before = out.read_bytes()
    cases = [
        (["--bits", "32"], "flac cannot hold 32-bit", tmp_path / "x.flac"),
        (["--channels", "4"], "index 4 is out of range", out),
        (["--compression", "3"], "wav has no compression", out),
        ([], "no installed backend writes 'xyz'", tmp_path / "x.xyz"),
    ]
    for options, problem, destination in cases:
        result = CliRunner().invoke(cli, ["convert", str(files["wav"]), str(destination), *options])
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: ") and problem in result.output and "Traceback" not in result.output
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == sorted(["speech.wav", "music.flac", "clip.ogg", "keep.wav"])

    result = CliRunner().invoke(cli, ["convert", str(tmp_path / "none.wav"), str(tmp_path / "y.wav")])
    assert result.exit_code == 1 and "no such audio file" in result.output
    result = CliRunner().invoke(cli, ["convert", str(files["wav"]), str(tmp_path / "y.wav"), "--channels", "a"])
    assert result.exit_code == 2 and "0-based indices" in result.output


def test_convert_out_of_range_needs_clip(tmp_path) -> None:
    loud = tmp_path / "loud.wav"
    soundfile.write(loud, np.array([0.5, 1.5, -2.0], np.float32), 8000, subtype="FLOAT")
    result = CliRunner().invoke(cli, ["convert", str(loud), str(tmp_path / "q.flac")])
    assert result.exit_code == 1 and "[-1, 1]" in result.output
    assert CliRunner().invoke(cli, ["convert", str(loud), str(tmp_path / "q.flac"), "--clip"]).exit_code == 0
    assert tympan.load(tmp_path / "q.flac")[0].tolist() == [[0.5, pytest.approx(1.0, abs=2**-15), -1.0]]
