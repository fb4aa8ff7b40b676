"""The buffer budget: what a component may allocate at construction, checked before it allocates.

Parameters inside their declared bounds can still combine into a buffer of gigabytes (an ``n_fft`` of 2**20
with 4096 mel bands, a resampling kernel sized by an odd ratio). A component whose buffers derive from
several parameters computes their size first and calls :func:`check_buffer_bytes`, which raises
:class:`~tympan.core.errors.InvalidParameterError` naming the parameters and the size they imply when it
exceeds :func:`max_buffer_bytes`: ``TYMPAN_MAX_BUFFER_BYTES`` (bytes, or with a ``K``/``M``/``G`` suffix),
512 MiB by default.

Example:
    >>> check_buffer_bytes("dsp:mel_scale", {"n_stft": 201, "n_mels": 80}, 201 * 80 * 4)
    >>> check_buffer_bytes("dsp:mel_scale", {"n_stft": 524288, "n_mels": 4096}, 524288 * 4096 * 4)
    Traceback (most recent call last):
    ...
    tympan.core.errors.InvalidParameterError: invalid parameters for dsp:mel_scale:
      n_stft=524288, n_mels=4096: imply 8.0 GiB of buffers, over the budget of 512.0 MiB (TYMPAN_MAX_BUFFER_BYTES)

This module imports neither torch nor pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from tympan.core.errors import InvalidParameterError, SettingError

__all__ = ["BUDGET_VARIABLE", "DEFAULT_MAX_BUFFER_BYTES", "check_buffer_bytes", "format_bytes", "max_buffer_bytes"]

#: The environment variable that sets the budget.
BUDGET_VARIABLE = "TYMPAN_MAX_BUFFER_BYTES"

#: The budget when the variable is unset: 512 MiB.
DEFAULT_MAX_BUFFER_BYTES = 512 << 20

_SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def max_buffer_bytes() -> int:
    """The budget in bytes: ``TYMPAN_MAX_BUFFER_BYTES`` when set (``268435456``, ``256M``, ``1G``), else 512 MiB.

    Raises :class:`~tympan.core.errors.SettingError` (a ``ValueError``) naming the variable when its value is not
    a positive size.

    Example:
        >>> max_buffer_bytes() >= 1
        True
    """
    raw = os.environ.get(BUDGET_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_BUFFER_BYTES
    scale = _SUFFIXES.get(raw[-1].upper(), 1)
    digits = raw[:-1] if raw[-1].upper() in _SUFFIXES else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20 or int(digits) == 0:
        raise SettingError(BUDGET_VARIABLE, raw, "a positive size: bytes, or a number with K, M, G or T")
    return int(digits) * scale


def format_bytes(size: float) -> str:
    """A size in the largest binary unit that keeps it at least 1.

    Example:
        >>> format_bytes(3 << 30), format_bytes(1000)
        ('3.0 GiB', '1000 B')
    """
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{int(size)} B"


def check_buffer_bytes(component: str, parameters: Mapping[str, object], nbytes: float, what: str = "buffers") -> None:
    """Raise ``InvalidParameterError`` when ``parameters`` imply ``nbytes`` of ``what``, over the budget.

    ``component`` is the qualified name the error shows; ``parameters`` are the values the size derives
    from, named as the user wrote them; ``what`` says what the bytes are (``"buffers"``, or the output even
    the shortest input gets, for parameters such as padding that enlarge every output).

    Example:
        >>> check_buffer_bytes("dsp:spectrogram", {"n_fft": 400}, 400 * 4)
    """
    budget = max_buffer_bytes()
    if nbytes <= budget:
        return
    named = ", ".join(f"{name}={value!r}" for name, value in parameters.items())
    over = f"over the budget of {format_bytes(budget)} ({BUDGET_VARIABLE})"
    raise InvalidParameterError(component, [f"{named}: imply {format_bytes(nbytes)} of {what}, {over}"])
