"""How the DSP entry points use the per-call thread choice (:mod:`tympan.core.threads`): small calls run on one
thread with the same output as on the configured count, a nested entry point keeps the outer choice, the
filters' compiled loops choose nothing, and traced, compiled, exported and scripted code never switches.
Nothing here is timed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

import tympan.functional as F
import tympan.transforms as T
from tympan.core import threads as _threads
from tympan.core.threads import ONE_THREAD_BELOW

pytestmark = pytest.mark.usefixtures("two_threads")


def _resample(x: torch.Tensor) -> torch.Tensor:
    return F.resample(x, 44100, 16000, **F.HIGH_QUALITY_RESAMPLING)


_LOWPASS = (torch.tensor([1.0, -1.8, 0.81]), torch.tensor([0.01, 0.02, 0.01]))


def _lowpass(x: torch.Tensor) -> torch.Tensor:
    return F.lfilter(x, *_LOWPASS, clamp=False)


CALLS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "MelSpectrogram": T.MelSpectrogram(n_mels=40),
    "MFCC": T.MFCC(n_mfcc=13, melkwargs={"n_mels": 40}),
    "LFCC": T.LFCC(n_lfcc=13),
    "Spectrogram": T.Spectrogram(),
    "Resample": T.Resample(44100, 16000),
    "LowpassBiquad": T.LowpassBiquad(44100, 1000.0),
    "Filtfilt": T.Filtfilt([1.0, -0.5], [0.5, 0.0]),
    "spectrogram": lambda x: F.spectrogram(x, 0, torch.hann_window(400), 400, 160, 400, 2.0, False),
    "mel_spectrogram": lambda x: F.mel_spectrogram(x, n_mels=40),
    "mfcc": lambda x: F.mfcc(x, n_mfcc=13, melkwargs={"n_mels": 40}),
    "resample": _resample,
    "lfilter": _lowpass,
    "sosfilt": lambda x: F.sosfilt(x, torch.tensor([[0.01, 0.02, 0.01, 1.0, -1.8, 0.81]] * 2)),
    "lowpass_biquad": lambda x: F.lowpass_biquad(x, 44100, 1000.0),
}


#: The filters: without gradients they run a compiled loop on one thread and choose nothing; with them (as
#: here) the block recursion, a float32 matrix product that MKL blocks differently for each thread count, so
#: their float32 output may differ by rounding between counts. In float64 they are exact.
FILTERS = {"Filtfilt", "LowpassBiquad", "lfilter", "lowpass_biquad", "sosfilt"}


def _same_on_either_count(name: str, dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch, switches: list[int]) -> None:
    x = (0.1 * torch.randn(2, 20000, generator=torch.Generator().manual_seed(0))).to(dtype)
    x.requires_grad_(name in FILTERS)
    narrowed = CALLS[name](x).detach()
    assert switches[:2] == [1, 2] and torch.get_num_threads() == 2
    monkeypatch.setattr(_threads, "call_threads", lambda work: torch.get_num_threads())
    configured = CALLS[name](x).detach()
    if dtype == torch.float32 and name in FILTERS:
        # Tolerance: 4 float32 ulps of the output's peak.
        torch.testing.assert_close(configured, narrowed, rtol=0, atol=4 * 1.2e-7 * float(narrowed.abs().max()))
    else:
        torch.testing.assert_close(configured, narrowed, rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_entry_points_run_small_calls_on_one_thread_with_the_same_output(
    name: str, dtype: torch.dtype, switches: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Exact, except float32 filters (see FILTERS): the other operations on these paths split over output
    # elements, so the thread count cannot change their rounding.
    _same_on_either_count(name, dtype, monkeypatch, switches)


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_filters_without_gradients_run_their_loop_and_choose_nothing(name: str, switches: list[int]) -> None:
    CALLS[name](0.1 * torch.randn(2, 20000, generator=torch.Generator().manual_seed(0)))
    assert switches == []


def test_a_nested_entry_point_keeps_the_outer_choice(monkeypatch: pytest.MonkeyPatch, switches: list[int]) -> None:
    chosen: list[int] = []

    def counting(work: torch.Tensor) -> int:
        chosen.append(work.numel())
        return 1

    monkeypatch.setattr(_threads, "call_threads", counting)
    F.mfcc(torch.zeros(1, 4 * ONE_THREAD_BELOW), n_mfcc=13, melkwargs={"n_mels": 40})  # calls mel_spectrogram
    assert chosen == [4 * ONE_THREAD_BELOW] and switches == [1, 2]


def test_traced_and_scripted_calls_never_switch(switches: list[int]) -> None:
    x = 0.1 * torch.randn(1, 8000, generator=torch.Generator().manual_seed(1))
    mel = T.MelSpectrogram(n_mels=40)
    references = (_resample(x), mel(x), _lowpass(x))
    switches.clear()
    traced = torch.jit.trace(_resample, (x,), check_trace=False)  # a check would rerun it eagerly
    scripted_module = torch.jit.script(mel)
    scripted_function = torch.jit.script(F.lfilter)
    outputs = (traced(x), scripted_module(x), scripted_function(x, *_LOWPASS, False, True))
    assert switches == []
    # Tolerance: float32 rounding (the graphs run on the configured count, the eager references on one).
    for output, reference in zip(outputs, references, strict=True):
        torch.testing.assert_close(output, reference, rtol=1e-5, atol=1e-6)


def test_compiled_and_exported_modules_never_switch(switches: list[int]) -> None:
    # fullgraph: a call of torch.set_num_threads inside the graph would break it.
    x = 0.1 * torch.randn(1, 8000, generator=torch.Generator().manual_seed(2))
    module = T.MelSpectrogram(n_mels=40)
    eager = module(x)
    switches.clear()
    compiled = torch.compile(module, fullgraph=True, backend="eager")(x)
    exported = torch.export.export(module, (x,)).module()(x)
    assert switches == []
    torch.testing.assert_close(compiled, eager)
    torch.testing.assert_close(exported, eager)
