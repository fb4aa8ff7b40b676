"""Shared test policy.

- In CI (``CI=true``) a skipped test is a failure, so a missing tool cannot pass silently. Tests that need
  a CUDA device carry the ``gpu`` marker; CI machines have none, so ``make test`` deselects them there
  (``-m "not gpu"``) instead of skipping, and they run on a machine with a GPU.
- Every test runs against the installed distributions' entry points, as a user's code would.
- Parallel workers (``pytest -n N``) share the cores: each gets ``cores // N`` of torch's intra-op threads, so
  that small parallel kernels (a 64-point FFT) do not wait on threads that another worker has preempted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI (a missing tool is a failure here): {reason}"


def pytest_configure(config: pytest.Config) -> None:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


#: Parameters for first-party components that need some (required ones, or determinism for batch checks).
COMPONENT_PARAMS = {
    "dsp:inverse_mel_scale": {"n_stft": 201, "n_mels": 40},
    "dsp:griffin_lim": {"rand_init": False, "n_iter": 4},
    "dsp:vol": {"gain": 0.5},
    "dsp:lfilter": {"a_coeffs": [1.0, -0.5], "b_coeffs": [0.5, 0.0]},
    "dsp:filtfilt": {"a_coeffs": [1.0, -0.5], "b_coeffs": [0.5, 0.0]},
    "dsp:sosfilt": {"sos": [[0.2, 0.4, 0.2, 1.0, -0.3, 0.1]]},
    "dsp:biquad": {"b0": 0.2, "b1": 0.4, "b2": 0.2, "a0": 1.0, "a1": -0.3, "a2": 0.1},
    "dsp:lowpass_biquad": {"cutoff_freq": 1000.0},
    "dsp:highpass_biquad": {"cutoff_freq": 1000.0},
    "dsp:allpass_biquad": {"central_freq": 1000.0},
    "dsp:bandpass_biquad": {"central_freq": 1000.0},
    "dsp:bandreject_biquad": {"central_freq": 1000.0},
    "dsp:band_biquad": {"central_freq": 1000.0},
    "dsp:bass_biquad": {"gain": 6.0},
    "dsp:treble_biquad": {"gain": -6.0},
    "dsp:equalizer_biquad": {"center_freq": 1000.0, "gain": 3.0},
    "dsp:deemph_biquad": {"sample_rate": 44100},
    "dsp:riaa_biquad": {"sample_rate": 44100},
    "dsp:dcshift": {"shift": 0.2},
    "dsp:yin": {"frame_length": 1024},
    "dsp:pyin": {"frame_length": 1024, "f_min": 80.0, "f_max": 800.0},
    "dsp:time_stretch": {"fixed_rate": 1.3},
    "dsp:random_time_stretch": {"min_rate": 1.1, "max_rate": 1.1},
    "dsp:pitch_shift": {"n_steps": 2},
    "dsp:speed_perturbation": {"factors": [1.1]},
    "dsp:speed": {"factor": 1.25},
    "dsp:frequency_masking": {"freq_mask_param": 0},
    "dsp:time_masking": {"time_mask_param": 30, "p": 0.0},
    "dsp:spec_augment": {"n_time_masks": 2, "time_mask_param": 10, "n_freq_masks": 2, "freq_mask_param": 10, "p": 0.0},
    "sox:deemph": {"sample_rate": 44100},
    "sox:riaa": {"sample_rate": 44100},
    "sox:earwax": {"sample_rate": 44100},
    "sox:sinc": {"low_pass": 3000.0},
    "sox:fir": {"coefficients": [0.25, 0.5, 0.25]},
    "sox:noisered": {"profile": [[-20.0] * 1025] * 2},
}


@pytest.fixture
def component_params() -> dict[str, dict[str, object]]:
    """Constructor parameters per first-party component name, for tests that build every component.

    The RNN-T decoders search over a model, here a small transducer with torchaudio's interface.
    """
    from tympan.plugins.decoders.rnnt import TinyTransducer

    transducer = {"model": TinyTransducer(features=4, tokens=5), "blank": 0}
    return {
        **COMPONENT_PARAMS,
        "decoder:ctc_beam": {"tokens": ["-", "|", "a", "b", "c"]},
        "decoder:rnnt_greedy": transducer,
        "decoder:rnnt_beam": transducer,
    }


pytest_plugins = ["tympan.testing.pytest_plugin"]


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Miniature corpora made by ``tympan data synth`` (every layout, the ``mini`` preset), made once per session
    for the synthesis and training tests."""
    from tympan.plugins.datasets.synth import CORPORA, PRESETS, synthesize

    root = tmp_path_factory.mktemp("synth")
    synthesize(root, list(CORPORA), progress=False, **PRESETS["mini"])
    return root


@pytest.fixture
def two_threads() -> Iterator[None]:
    """The test starts from two intra-op threads and leaves the caller's count as it found it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def switches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every count ``torch.set_num_threads`` is called with while the test runs."""
    import torch

    calls: list[int] = []
    original = torch.set_num_threads

    def recording(count: int) -> None:
        calls.append(count)
        original(count)

    monkeypatch.setattr(torch, "set_num_threads", recording)
    return calls
