"""SoX's grammar for effect options: numbers, time specifications, positions, frequencies, filter widths.

- A **time** is ``[[hh:]mm:]ss[.frac][t]`` (seconds), ``NNNs`` (samples) or a bare number; parts combine
  with ``+`` and ``-`` (``1:23+37``, ``12t+12s``). A bare number means seconds, except where SoX counts
  samples by default (``silence``'s durations).
- A **position** is a time with an optional anchor: ``=2`` from the start, ``+2`` after the previous
  position, ``-0.5`` before the end of the audio.
- A **frequency** is a number of hertz, ``k`` for kilohertz (``1k``); ``synth`` also takes notes
  (``%-12``, ``A4``, ``C#5``).
- A **width** is a number with a unit: ``q`` (Q factor), ``o`` (octaves), ``h`` (Hz), ``k`` (kHz),
  ``s`` (shelf slope).

Every parser raises ``ValueError`` with the offending text; the effects turn it into a
:class:`~tympan.plugins.sox.errors.SoxEffectError` naming the option.

Example:
    >>> parse_time("0:01.5", 8000), parse_time("8000s", 44100), parse_time("1:23+37", 10000)
    (12000, 8000, 1200000)
    >>> parse_position("-0.5", 8000, latest=0, end=16000), parse_frequency("1k"), parse_width("2o", "qo")
    (12000, 1000.0, (2.0, 'o'))
"""

from __future__ import annotations

import math
import re

__all__ = [
    "check_position",
    "check_time",
    "parse_float",
    "parse_frequency",
    "parse_note_frequency",
    "parse_position",
    "parse_time",
    "parse_width",
    "seconds_to_samples",
    "time_text",
]

_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|inf|infinity)", re.IGNORECASE)
_PART_CHARS = set("0123456789:.ets")


def parse_float(text: str, what: str = "number") -> float:
    """A decimal number as C's ``strtod`` reads it (no underscores, no trailing characters).

    Example:
        >>> parse_float("-3.5"), parse_float("1e3")
        (-3.5, 1000.0)
    """
    if not isinstance(text, str) or not _FLOAT.fullmatch(text.strip()):
        raise ValueError(f"{what}: expected a number, got {text!r}")
    return float(text)


def _time_part(text: str, rate: float, default: str) -> int:
    """Samples of one part of a time: ``[[h:]m:]s[.frac][t]``, ``N[s]`` or a bare number."""
    if not text:
        raise ValueError("empty time")
    has_e = "e" in text
    is_time = ":" in text or ("." in text and not has_e) or text.endswith("t")
    is_samples = not is_time and text.endswith("s")
    if is_time or (default == "t" and not is_samples):
        if has_e:
            raise ValueError(f"time {text!r}: exponent notation is not a time")
        body = text[:-1] if text.endswith("t") else text
        whole, dot, fraction = body.partition(".")
        fields = whole.split(":") if whole else [""]
        if len(fields) > 3 or (fields[0] == "" and not dot) or any(not f.isdigit() for f in fields[1:] if f):
            raise ValueError(f"time {text!r}: expected [[hh:]mm:]ss[.frac]")
        samples = 0
        for index, field in enumerate(fields):
            if field and not field.isdigit():
                raise ValueError(f"time {text!r}: expected [[hh:]mm:]ss[.frac]")
            samples = int(samples + rate * int(field or 0))
            if index < len(fields) - 1:
                samples *= 60
        if dot:
            if not fraction.isdigit():
                raise ValueError(f"time {text!r}: empty fraction")
            samples = int(samples + rate * float("." + fraction) + 0.5)
        return samples
    body = text[:-1] if text.endswith("s") else text
    value = parse_float(body, f"sample count {text!r}")
    if value < 0 or math.isinf(value):
        raise ValueError(f"sample count {text!r} must be a non-negative number")
    return int(value + 0.5)


def _split_parts(text: str) -> list[tuple[str, str]]:
    """``[(sign, part)]`` of a time: parts joined by ``+`` and ``-`` (not the sign of an exponent)."""
    parts: list[tuple[str, str]] = []
    sign, start = "+", 0
    for index, char in enumerate(text):
        if char in "+-" and index > start and text[index - 1] not in "eE":
            parts.append((sign, text[start:index]))
            sign, start = char, index + 1
    parts.append((sign, text[start:]))
    for _, part in parts:
        if not part or not set(part) <= _PART_CHARS:
            raise ValueError(f"time {text!r}: expected [[hh:]mm:]ss[.frac][t], NNNs or their sum")
    return parts


def parse_time(text: str, rate: float, default: str = "t", start: int = 0, first_sign: str = "+") -> int:
    """The number of samples (per channel) ``text`` denotes at ``rate`` Hz; ``default`` ``"t"`` reads a bare
    number as seconds, ``"s"`` as samples. Parts add to (``+``) or subtract from (``-``, floored at 0) ``start``;
    ``first_sign`` applies to the first part.

    Example:
        >>> parse_time("1.5", 44100), parse_time("10-2:00", 10000), parse_time("100", 8000, default="s")
        (66150, 0, 100)
    """
    samples = start
    parts = _split_parts(text.strip())
    parts[0] = (first_sign, parts[0][1])
    for sign, part in parts:
        value = _time_part(part, rate, default)
        samples = samples + value if sign == "+" else max(samples - value, 0)
    return samples


