"""The parameter types SoX effects share, each declared once with its bounds and description.

Example:
    >>> import pydantic
    >>> pydantic.TypeAdapter(TimeSpec).validate_python("0:01.5"), pydantic.TypeAdapter(TimeSpec).validate_python(2)
    ('0:01.5', 2.0)
    >>> pydantic.TypeAdapter(TimeSpec).validate_python("1.5x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pydantic_core._pydantic_core.ValidationError: 1 validation error for ...
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from tympan.plugins.sox._grammar import check_position, check_time

__all__ = [
    "Frequency",
    "Gain",
    "PositionSpec",
    "SampleRate",
    "TimeSpec",
    "WidthType",
    "MAX_RATE",
    "MAX_SECONDS",
]

#: The highest sample rate an effect accepts, in Hz.
MAX_RATE = 10_000_000
#: The longest time (pad, delay, repeat ...) an effect accepts, in seconds.
MAX_SECONDS = 86_400.0


def _time(value: str | float) -> str | float:
    if isinstance(value, str):
        return check_time(value)
    if not 0 <= value <= MAX_SECONDS:
        raise ValueError(f"must be between 0 and {MAX_SECONDS:g} seconds, got {value}")
    return value


def _position(value: str | float) -> str | float:
    return check_position(value) if isinstance(value, str) else _time(value)


SampleRate = Annotated[int, Field(gt=0, le=MAX_RATE, description="Sample rate of the input, in Hz.")]
Frequency = Annotated[float, Field(gt=0, le=MAX_RATE / 2, description="Frequency in Hz.")]
Gain = Annotated[float, Field(ge=-200, le=200, description="Gain in dB.")]
WidthType = Literal["q", "o", "h", "s"]
TimeSpec = Annotated[
    str | float,
    AfterValidator(_time),
    Field(description="A time: seconds, or SoX's syntax ([[hh:]mm:]ss[.frac], NNNs for samples, t+s sums)."),
]
PositionSpec = Annotated[
    str | float,
    AfterValidator(_position),
    Field(description="A position: a time from the start, or with =, + (after the previous) or - (before the end)."),
]
