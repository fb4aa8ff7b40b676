"""``tympan sox``: the sox program's command line against the sox program itself (files, format options,
combining inputs, the null file and analysis reports, automatic dither), batch mode, and bad input."""

from __future__ import annotations

import io
import subprocess

import pytest
import torch
from click.testing import CliRunner

import tympan
from tympan.cli import cli
from tympan.plugins.sox.command import SoxCommandError, parse_command_line
from tympan.plugins.sox.errors import UnknownEffectError
from tympan.plugins.sox.parity import sox_available


def tone(path, channels=2, rate=16000, seconds=0.5, seed=0, bits=16):
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(int(rate * seconds)) / rate
    rows = [0.4 * torch.sin(2 * torch.pi * (300 + 200 * c) * t) for c in range(channels)]
    waveform = torch.stack(rows) + 0.05 * torch.randn(channels, t.shape[0], generator=generator)
    tympan.save(path, waveform, rate, bits_per_sample=bits)
    return path


def tympan_sox(*args: str):
    return CliRunner().invoke(cli, ["sox", *map(str, args)])


def sox(*args: str) -> subprocess.CompletedProcess:
    if not sox_available():
        pytest.skip("the sox program is not installed")
    return subprocess.run(["sox", *map(str, args)], capture_output=True, text=True, check=True)


def loaded(path) -> tuple[torch.Tensor, int]:
    return tympan.load(path)


@pytest.mark.parametrize(
    ("options", "effects"),
    [
        ((), ("gain", "-3", "highpass", "100", "lowpass", "3k")),
        (("-r", "8k"), ("bass", "+3")),
        (("-c", "1"), ("treble", "-2", "reverse")),
        (("-r", "22050", "-c", "1"), ("speed", "0.9", "fade", "0.1")),
    ],
)
def test_file_to_file_matches_the_sox_program(tmp_path, options, effects):
    source = tone(tmp_path / "in.wav")
    ours, theirs = tmp_path / "ours.wav", tmp_path / "theirs.wav"
    result = tympan_sox(source, "-e", "floating-point", *options, ours, *effects)
    assert result.exit_code == 0, result.output
    sox(source, "-e", "floating-point", *options, theirs, *effects)
    (a, rate_a), (b, rate_b) = loaded(ours), loaded(theirs)
    assert rate_a == rate_b and a.shape == b.shape
    error = (a - b).abs().max().item()
    assert error < (1e-4 if "-r" not in options else 1e-2), error


@pytest.mark.parametrize("combine", ["concatenate", "mix", "merge", "multiply", "mix-power"])
def test_combining_inputs_as_the_sox_program_does(tmp_path, combine):
    first = tone(tmp_path / "a.wav", channels=2, seed=1)
    second = tone(tmp_path / "b.wav", channels=2, seconds=0.3, seed=2)
    ours, theirs = tmp_path / "ours.wav", tmp_path / "theirs.wav"
    args = ("--combine", combine, first, second, "-e", "floating-point")
    assert tympan_sox(*args, ours, "gain", "-1").exit_code == 0
    sox(*args, theirs, "gain", "-1")
    a, b = loaded(ours)[0], loaded(theirs)[0]
    assert a.shape == b.shape and (a - b).abs().max() < 1e-4


def test_input_volume_and_the_short_forms(tmp_path):
    first, second = tone(tmp_path / "a.wav", seed=1), tone(tmp_path / "b.wav", seed=2)
    ours, theirs = tmp_path / "ours.wav", tmp_path / "theirs.wav"
    assert tympan_sox("-m", "-v", "0.3", first, second, "-e", "float", ours).exit_code == 0
    sox("-m", "-v", "0.3", first, second, "-e", "float", theirs)
    assert (loaded(ours)[0] - loaded(theirs)[0]).abs().max() < 1e-4


def test_null_input_and_output_print_the_reports_sox_prints(tmp_path):
    effects = ("synth", "0.25", "sine", "440", "sine", "300", "gain", "-4", "stats", "stat")
    result = tympan_sox("-r", "16k", "-n", "-n", *effects)
    assert result.exit_code == 0, result.output

    def unsigned_zeros(text: str) -> str:  # the sign of a mean of ~1e-10 is rounding noise
        return text.replace("-0.000000", " 0.000000")

    assert unsigned_zeros(result.stderr) == unsigned_zeros(sox("-r", "16k", "-n", "-n", *effects).stderr)


def test_synth_from_the_null_file_to_a_file(tmp_path):
    ours, theirs = tmp_path / "ours.wav", tmp_path / "theirs.wav"
    effects = ("synth", "0.3", "square", "220", "sine", "330", "fade", "0.05")
    assert tympan_sox("-n", "-e", "float", ours, *effects).exit_code == 0
    sox("-n", "-e", "float", theirs, *effects)
    (a, rate), b = loaded(ours), loaded(theirs)[0]
    assert rate == 48000 and a.shape == b.shape == (2, 14400) and (a - b).abs().max() < 1e-4


