"""The `tympan` command, in process (click's runner) and as the installed console script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile
import torch
from click.testing import CliRunner

import tympan
from tympan.cli import cli

TYMPAN = shutil.which("tympan", path=str(Path(sys.executable).parent))


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_list_by_kind_and_pattern() -> None:
    code, out, _ = invoke("list", "transform", "*mel*")
    assert code == 0 and "dsp:mel_spectrogram" in out and "dsp:mfcc" not in out
    code, out, _ = invoke("list", "m*")
    assert code == 0 and "dsp:mfcc" in out and "dsp:mel_spectrogram" in out and "io:soundfile" not in out
    code, out, _ = invoke("list", "--json")
    listed = {item["name"]: item for item in json.loads(out)}
    assert listed["example:tremolo"] == {
        "name": "example:tremolo",
        "kind": "effect",
        "distribution": "tympan-example-plugin",
        "version": "0.1.0",
    }


def test_help_lists_the_audio_commands() -> None:
    code, out, _ = invoke("--help")
    assert code == 0 and "convert   Convert an audio file" in out and "Show a component, or audio files' headers" in out


def test_info_shows_summary_and_parameters() -> None:
    code, out, _ = invoke("info", "mfcc")
    assert code == 0
    assert out.startswith("dsp:mfcc (transform)") and "n_mfcc" in out and "provided by: tympan" in out
    code, out, _ = invoke("info", "mfc")
    assert code == 1 and "did you mean: dsp:mfcc" in out + _


def test_plugins_reports_each_distribution() -> None:
    code, out, _ = invoke("plugins", "--json")
    assert code == 0
    report = {item["distribution"]: item for item in json.loads(out)}
    example = report["tympan-example-plugin"]
    assert example["status"] == "ok" and example["hooks"] == ["example (tympan_example.hooks)"]
    assert {c["name"] for c in example["components"]} == {"example:tremolo", "example:zero_crossing_rate"}


def test_validate_reports_located_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("sample_rate: 16000\nsteps:\n  - mfcc: {n_mfcc: 13}\n")
    code, out, _ = invoke("validate", str(good))
    assert code == 0 and "ok, 1 step(s): dsp:mfcc" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("sample_rate: 16000\nsteps:\n  - mfcc: {n_mfcc: 0}\n  - os.system: {}\n")
    result = CliRunner().invoke(cli, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "steps[1].os.system: dotted import paths are refused" in result.output


def write_tone(path: Path, rate: int = 16000, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    soundfile.write(path, tone, rate, subtype="PCM_16")
    return tone


def test_run_writes_features_and_reports_failed_files_without_stopping(tmp_path: Path) -> None:
    config = tmp_path / "mfcc.yaml"
    config.write_text("steps:\n  - mfcc: {n_mfcc: 13}\n")
    good = tmp_path / "tone.wav"
    write_tone(good)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage")
    other = tmp_path / "other.flac"
    write_tone(other, rate=8000)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["run", str(config), str(good), str(broken), str(other), "-o", str(out)])
    assert result.exit_code == 1
    assert f"error: {broken}:" in result.stderr
    # The two written files hold 0.5 s of audio each; the broken one counts for nothing.
    assert "2 of 3 file(s) written" in result.stderr and "(1.0 s of audio in " in result.stderr
    features = torch.load(out / "tone.pt")
    expected = tympan.registry.create("mfcc", sample_rate=16000, n_mfcc=13)(tympan.load(good)[0])
    torch.testing.assert_close(features, expected)
    assert torch.load(out / "other.pt").shape[-2] == 13  # built for the file's own 8 kHz rate
    assert sorted(p.name for p in out.iterdir()) == ["other.pt", "tone.pt"]


def test_run_writes_audio_for_waveform_pipelines_and_npy_features(tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "tone.wav")
    config = tmp_path / "down.yaml"
    config.write_text(
        "sample_rate: 16000\nsteps:\n  - example:tremolo: {frequency: 4, depth: 0.5}\n  - resample: {new_freq: 8000}\n"
    )
    result = CliRunner().invoke(cli, ["run", str(config), str(tmp_path / "tone.wav"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data, rate = soundfile.read(tmp_path / "out" / "tone.wav")
    assert rate == 8000 and abs(len(data) - len(tone) // 2) <= 1
    features = tmp_path / "feat.yaml"
    features.write_text("steps:\n  - spectrogram: {n_fft: 256}\n")
    result = CliRunner().invoke(
        cli, ["run", str(features), str(tmp_path / "tone.wav"), "-o", str(tmp_path / "f"), "--features-format", "npy"]
    )
    assert result.exit_code == 0, result.output
    assert np.load(tmp_path / "f" / "tone.npy").shape[-2] == 129


def test_run_refuses_a_rate_that_disagrees_with_the_configuration(tmp_path: Path) -> None:
    write_tone(tmp_path / "tone.wav", rate=8000)
    config = tmp_path / "pipe.yaml"
    config.write_text("sample_rate: 16000\nsteps:\n  - mfcc: {}\n")
    result = CliRunner().invoke(cli, ["run", str(config), str(tmp_path / "tone.wav"), "-o", str(tmp_path / "out")])
    assert (
        result.exit_code == 1
        and "sample rate 8000 Hz differs from the configuration's sample_rate 16000" in result.stderr
    )


def test_schema_is_valid_and_accepts_real_configurations(tmp_path: Path) -> None:
    code, out, _ = invoke("schema")
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    good = {"version": 1, "sample_rate": 16000, "steps": [{"dsp:mfcc": {"n_mfcc": 13}}, {"example:tremolo": None}]}
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({"steps": [{"mfcc": {"n_mfcc": "many"}}]}))
    assert list(validator.iter_errors({"steps": [{"mfcc": {"nmfcc": 3}}]}))
    target = tmp_path / "schema.json"
    invoke("schema", "-o", str(target))
    assert json.loads(target.read_text()) == schema


def test_doctor_lists_core_and_plugin_checks() -> None:
    code, out, _ = invoke("doctor")
    assert code == 0 and "[ok] torch:" in out and "example plugin" in out


@pytest.mark.parametrize("args", [["--help"], ["list"], ["info", "--help"], ["convert", "--help"]])
def test_the_console_script_imports_no_torch(args: list[str]) -> None:
    assert TYMPAN is not None
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['tympan', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('tympan.cli', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"
    real = subprocess.run([TYMPAN, *args], capture_output=True, text=True, check=True)
    assert "tremolo" in real.stdout or args[0] != "list"


def test_plugin_commands_run(tmp_path: Path) -> None:
    write_tone(tmp_path / "tone.wav")
    result = subprocess.run(
        [TYMPAN, "tremolo", str(tmp_path / "tone.wav"), str(tmp_path / "out.wav"), "--depth", "1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    data, rate = soundfile.read(tmp_path / "out.wav")
    assert rate == 16000 and abs(data).max() < 0.51


def test_strict_mode_failures_are_one_line_not_a_traceback(plugin_site: Path) -> None:
    from tympan.testing import write_distribution

    write_distribution(plugin_site, "bad-hooks", {"tympan.hooks": {"bad": "bad_hooks"}}, {"bad_hooks": "import nope\n"})
    env = {"PYTHONPATH": str(plugin_site), "PATH": "/usr/bin:/bin", "TYMPAN_STRICT_PLUGINS": "1"}
    result = subprocess.run([TYMPAN, "list"], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: plugin bad-hooks 1.0 failed to load") and "Traceback" not in result.stderr
