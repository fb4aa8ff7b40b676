"""Bounds for feeding crafted input to code under test: a wall-clock alarm and an address-space cap.

A fuzzer or a corpus of crafted files must learn that an input made the code hang or allocate without limit,
not hang or exhaust the machine itself. :func:`time_limit` interrupts Python code after a number of seconds
with :class:`TimeLimitExceeded` (a ``BaseException``, so that code catching ``Exception`` cannot swallow it);
:func:`memory_limit` caps the process's address space a margin above what it maps already, so that a huge
allocation fails as ``MemoryError`` (or torch's "can't allocate memory") instead of reaching the machine's
limit. Both are restored on leaving. They rely on ``SIGALRM`` and ``RLIMIT_AS``: Unix, main thread.

Example:
    >>> with time_limit(5.0), memory_limit(256 << 20):
    ...     sum(range(10))
    45
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

__all__ = ["TimeLimitExceeded", "memory_limit", "time_limit"]


class TimeLimitExceeded(BaseException):
    """Raised by :func:`time_limit`'s alarm when the code inside runs past its seconds.

    Example:
        >>> issubclass(TimeLimitExceeded, Exception)
        False
    """


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in the code inside after ``seconds`` of wall-clock time (``SIGALRM``,
    main thread only); the previous handler and timer are restored on leaving.

    Example:
        >>> import time
        >>> try:
        ...     with time_limit(0.05):
        ...         time.sleep(1)
        ... except TimeLimitExceeded as exc:
        ...     print(exc)
        interrupted after 0.05 s
    """

    def interrupt(signum: int, frame: object) -> None:
        raise TimeLimitExceeded(f"interrupted after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _mapped_bytes() -> int:
    import resource

    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def memory_limit(extra_bytes: int) -> Iterator[None]:
    """Cap the address space (``RLIMIT_AS``) at ``extra_bytes`` above what the process maps on entering (never
    above the hard limit); the previous limit is restored on leaving. Linux (it reads ``/proc/self/statm``).

    Example:
        >>> try:
        ...     with memory_limit(64 << 20):
        ...         bytearray(1 << 30)
        ... except MemoryError:
        ...     print("refused")
        refused
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _mapped_bytes() + extra_bytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
