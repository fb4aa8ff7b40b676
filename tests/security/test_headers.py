"""Crafted audio headers (absurd, odd and zero rates, channel counts, bit depths in WAV, AU, AIFF, CAF, SPHERE,
FLAC): a fifth of the ``_headers`` corpus, each header under a different reading operation, plus the reported
2147483647 Hz WAV resampled and converted; absurd ones are ``AudioDecodeError``, odd ones load in bounded
memory."""

from __future__ import annotations

from pathlib import Path

from _harness import Attack, assert_behaves, cases
from _headers import attacks


@cases(attacks(), every=5, keep=["wav-rate-int-max-resampled", "wav-rate-int-max-convert"])
def test_crafted_header_is_read_or_refused_cleanly(attack: Attack, tmp_path: Path) -> None:
    assert_behaves(attack, tmp_path)