def check_time(text: str, default: str = "t") -> str:
    """``text`` unchanged if it is a valid time, else ``ValueError`` (for parameter validation).

    Example:
        >>> check_time("0:01.5")
        '0:01.5'
    """
    parse_time(text, 1000.0, default)
    return text


def parse_position(text: str, rate: float, latest: int, end: int | None, anchor: str = "=") -> int:
    """A position in samples: a time from the start (``=``), after ``latest`` (``+``) or before ``end``
    (``-``); ``anchor`` is the default. ``end`` None (unknown length) allows only ``-0``, which gives -1.

    Example:
        >>> parse_position("+1", 100, latest=50, end=None), parse_position("=1", 100, latest=50, end=None)
        (150, 100)
    """
    text = text.strip()
    if text[:1] in ("=", "+", "-"):
        anchor, text = text[0], text[1:]
    combine = "+"
    if anchor in "+-":
        combine = anchor
        if text[:1] in ("+", "-"):
            combine, text = text[0], text[1:]
    if anchor == "=":
        origin = 0
    elif anchor == "+":
        origin = latest
    else:
        if end is None:
            if text == "0":
                return -1
            raise ValueError(f"position -{text!r} is relative to the end, but the audio length is unknown")
        origin = end
    return parse_time(text, rate, "t", origin, combine)


def check_position(text: str) -> str:
    """``text`` unchanged if it is a valid position, else ``ValueError``.

    Example:
        >>> check_position("-0:02")
        '-0:02'
    """
    parse_position(text, 1000.0, 0, 10**12)
    return text


def seconds_to_samples(seconds: float, rate: float) -> int:
    """Samples in ``seconds`` at ``rate``, rounded as SoX rounds a time of that many seconds.

    Example:
        >>> seconds_to_samples(1.5, 44100), seconds_to_samples(0.0001, 8000)
        (66150, 1)
    """
    whole = math.floor(seconds)
    return int(rate * whole) + int(rate * (seconds - whole) + 0.5)


def time_text(value: str | float) -> str:
    """A time parameter as SoX text: strings as given, seconds as a decimal number.

    Example:
        >>> time_text(1.5), time_text("8000s"), time_text(2)
        ('1.5', '8000s', '2')
    """
    if isinstance(value, str):
        return value
    return f"{value:.9f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


_KILO = re.compile(r"^(.*?)(k?)$")


def parse_frequency(text: str, what: str = "frequency") -> float:
    """A non-negative frequency in Hz: a number, ``k`` for kilohertz.

    Example:
        >>> parse_frequency("300"), parse_frequency("3.4k")
        (300.0, 3400.0)
    """
    body, kilo = _KILO.match(text.strip()).groups()  # type: ignore[union-attr]
    value = parse_float(body, what) * (1000.0 if kilo else 1.0)
    if value < 0 or math.isnan(value):
        raise ValueError(f"{what}: must not be negative, got {text!r}")
    return value


_NOTE = re.compile(r"^([A-G])([b#]?)(\d?)$")


def parse_note_frequency(text: str) -> float:
    """A frequency given as a note: ``%N`` semitones from A4 (440 Hz), or a name such as ``A4``, ``C#5``,
    ``Bb3`` (an octave digit, 4 by default); else a plain frequency (:func:`parse_frequency`).

    Example:
        >>> parse_note_frequency("%12"), round(parse_note_frequency("C5"), 2), parse_note_frequency("1k")
        (880.0, 523.25, 1000.0)
    """
    text = text.strip()
    if text.startswith("%"):
        return 440.0 * 2.0 ** (parse_float(text[1:], "note") / 12)
    match = _NOTE.match(text)
    if match:
        letter, accidental, octave = match.groups()
        semitone = int(5 / 3 * (ord(letter) - ord("A")) + 9.5) % 12 - 9
        semitone += {"b": -1, "#": 1}.get(accidental, 0) + (12 * (int(octave) - 4) if octave else 0)
        return 440.0 * 2.0 ** (semitone / 12)
    return parse_frequency(text)


def parse_width(text: str, allowed: str) -> tuple[float, str]:
    """A filter width ``NUMBER[UNIT]`` as ``(value, unit)``; the unit defaults to the first of ``allowed``
    (``q`` Q, ``o`` octaves, ``h`` Hz, ``k`` kHz, ``s`` slope). kHz are returned as Hz.

    Example:
        >>> parse_width("0.5", "sq"), parse_width("2k", "hkqo"), parse_width("100h", "qh")
        ((0.5, 's'), (2000.0, 'h'), (100.0, 'h'))
    """
    text = text.strip()
    unit = text[-1] if text and text[-1].isalpha() and text[-1].lower() not in ("e",) else ""
    body = text[:-1] if unit else text
    value = parse_float(body, "width")
    unit = unit or allowed[0]
    if unit not in allowed:
        raise ValueError(f"width {text!r}: unit {unit!r} not allowed here (use one of {', '.join(allowed)})")
    if value <= 0:
        raise ValueError(f"width {text!r} must be positive")
    if unit == "s" and value > 1:
        raise ValueError(f"slope {text!r} must be at most 1")
    if unit == "k":
        return value * 1000.0, "h"
    return value, unit