def test_dither_is_added_where_the_sox_program_adds_it(tmp_path):
    source = tone(tmp_path / "in.wav", bits=16)
    plain, dithered, theirs = tmp_path / "plain.wav", tmp_path / "dithered.wav", tmp_path / "theirs.wav"
    assert tympan_sox("-D", source, plain, "gain", "-3").exit_code == 0
    assert tympan_sox(source, dithered, "gain", "-3").exit_code == 0
    sox("-D", source, theirs, "gain", "-3")
    a, b, c = (tympan.load(p, normalize=False)[0].int() for p in (plain, dithered, theirs))
    assert (a - c).abs().max() <= 1 and (a != c).float().mean() < 0.01  # rounding ties aside
    assert 0.4 < (b - c).float().std() < 0.8  # TPDF dither of one LSB, as SoX's
    untouched = tmp_path / "trimmed.wav"  # trim keeps the samples as they are: no dither
    assert tympan_sox(source, untouched, "trim", "0", "0.1").exit_code == 0
    assert torch.equal(tympan.load(untouched, normalize=False)[0], tympan.load(source, normalize=False)[0][:, :1600])


def test_output_keeps_the_input_encoding_unless_told(tmp_path):
    source = tone(tmp_path / "in.wav", bits=24)
    assert tympan_sox(source, tmp_path / "a.flac", "gain", "-1").exit_code == 0
    assert tympan.info(tmp_path / "a.flac").bits_per_sample == 24
    assert tympan_sox(source, "-b", "16", tmp_path / "b.wav").exit_code == 0
    assert tympan.info(tmp_path / "b.wav").bits_per_sample == 16


def test_standard_output_and_the_device_option(tmp_path):
    source = tone(tmp_path / "in.wav")
    result = tympan_sox("--device", "cpu", source, "-t", "wav", "-", "trim", "0", "100s")
    assert result.exit_code == 0
    waveform, rate = tympan.load(io.BytesIO(result.stdout_bytes), format="wav")
    assert rate == 16000 and waveform.shape == (2, 100)


def test_clipping_is_reported(tmp_path):
    source = tmp_path / "loud.wav"
    tympan.save(source, torch.tensor([[0.5, 1.5, -2.0, 0.25]]), 8000, encoding="PCM_F")
    result = tympan_sox("-D", source, "-b", "16", tmp_path / "out.wav")
    assert result.exit_code == 0 and "clipped 2 samples" in result.stderr
    assert tympan.load(tmp_path / "out.wav", normalize=False)[0].tolist() == [[16384, 32767, -32768, 8192]]


def test_batch_mode_writes_every_file_and_reports_failures(tmp_path):
    source, target = tmp_path / "in", tmp_path / "out"
    (source / "sub").mkdir(parents=True)
    tone(source / "a.wav")
    tone(source / "sub" / "b.wav", channels=1)
    (source / "broken.wav").write_bytes(b"not audio")
    result = tympan_sox("--batch", "-D", source, "-r", "8k", "-t", "flac", target, "gain", "-3")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "broken.wav" in errors[0]
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*.flac")) == ["a.flac", "sub/b.flac"]
    assert tympan.info(target / "sub" / "b.flac").sample_rate == 8000


def test_a_broken_input_is_one_error_line_and_no_output(tmp_path):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEjunk")
    result = tympan_sox(broken, tmp_path / "out.wav", "gain", "-3")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "broken.wav" in lines[0]
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.wav", "b.wav", "gian", "3"], "did you mean: gain"),
        (["a.wav", "b.wav", "gain", "-x"], "sox gain: invalid option '-x'"),
        (["-Z", "a.wav", "b.wav"], "option -Z is not supported"),
        (["a.wav"], "expected an input file and an output file"),
        (["--combine", "sum", "a.wav", "b.wav"], "--combine"),
        (["-e", "pcm", "a.wav", "b.wav"], "unknown encoding"),
    ],
)
def test_bad_command_lines_fail_before_any_work(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    tone(tmp_path / "a.wav")
    result = tympan_sox(*args)
    assert result.exit_code == 1 and message in result.output, result.output


def test_parse_errors_are_typed():
    with pytest.raises(UnknownEffectError):
        parse_command_line(["a.wav", "b.wav", "hipass", "300"])
    with pytest.raises(SoxCommandError):
        parse_command_line(["-r", "0", "a.wav", "b.wav"])


def test_remix_of_a_missing_channel_fails_before_writing(tmp_path):
    source = tone(tmp_path / "in.wav", channels=2)
    result = tympan_sox(source, tmp_path / "out.wav", "remix", "3")
    assert result.exit_code == 1 and "remix" in result.output and not (tmp_path / "out.wav").exists()
