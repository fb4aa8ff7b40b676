"""`tympan export` compiles a pipeline with AOTInductor; `tympan.load_exported` runs it and refuses other files.

One compilation per package (AOTInductor takes minutes), so every check of a compiled package is in one test (test
workers each build their own fixtures): the `resample 44.1k -> 16k -> mfcc` pipeline, and a streaming step of
`sox highpass -> kaldi:fbank`, from the command line.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import tympan
from tympan.cli import cli
from tympan.core.errors import ExportedPackageError, ExportError
from tympan.export import ExportedStep, ExportRange, export_pipeline, run_stream, streaming_step
from tympan.export.package import package_pipeline

CONFIG = "sample_rate: 44100\nsteps:\n  - resample: {new_freq: 16000}\n  - mfcc: {n_mfcc: 13}\n"


def test_tympan_export_then_load_exported(tmp_path: Path, cpp_example: Path) -> None:
    (tmp_path / "pipe.yaml").write_text(CONFIG)
    package = tmp_path / "pipe.pt2"
    result = CliRunner().invoke(
        cli, ["export", str(tmp_path / "pipe.yaml"), "-o", str(package), "--max-seconds", "3600"]
    )
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.glob("*.pt2")] == ["pipe.pt2"]
    the_compiled_pipeline_equals_eager_on_other_lengths_and_batches(package)
    the_package_records_configuration_versions_and_range(package)
    a_package_from_another_torch_is_refused_saying_which(package, tmp_path)
    an_aotinductor_package_that_is_not_tympans_is_refused(package, tmp_path)
    a_package_whose_components_are_not_installed_is_refused_naming_them(package, tmp_path)
    the_cpp_example_runs_it(cpp_example, package, CONFIG, tmp_path)


# A band-limiting SoX chain (an FIR band-pass and a gain) before Kaldi's fbank. (An IIR filter's traced block
# scan for inputs up to an hour takes AOTInductor minutes to compile: see docs/export.md.)
FRONT_END = (
    "sample_rate: 16000\nsteps:\n  - sox: {effects: sinc 60-7000 vol 0.8}\n  - kaldi:fbank: {num_mel_bins: 80}\n"
)


def test_a_sox_chain_then_kaldi_fbank_compiles_and_runs_from_cpp(tmp_path: Path, cpp_example: Path) -> None:
    (tmp_path / "front.yaml").write_text(FRONT_END)
    package = tmp_path / "front.pt2"
    result = CliRunner().invoke(cli, ["export", str(tmp_path / "front.yaml"), "-o", str(package)])
    assert result.exit_code == 0, result.output
    the_cpp_example_runs_it(cpp_example, package, FRONT_END, tmp_path, log_bands=True)


def the_compiled_pipeline_equals_eager_on_other_lengths_and_batches(package: Path) -> None:
    exported = tympan.load_exported(package)
    pipe = tympan.Pipeline.from_text(CONFIG).eval()
    generator = torch.Generator().manual_seed(3)
    for batch, length in ((1, 44100 * 2 + 7), (4, 12347), (2, 2001)):
        x = 0.5 * torch.randn(batch, length, generator=generator)
        with torch.no_grad():
            expected = pipe(x)
        actual = exported(x)
        assert actual.shape == expected.shape
        assert float((actual - expected).abs().max()) <= 1e-5 * float(expected.abs().max())


def the_package_records_configuration_versions_and_range(package: Path) -> None:
    exported = tympan.load_exported(package)
    assert exported.config == tympan.Pipeline.from_text(CONFIG).to_config()
    assert exported.metadata["tympan.version"] == tympan.__version__
    assert exported.metadata["tympan.torch_version"] == torch.__version__
    assert exported.input["max_frames"] == 44100 * 3600 and exported.input["sample_rate"] == 44100


@pytest.fixture(scope="module")
def cpp_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/cpp/run_pipeline.cpp, built with the system compiler against the torch wheel (once)."""
    compiler = shutil.which("c++") or shutil.which("g++")
    assert compiler, "the C++ example needs a C++ compiler (c++ or g++)"
    wheel = Path(torch.__file__).parent
    source = Path(__file__).parents[2] / "examples" / "cpp" / "run_pipeline.cpp"
    binary = tmp_path_factory.mktemp("cpp") / "run_pipeline"
    includes = [f"-I{wheel / 'include'}", f"-I{wheel / 'include' / 'torch' / 'csrc' / 'api' / 'include'}"]
    libraries = [f"-L{wheel / 'lib'}", "-ltorch", "-ltorch_cpu", "-lc10", f"-Wl,-rpath,{wheel / 'lib'}"]
    abi = f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}"
    build = [compiler, "-std=c++20", "-O1", abi, str(source), *includes, *libraries, "-o", str(binary)]
    subprocess.run(build, check=True)
    return binary


