"""Loops compiled with numba, for the recursions no tensor operation expresses (each step needs the last).

numba is imported when a loop is first compiled, not with tympan. The machine code is kept on disk where
numba finds a writable place (the module's ``__pycache__``, else the user's cache directory, or
``NUMBA_CACHE_DIR``), so that later processes load it instead of compiling again (an editable or source
install therefore gains ``.nbi`` and ``.nbc`` files in its source folders' ``__pycache__``); where no place is
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

import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["compiled", "compiled_lazily"]


def _fastmath(fused: bool) -> set[str]:
    """numba's ``fastmath`` flags: with ``fused``, contraction of a product and a sum into one fused multiply-add."""
    return {"contract"} if fused else set()


def compiled(function: Callable[..., Any], fused: bool = False, nogil: bool = False) -> Any:
    """``function`` compiled by ``numba.njit`` for the types of its first call's arguments (and again for
    other types), cached on disk where a writable place exists (see the module); ``fused``: a product
    followed by a sum may run as one fused multiply-add (rounded once instead of twice; no other change
    to IEEE arithmetic), which shortens a chain of dependent steps; ``nogil``: the compiled code releases
    the GIL, so that calls from several threads run at once.

    Example:
        >>> import numpy as np
        >>> def total(values):
        ...     result = 0.0
        ...     for value in values:
        ...         result += value
        ...     return result
        >>> compiled(total)(np.array([0.5, 1.5, 2.0]))
        4.0
    """
    import numba

    fastmath = _fastmath(fused)
    try:
        return numba.njit(cache=True, fastmath=fastmath, nogil=nogil)(function)
    except RuntimeError as error:
        if "no locator available" not in str(error):  # numba found no writable cache directory
            raise
        return numba.njit(cache=False, fastmath=fastmath, nogil=nogil)(function)


def compiled_lazily(
    function: Callable[..., Any], helpers: Sequence[Callable[..., Any]] = (), fused: bool = False, nogil: bool = False
) -> Callable[[], Any]:
    """A function returning :func:`compiled` ``function``, compiling it at its first call only (once, whichever
    threads call it); ``helpers`` are plain functions the compiled code calls, registered with numba first
    (and, with ``fused``, compiled as :func:`compiled` says; ``nogil`` as it says too).

    Example:
        >>> import numpy as np
        >>> def doubled(values, out):
        ...     for n in range(values.shape[0]):
        ...         out[n] = 2 * values[n]
        >>> kernel = compiled_lazily(doubled)
        >>> out = np.empty(2)
        >>> kernel()(np.array([1.0, 2.5]), out)
        >>> out.tolist()
        [2.0, 5.0]
    """
    made: list[Any] = []
    lock = threading.Lock()

    def kernel() -> Any:
        with lock:
            if not made:
                if helpers:
                    from numba.extending import register_jitable

                    for helper in helpers:
                        register_jitable(fastmath=_fastmath(fused))(helper)
                made.append(compiled(function, fused, nogil))
            return made[0]

    return kernel
