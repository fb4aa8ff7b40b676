"""The CPU cores this process may run on.

Example:
    >>> usable_cores() >= 1
    True
"""

from __future__ import annotations

import os

__all__ = ["loader_workers", "usable_cores"]


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (as ``taskset`` or a container's cpuset sets it),
    or every core of the machine where the platform has no affinity.

    Example:
        >>> 1 <= usable_cores() <= (os.cpu_count() or 1)
        True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no affinity on this platform
        return os.cpu_count() or 1


def loader_workers(requested: int) -> int:
    """The data-loader worker processes to start for ``requested``: at most one per usable core, none for 0.

    Example:
        >>> loader_workers(0), loader_workers(1), loader_workers(10_000) == usable_cores()
        (0, 1, True)
    """
    return min(requested, usable_cores())
