"""The decoders' plain functions re-exported by :mod:`tympan.functional` (torchaudio's ``functional`` names).

Example:
    >>> from tympan.plugins.decoders.functional import edit_distance
    >>> edit_distance(["the", "cat", "sat"], ["the", "hat", "sat", "down"])
    2
"""

from __future__ import annotations

from tympan.plugins.decoders.metrics import edit_distance

__all__ = ["edit_distance"]
