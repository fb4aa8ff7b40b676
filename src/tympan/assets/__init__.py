"""Small audio files that ship with tympan, for examples, documentation and tests.

``speech``: six seconds of synthetic English speech, 16 kHz mono 16-bit FLAC (made by
``scripts/make_speech_clip.sh`` with espeak-ng and sox).

Example:
    >>> path("speech").name
    'speech.flac'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ASSETS", "path"]

_HERE = Path(__file__).resolve().parent

#: Asset names and their files.
ASSETS = {"speech": "speech.flac"}


def path(name: str) -> Path:
    """The path of the bundled asset ``name``.

    Example:
        >>> path("speech").exists()
        True
    """
    try:
        return _HERE / ASSETS[name]
    except KeyError:
        raise KeyError(f"no asset {name!r}; available: {', '.join(sorted(ASSETS))}") from None
