"""Intra-op threads chosen per call, by the size of the work and the cores free for it.

torch splits an operation over its intra-op threads (``torch.get_num_threads()``) when the operation is
larger than its grain size, and joins them at the end of the operation. A spectrogram, a resampling or a
filter call is a few dozen such operations, each waiting for its slowest thread: when another process holds
a core (a data loader's workers, a training job), a descheduled thread holds up every join while the other
spins waiting for it (GNU OpenMP's wait policy, fixed when torch loads it), and a mel spectrogram of 1 x 10 s
that took 2.4 ms on one thread took 37.6 ms on two (``python -m benchmarks.threads_by_size``, 2 cores shared
with other jobs). :func:`call_threads` therefore gives a call

- one thread when its input holds fewer than :data:`ONE_THREAD_BELOW` samples (all channels together): the
  joins cost more than a second thread saves;
- otherwise torch's configured count, lowered to the cores that no other process's runnable thread is using
  (at least one), of those the process may run on (its CPU affinity). GNU OpenMP's dynamic mode
  (``OMP_DYNAMIC``) does the same with the load average; this reads the number of runnable threads now
  (Linux's ``/proc/loadavg``) less this process's own, so a call sees the machine as it is when it starts.
  Elsewhere, or if the count cannot be read, no core is assumed taken.

:class:`intra_op_threads` applies the choice to a block with ``torch.set_num_threads`` and restores the
count on the way out, exactly, whatever the block raises. Its first use also keeps freed memory in
the C heap (:func:`~tympan.core.heap.keep_heap_memory`). It changes nothing when:

- the input is not a CPU tensor (a GPU or ``meta`` tensor, or ``torch.fx``'s symbolic proxy);
- the code is being traced, compiled or exported (``torch.compile``, ``torch.export``, ``torch.jit.trace``):
  a graph must neither depend on nor record a setting of the process. TorchScript never runs this code: the
  entry points return through their scripted path first, and a scripted module runs ``forward`` itself;
- a choice is already in force in the calling Python thread (a nested entry point, such as an MFCC's mel
  spectrogram, keeps the outer call's count without reading the machine again), or the count is one already
  (workers that run on one thread: tympan's data loader and corpus jobs set one per worker).

With torch's OpenMP backend (its CPU wheels') the count belongs to the calling OS thread: calls from several
Python threads each change and restore their own. ``torch.set_num_threads`` also records the count that a
thread takes at its first parallel operation or query of the count, so a thread doing that while another
thread's call runs narrowed starts with the narrowed count (set the count in that thread to choose it).

Choosing and switching cost a few microseconds a call: a pair of ``torch.set_num_threads`` calls about 1 us,
reading the runnable count about 10 us, and the process's own threads about 50 us more when the machine
looks busy. The result of a call is the one torch computes on the count chosen: the same bit for bit for
most shapes, but MKL's FFTs and float32 matrix products may round differently on one thread and on several
(a few float32 ulps), as they do for any change of ``torch.set_num_threads``. With
``torch.use_deterministic_algorithms(True)`` the choice depends on the size alone, never on the load, so
that a call gives the same bits from run to run.

Example:
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with intra_op_threads(torch.zeros(16000)):
    ...     inside = torch.get_num_threads()
    >>> inside, torch.get_num_threads() == before
    (1, True)
"""

from __future__ import annotations

import os
import threading
from types import TracebackType
from typing import Any, TypeGuard

import torch

from tympan.core.cores import usable_cores
from tympan.core.heap import keep_heap_memory
from tympan.core.tracing import recorded

__all__ = ["ONE_THREAD_BELOW", "IntraOpThreadsModule", "call_threads", "free_cores", "intra_op_threads"]

#: Whether a choice is in force in this Python thread (a nested call keeps it).
_CHOOSING = threading.local()

#: Input samples (all channels) below which a call runs on one intra-op thread, whatever the machine.
ONE_THREAD_BELOW = 1 << 16


def _runnable_threads() -> int:
    """Threads runnable on the whole machine now (the caller included); 0 when unknown."""
    try:
        with open("/proc/loadavg", "rb") as f:
            return int(f.read().split()[3].split(b"/")[0])
    except (OSError, ValueError, IndexError):
        return 0


