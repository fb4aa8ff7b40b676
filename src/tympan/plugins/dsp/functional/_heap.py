"""Freed memory kept at the top of the C heap, so that repeated calls do not fault their pages in again.

glibc's ``malloc`` hands the free memory at the top of a heap back to the operating system once it passes a
threshold, keeping a pad of 128 KiB. A spectrogram of 10 s allocates and frees a few MB of temporaries per
call; when the heap top is trimmed between calls, every call faults those pages in again, and its time
depends on the state the process's heap happens to be in: ``mel_spectrogram`` of 1 x 10 s took 0.68 to 0.86 ms
in some processes and 2.05 ms in others (``python -m benchmarks --only features``, one process each, idle
2-core machine). With a pad of 64 MiB (glibc's ``M_TOP_PAD``, which the environment variable ``MALLOC_TOP_PAD_``
also sets) it took 0.68 to 0.72 ms in every process. :func:`keep_heap_top` sets that pad once per process, when
the first features, resampling or filter call runs on the CPU; a process keeps at most 64 MiB more of freed
memory than glibc's default would. Where ``MALLOC_TOP_PAD_`` is set, its value stands; elsewhere than glibc
nothing changes.

Example:
    >>> keep_heap_top() in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import functools
import os

__all__ = ["HEAP_TOP_PAD", "keep_heap_top"]

#: Bytes of freed memory kept at the top of each heap.
HEAP_TOP_PAD = 64 << 20
_M_TOP_PAD = -2  # mallopt's parameter number in glibc's malloc.h


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):  # not a name this platform knows
        return False


@functools.cache
def keep_heap_top() -> bool:
    """Set glibc's heap-top pad to :data:`HEAP_TOP_PAD` unless ``MALLOC_TOP_PAD_`` is set; whether it was set.

    Example:
        >>> keep_heap_top() == keep_heap_top()  # once per process
        True
    """
    if "MALLOC_TOP_PAD_" in os.environ or not _glibc():
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_TOP_PAD, HEAP_TOP_PAD))
    except (OSError, AttributeError):
        return False
