"""Freed memory kept in the C heap, so that repeated calls do not fault their temporaries in again.

glibc's ``malloc`` hands the free memory at the top of a heap back to the operating system once it passes a
threshold, keeping a pad of 128 KiB, and serves a request above its mmap threshold (128 KiB at first, rising
with the largest block freed, up to 32 MiB) with fresh pages of its own, unmapped again when freed. A features
call of 10 s allocates and frees a few MB of temporaries; whenever they come from trimmed or fresh pages, every
call faults them in again, and its time depends on the state the process's heap happens to be in:
``mel_spectrogram`` of 1 x 10 s took 0.68 to 0.86 ms in some processes and 2.05 ms in others, and of 16 x 10 s
on one thread 15 to 21 ms in four processes of five and 30 ms in the fifth (``python -m benchmarks --only
features``, idle 2-core machine). :func:`keep_heap_memory` therefore sets, once per process, when the first
call runs under :class:`~tympan.core.threads.intra_op_threads` on the CPU (the DSP plugin's features,
resampling and filters, the RNN-T searches):

- the heap-top pad (``M_TOP_PAD``, the environment's ``MALLOC_TOP_PAD_``) to :data:`HEAP_TOP_PAD`, 64 MiB:
  0.74 to 0.79 ms for the first case in every process;
- the mmap threshold (``M_MMAP_THRESHOLD``, ``MALLOC_MMAP_THRESHOLD_``) to :data:`MMAP_THRESHOLD`, 32 MiB, the
  most that glibc's own rising threshold reaches: 17.9 to 19.5 ms for the second in six processes of six.

A process keeps at most 64 MiB more freed memory at a heap's top than glibc's default would, and blocks of up to
32 MiB come from the heap from the start. A setting that the environment gives stands; elsewhere than glibc
nothing changes.

Example:
    >>> set(keep_heap_memory()) <= {"M_TOP_PAD", "M_MMAP_THRESHOLD"}
    True
"""

from __future__ import annotations

import ctypes
import functools
import os

__all__ = ["HEAP_TOP_PAD", "MMAP_THRESHOLD", "keep_heap_memory"]

#: Bytes of freed memory kept at the top of each heap.
HEAP_TOP_PAD = 64 << 20
#: Requests of up to this many bytes come from the heap.
MMAP_THRESHOLD = 32 << 20
#: mallopt's parameter numbers in glibc's malloc.h, with the environment variable that sets each.
_PARAMETERS = {
    "M_TOP_PAD": (-2, "MALLOC_TOP_PAD_", HEAP_TOP_PAD),
    "M_MMAP_THRESHOLD": (-3, "MALLOC_MMAP_THRESHOLD_", MMAP_THRESHOLD),
}


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):  # not a name this platform knows
        return False


@functools.cache
def keep_heap_memory() -> tuple[str, ...]:
    """Set glibc's heap-top pad and mmap threshold (those the environment does not set); the names set.

    Example:
        >>> keep_heap_memory() == keep_heap_memory()  # once per process
        True
    """
    if not _glibc():
        return ()
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return ()
    return tuple(
        name
        for name, (number, variable, value) in _PARAMETERS.items()
        if variable not in os.environ and mallopt(number, value)
    )
