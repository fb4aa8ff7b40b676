"""The per-call choice of intra-op threads: what it chooses, that it restores the caller's count exactly (on
errors, when nested, per Python thread), that traced, compiled, exported and scripted code never sees it, and
that outputs are the same bit for bit on either count. Nothing here is timed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
import torch

import tympan.functional as F
import tympan.transforms as T
from tympan.core import threads as _threads
from tympan.core.threads import ONE_THREAD_BELOW, call_threads, free_cores, intra_op_threads

SMALL = torch.zeros(2, 20000)  # above torch's grain size (32768 elements), below ONE_THREAD_BELOW
LARGE = torch.zeros(ONE_THREAD_BELOW)


@pytest.fixture(autouse=True)
def two_threads() -> Iterator[None]:
    """Every test starts from two intra-op threads and leaves the caller's count as it found it."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def switches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every count ``torch.set_num_threads`` is called with while the test runs."""
    calls: list[int] = []
    original = torch.set_num_threads

    def recording(count: int) -> None:
        calls.append(count)
        original(count)

    monkeypatch.setattr(torch, "set_num_threads", recording)
    return calls


@pytest.fixture
def quiet_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 1)


def _inside(work: object) -> int:
    with intra_op_threads(work):
        return torch.get_num_threads()


def test_a_small_call_runs_on_one_thread_and_restores_the_count() -> None:
    assert _inside(SMALL) == 1 and torch.get_num_threads() == 2
    torch.set_num_threads(3)
    assert _inside(SMALL) == 1 and torch.get_num_threads() == 3


@pytest.mark.usefixtures("quiet_machine")
def test_a_large_call_on_a_quiet_machine_keeps_the_configured_count(switches: list[int]) -> None:
    assert _inside(LARGE) == 2 and switches == []


def test_a_large_call_gets_the_cores_other_processes_leave(monkeypatch: pytest.MonkeyPatch) -> None:
    # 8 cores; 6 runnable threads of which this process's own is 1 (the caller): 5 others leave 3 cores.
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 6)
    monkeypatch.setattr(_threads, "_own_runnable_threads", lambda: 1)
    assert free_cores(6) == 3 and free_cores(2) == 2
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 20)
    assert free_cores(6) == 1
    torch.set_num_threads(6)
    assert call_threads(LARGE) == 1 and _inside(LARGE) == 1 and torch.get_num_threads() == 6


def test_a_process_bound_to_some_cores_counts_its_share_of_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    # 16 cores, this process bound to 4 of them (taskset, a cpuset), 9 runnable threads: the caller and 8
    # others, of which a quarter (2) are taken to share this process's cores.
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 16)
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {4, 5, 6, 7}, raising=False)
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 9)
    monkeypatch.setattr(_threads, "_own_runnable_threads", lambda: 1)
    assert free_cores(16) == 2 and free_cores(4) == 2 and free_cores(2) == 2
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 1)  # a quiet machine: the 4 cores, never 16
    assert free_cores(16) == 4
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 40)
    assert free_cores(4) == 1


def test_deterministic_algorithms_choose_by_size_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 100)
    assert call_threads(LARGE) == 1
    torch.use_deterministic_algorithms(True)
    try:
        assert call_threads(LARGE) == 2 and call_threads(SMALL) == 1
    finally:
        torch.use_deterministic_algorithms(False)


def test_own_spinning_workers_are_not_counted_as_other_load(monkeypatch: pytest.MonkeyPatch) -> None:
    # 2 cores; 2 runnable threads, both this process's (the caller and a worker still spinning).
    monkeypatch.setattr(_threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(_threads, "_runnable_threads", lambda: 2)
    monkeypatch.setattr(_threads, "_own_runnable_threads", lambda: 2)
    assert free_cores(2) == 2


def test_the_machine_counts_are_read() -> None:
    # Linux: the caller itself is runnable while it reads the machine's count.
    assert _threads._runnable_threads() >= 1


def test_the_count_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError, match="inside"), intra_op_threads(SMALL):
        assert torch.get_num_threads() == 1
        raise RuntimeError("inside")
    assert torch.get_num_threads() == 2


def test_nested_calls_switch_once(switches: list[int]) -> None:
    with intra_op_threads(SMALL):
        assert _inside(SMALL) == 1 and _inside(LARGE) == 1
    assert switches == [1, 2] and torch.get_num_threads() == 2


def test_one_thread_already_changes_nothing(switches: list[int]) -> None:
    torch.set_num_threads(1)
    switches.clear()
    assert _inside(SMALL) == 1 and _inside(LARGE) == 1 and switches == []


def test_inputs_off_the_cpu_change_nothing(switches: list[int]) -> None:
    assert _inside(torch.zeros(4, device="meta")) == 2 and _inside(None) == 2 and switches == []


def test_python_threads_keep_their_own_counts() -> None:
    # With torch's OpenMP backend each OS thread has its own count once it has started (torch gives a thread
    # the count last set in any thread at its first query or parallel operation); calls in one thread never
    # change another's.
    start, failures = threading.Barrier(2), []

    def run(count: int) -> None:
        torch.get_num_threads()
        torch.set_num_threads(count)
        start.wait()
        for _ in range(200):
            F.mel_spectrogram(SMALL, n_mels=40)
            if torch.get_num_threads() != count:
                failures.append(count)

    workers = [threading.Thread(target=run, args=(count,)) for count in (2, 3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == [] and torch.get_num_threads() == 2


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