def the_cpp_example_runs_it(binary: Path, package: Path, config: str, tmp_path: Path, log_bands: bool = False) -> None:
    """The C++ example runs the package on 3 x 50001 samples as the eager pipeline of ``config`` does: within
    1e-5 of it, or, for ``log_bands`` (the log of mel bands nearly emptied, where float32 rounding shows), as
    close to the float64 result as eager float32 is."""
    x = 0.5 * torch.randn(3, 50001, generator=torch.Generator().manual_seed(4))
    x.numpy().tofile(tmp_path / "in.f32")
    run = subprocess.run(
        [str(binary), str(package), str(tmp_path / "in.f32"), "3", str(tmp_path / "out.f32")],
        check=True,
        capture_output=True,
        text=True,
    )
    with torch.no_grad():
        expected = tympan.Pipeline.from_text(config)(x)
    assert run.stdout.strip() == f"[{', '.join(map(str, expected.shape))}] tympan {tympan.__version__}"
    actual = torch.from_numpy(np.fromfile(tmp_path / "out.f32", dtype=np.float32)).reshape(expected.shape)
    scale = float(expected.abs().max())
    if not log_bands:
        assert float((actual - expected).abs().max()) <= 1e-5 * scale
        return
    with torch.no_grad():
        exact = tympan.Pipeline.from_text(config)(x.double())
    eager_error = float((expected - exact).abs().max())
    assert float((actual - exact).abs().max()) <= 2 * eager_error + 1e-5 * scale