def _own_runnable_threads() -> int:
    """This process's runnable threads (the caller included, and torch's workers still spinning)."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for task in tasks:
        try:
            with open(f"/proc/self/task/{task}/stat", "rb") as f:
                stat = f.read()
        except OSError:  # the thread ended meanwhile
            continue
        state = stat.rindex(b")") + 2  # the state follows the command name, which may hold spaces
        count += stat[state : state + 1] == b"R"
    return max(count, 1)


def free_cores(wanted: int) -> int:
    """How many of ``wanted`` threads find a core that no other process's runnable thread is using (>= 1).

    The cores are those this process may run on (its CPU affinity). The runnable count is the whole
    machine's; when the process may run on part of the machine, the others' threads are taken as spread
    evenly over its cores, and their share of this process's cores is counted.

    Example:
        >>> 1 <= free_cores(2) <= 2
        True
    """
    machine = os.cpu_count() or wanted
    usable = min(machine, usable_cores())
    share = usable / machine
    running = _runnable_threads()
    if (running - 1) * share <= usable - wanted:  # even counting all of ours as others', enough cores are free
        return wanted
    others = running - _own_runnable_threads()
    return max(1, min(wanted, usable - int(others * share + 0.5)))


def call_threads(work: torch.Tensor) -> int:
    """The intra-op threads a call on the CPU tensor ``work`` gets (see the module docstring).

    Example:
        >>> call_threads(torch.zeros(100))
        1
    """
    configured = torch.get_num_threads()
    if configured == 1 or work.numel() < ONE_THREAD_BELOW:
        return 1
    if torch.are_deterministic_algorithms_enabled():  # the count must not vary from run to run
        return configured
    return free_cores(configured)


def _applies(work: object) -> TypeGuard[torch.Tensor]:
    """Whether a thread count may be chosen for a call on ``work``. Traced, the size would be symbolic and
    comparing it would make the graph depend on it, so tracing is checked before anything reads it."""
    if not isinstance(work, torch.Tensor) or not work.is_cpu:
        return False
    return not recorded()


class intra_op_threads:  # noqa: N801 - a context manager, named as functions are
    """Run the block on :func:`call_threads` intra-op threads when ``work`` (the call's input) is a CPU
    tensor and nothing is being traced; the calling thread's count is restored on exit, also when the block
    raises.

    Example:
        >>> import torch
        >>> with intra_op_threads(torch.zeros(8, device="meta")):  # not on the CPU: left alone
        ...     torch.get_num_threads() >= 1
        True
    """

    __slots__ = ("_before", "_chosen", "_outermost")

    def __init__(self, work: object) -> None:
        # Nothing of torch's thread state is read unless it applies: a compiler cannot trace that. Within an
        # outer choice (an MFCC's mel spectrogram, a filter's sections) the outer one stands.
        self._before = self._chosen = 0
        self._outermost = False
        if not getattr(_CHOOSING, "active", False) and _applies(work):
            self._outermost = True
            keep_heap_memory()
            self._before, self._chosen = torch.get_num_threads(), call_threads(work)

    def __enter__(self) -> None:
        if self._outermost:
            _CHOOSING.active = True
        if self._chosen != self._before:
            torch.set_num_threads(self._chosen)

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._chosen != self._before:
            torch.set_num_threads(self._before)
        if self._outermost:
            _CHOOSING.active = False


class IntraOpThreadsModule(torch.nn.Module):
    """A module whose calls run under :class:`intra_op_threads` of their first argument (the input).

    Only the Python call is wrapped: TorchScript runs ``forward`` itself, and a traced or compiled call leaves
    the thread count alone.

    Example:
        >>> import torch
        >>> class Double(IntraOpThreadsModule):
        ...     def forward(self, x: torch.Tensor) -> torch.Tensor:
        ...         return 2 * x
        >>> Double()(torch.ones(2)).tolist()
        [2.0, 2.0]
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with intra_op_threads(args[0] if args else None):
            return super().__call__(*args, **kwargs)
