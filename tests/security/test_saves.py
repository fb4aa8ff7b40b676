"""Crafted destinations for ``save`` and ``convert`` (devices, FIFOs, links, long names): the ``_saves`` corpus,
with one termination signal per operation (each starts a Python process); nothing but the intended file
changes and no temporary file is left."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from _harness import Attack, assert_behaves, cases
from _saves import attacks


def _without_repeated_signals(corpus: Iterable[Attack]) -> Iterator[Attack]:
    """SIGTERM for ``save``, SIGHUP for ``convert``; report.py runs all four."""
    return (attack for attack in corpus if attack.name not in ("save-SIGHUP", "convert-SIGTERM"))


@cases(_without_repeated_signals(attacks()))
def test_crafted_destination_is_never_clobbered(attack: Attack, tmp_path: Path) -> None:
    assert_behaves(attack, tmp_path)