def _rewrite_metadata(source: Path, target: Path, change: dict[str, str | None]) -> None:
    """Copy the package ``source`` to ``target`` with its metadata entries changed (None removes one)."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename.endswith("wrapper_metadata.json"):
                metadata = json.loads(data)
                for key, value in change.items():
                    if value is None:
                        metadata.pop(key, None)
                    else:
                        metadata[key] = value
                data = json.dumps(metadata).encode()
            new.writestr(item, data)


def a_package_from_another_torch_is_refused_saying_which(package: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.pt2"
    _rewrite_metadata(package, other, {"tympan.torch_version": "2.5.0"})
    with pytest.raises(ExportedPackageError, match=r"built with torch 2\.5\.0, this is torch"):
        tympan.load_exported(other)


def an_aotinductor_package_that_is_not_tympans_is_refused(package: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.pt2"
    _rewrite_metadata(package, foreign, {"tympan.version": None})
    with pytest.raises(ExportedPackageError, match="not a tympan one"):
        tympan.load_exported(foreign)


def a_package_whose_components_are_not_installed_is_refused_naming_them(package: Path, tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.pt2"
    config = {"sample_rate": 44100, "steps": [{"acme:reverb": {}}]}
    _rewrite_metadata(package, unknown, {"tympan.config": json.dumps(config)})
    refused = r"(?s)its components cannot be loaded here .*unknown component .acme:reverb."
    with pytest.raises(ExportedPackageError, match=refused):
        tympan.load_exported(unknown)


PITCH = {"sample_rate": 16000, "steps": [{"kaldi:pitch": {}}]}


def test_a_package_calling_a_plugin_operator_loads_in_a_fresh_interpreter(tmp_path: Path) -> None:
    # kaldi:pitch's Viterbi search is an operator its plugin registers (torch.ops.tympan.pitch_viterbi); the
    # compiled model calls it by name, so loading the package imports the plugins its configuration names
    # (how the compiled pitch tracker compares with eager: tests/export/test_dynamic_more.py).
    package = package_pipeline(tympan.Pipeline.from_config(PITCH), tmp_path / "pitch.pt2", ExportRange(733, 48000))
    audio = torch.randn(2, 20000, generator=torch.Generator().manual_seed(3))
    torch.save(audio, tmp_path / "audio.pt")
    script = (
        "import sys, torch\n"
        "from tympan.export import load_exported\n"
        "assert 'tympan.plugins.kaldi' not in sys.modules\n"
        f"pitch = load_exported({str(package)!r})\n"
        f"torch.save(pitch(torch.load({str(tmp_path / 'audio.pt')!r})), {str(tmp_path / 'out.pt')!r})\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    # the same compiled code on the same machine: equal to the package run here, where the plugin is loaded
    assert torch.equal(torch.load(tmp_path / "out.pt"), tympan.load_exported(package)(audio))


def test_files_that_are_no_package_are_refused(tmp_path: Path) -> None:
    (tmp_path / "text.pt2").write_text("hello")
    with zipfile.ZipFile(tmp_path / "empty.pt2", "w") as archive:
        archive.writestr("a/readme.txt", "no model")
    for name, reason in (("missing.pt2", "no such file"), ("text.pt2", "no zip"), ("empty.pt2", "no single")):
        with pytest.raises(ExportedPackageError, match=reason):
            tympan.load_exported(tmp_path / name)


def test_a_pipeline_with_a_data_dependent_step_is_refused_before_tracing(tmp_path: Path) -> None:
    config = tmp_path / "vad.yaml"
    config.write_text("sample_rate: 16000\nsteps:\n  - mfcc: {}\n  - vad: {}\n")
    result = CliRunner().invoke(cli, ["export", str(config), "-o", str(tmp_path / "vad.pt2")])
    assert result.exit_code == 1 and "steps[1].dsp:vad: its output length depends" in result.output
    assert not list(tmp_path.glob("*.pt2"))
    pipe = tympan.Pipeline.from_config(config)
    with pytest.raises(ExportError, match=r"steps\[1\]\.dsp:vad"):
        export_pipeline(pipe, ExportRange())


def test_the_example_file_is_what_is_traced(tmp_path: Path) -> None:
    config = tmp_path / "pipe.yaml"
    config.write_text("sample_rate: 16000\nsteps:\n  - mfcc: {}\n")
    speech = tympan.assets.path("speech")
    shutil.copy(speech, tmp_path / Path(speech).name)
    waveform, _ = tympan.load(tmp_path / Path(speech).name)
    program = export_pipeline(tympan.Pipeline.from_config(config), ExportRange(), waveform)
    assert program.example_inputs[0][0].shape[-1] == waveform.shape[-1]


STREAM_CONFIG = (
    "sample_rate: 16000\nsteps:\n  - sox: {effects: highpass 300 vol 0.8}\n  - kaldi:fbank: {num_mel_bins: 40}\n"
)


def test_options_a_streaming_export_does_not_use_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "front.yaml").write_text(STREAM_CONFIG)
    args = ["export", str(tmp_path / "front.yaml"), "-o", str(tmp_path / "f.pt2"), "--chunk-samples", "480"]
    result = CliRunner().invoke(cli, [*args, "--max-seconds", "10", "--dtype", "float64"])
    assert result.exit_code == 2 and "--max-seconds, --dtype cannot be used with --chunk-samples" in result.output
    assert not (tmp_path / "f.pt2").exists()


def test_tympan_export_of_a_streaming_step_runs_compiled_as_the_offline_pipeline(tmp_path: Path) -> None:
    (tmp_path / "front.yaml").write_text(STREAM_CONFIG)
    package = tmp_path / "front.pt2"
    args = ["export", str(tmp_path / "front.yaml"), "-o", str(package), "--chunk-samples", "480"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "chunks of 480 samples -> 3 outputs, 2 outputs of delay" in result.output
    exported = tympan.load_exported(package)
    pipe = tympan.Pipeline.from_text(STREAM_CONFIG).eval()
    assert isinstance(exported, ExportedStep) and exported.config == pipe.to_config()
    step = streaming_step(pipe, 480)
    assert torch.equal(exported.initial_state(3), step.initial_state(3))
    audio = 0.3 * torch.randn(3, 16000 + 123, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected, truth = pipe(audio), pipe(audio.double())
    actual = run_stream(step, audio, exported)  # chunks sliced out of the signal: not contiguous
    assert actual.shape == expected.shape
    # The log of the mel bands the high-pass empties carries float32 rounding, offline as streamed.
    offline_error = float((expected - truth).abs().max())
    assert float((actual - truth).abs().max()) <= 2 * offline_error + 1e-5
