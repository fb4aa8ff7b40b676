"""The buffer budget: what a component may allocate at construction, checked before it allocates.

Parameters inside their declared bounds can still combine into a buffer of gigabytes (an ``n_fft`` of 2**20
with 4096 mel bands, a resampling kernel sized by an odd ratio). A component whose buffers derive from
several parameters computes their size first and calls :func:`check_buffer_bytes`, which raises
:class:`~tympan.core.errors.InvalidParameterError` naming the parameters and the size they imply when it
exceeds :func:`max_buffer_bytes`: ``TYMPAN_MAX_BUFFER_BYTES`` (bytes, or with a ``K``/``M``/``G`` suffix),
512 MiB by default.

A model's weights are the same risk at a larger scale (an ``encoder_embed_dim`` of 10**5 asks for terabytes):
model constructors count their weights before allocating them and call :func:`check_weight_bytes`, whose
budget is ``TYMPAN_MAX_WEIGHT_BYTES``, 16 GiB by default (the largest published speech models fit).

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

__all__ = [
    "BUDGET_VARIABLE",
    "DEFAULT_MAX_BUFFER_BYTES",
    "DEFAULT_MAX_WEIGHT_BYTES",
    "WEIGHT_BUDGET_VARIABLE",
    "check_buffer_bytes",
    "check_weight_bytes",
    "format_bytes",
    "max_buffer_bytes",
    "max_weight_bytes",
]

#: The environment variable that sets the budget.
BUDGET_VARIABLE = "TYMPAN_MAX_BUFFER_BYTES"

#: The budget when the variable is unset: 512 MiB.
DEFAULT_MAX_BUFFER_BYTES = 512 << 20

#: The environment variable that sets the budget of a model's weights.
WEIGHT_BUDGET_VARIABLE = "TYMPAN_MAX_WEIGHT_BYTES"

#: The weight budget when its variable is unset: 16 GiB.
DEFAULT_MAX_WEIGHT_BYTES = 16 << 30

_SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def max_buffer_bytes() -> int:
    """The budget in bytes: ``TYMPAN_MAX_BUFFER_BYTES`` when set (``268435456``, ``256M``, ``1G``), else 512 MiB.

    Raises :class:`~tympan.core.errors.SettingError` (a ``ValueError``) naming the variable when its value is not
    a positive size.

    Example:
        >>> max_buffer_bytes() >= 1
        True
    """
    return _size_from_environment(BUDGET_VARIABLE, DEFAULT_MAX_BUFFER_BYTES)


def max_weight_bytes() -> int:
    """The weight budget in bytes: ``TYMPAN_MAX_WEIGHT_BYTES`` when set (same syntax), else 16 GiB.

    Example:
        >>> max_weight_bytes() >= 1
        True
    """
    return _size_from_environment(WEIGHT_BUDGET_VARIABLE, DEFAULT_MAX_WEIGHT_BYTES)


def _size_from_environment(variable: str, default: int) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    scale = _SUFFIXES.get(raw[-1].upper(), 1)
    digits = raw[:-1] if raw[-1].upper() in _SUFFIXES else raw
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 20 or int(digits) == 0:
        raise SettingError(variable, raw, "a positive size: bytes, or a number with K, M, G or T")
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
    _check(component, parameters, nbytes, what, max_buffer_bytes(), BUDGET_VARIABLE)


def check_weight_bytes(component: str, parameters: Mapping[str, object], nbytes: float) -> None:
    """Raise ``InvalidParameterError`` when ``parameters`` imply ``nbytes`` of model weights, over the budget.

    Example:
        >>> check_weight_bytes("asr:wav2letter", {"num_classes": 40}, 23_000_000 * 4)
        >>> check_weight_bytes("ssl:wav2vec2", {"encoder_embed_dim": 100_000}, 2 << 40)
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for ssl:wav2vec2:
          encoder_embed_dim=100000: imply 2.0 TiB of weights, over the budget of 16.0 GiB (TYMPAN_MAX_WEIGHT_BYTES)
    """
    _check(component, parameters, nbytes, "weights", max_weight_bytes(), WEIGHT_BUDGET_VARIABLE)


def _check(
    component: str, parameters: Mapping[str, object], nbytes: float, what: str, budget: int, variable: str
) -> None:
    if nbytes <= budget:
        return
    named = ", ".join(f"{name}={value!r}" for name, value in parameters.items())
    over = f"over the budget of {format_bytes(budget)} ({variable})"
    raise InvalidParameterError(component, [f"{named}: imply {format_bytes(nbytes)} of {what}, {over}"])
