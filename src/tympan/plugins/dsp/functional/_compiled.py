"""Loops compiled with numba, for the recursions no tensor operation expresses (each step needs the last).

numba is imported when a loop is first compiled, not with tympan. The machine code is kept on disk where
numba finds a writable place (the module's ``__pycache__``, else the user's cache directory, or
``NUMBA_CACHE_DIR``), so that later processes load it instead of compiling again; where no place is
writable (a read-only installation and home directory), each process compiles it on first use.

Example:
    >>> import numpy as np
    >>> def running_max(values, out):
    ...     out[0] = values[0]
    ...     for n in range(1, values.shape[0]):
    ...         out[n] = max(out[n - 1], values[n])
    >>> out = np.empty(4)
    >>> compiled(running_max)(np.array([1.0, 3.0, 2.0, 5.0]), out)
    >>> out.tolist()
    [1.0, 3.0, 3.0, 5.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["compiled"]


def compiled(function: Callable[..., Any]) -> Any:
    """``function`` compiled by ``numba.njit`` for the types of its first call's arguments (and again for
    other types), cached on disk where a writable place exists (see the module)."""
    import numba

    try:
        return numba.njit(cache=True)(function)
    except RuntimeError:  # numba found no writable cache directory ("no locator available")
        return numba.njit(cache=False)(function)
