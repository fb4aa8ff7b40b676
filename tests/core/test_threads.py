"""The per-call choice of intra-op threads: what it chooses, and that it restores the caller's count exactly
(on errors, when nested, per Python thread). How the DSP entry points use it is tested with them
(``tests/plugins/dsp/test_threads.py``). Nothing here is timed."""

from __future__ import annotations

import threading

import pytest
import torch

from tympan.core import threads as _threads
from tympan.core.threads import ONE_THREAD_BELOW, call_threads, free_cores, intra_op_threads

SMALL = torch.zeros(2, 20000)  # above torch's grain size (32768 elements), below ONE_THREAD_BELOW
LARGE = torch.zeros(ONE_THREAD_BELOW)
pytestmark = pytest.mark.usefixtures("two_threads")


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
            _inside(SMALL)  # one thread inside, then this thread's count again
            if torch.get_num_threads() != count:
                failures.append(count)

    workers = [threading.Thread(target=run, args=(count,)) for count in (2, 3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert failures == [] and torch.get_num_threads() == 2
