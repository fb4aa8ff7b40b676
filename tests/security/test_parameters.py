"""Crafted component parameters: every reported case of ``_parameters`` (the issue's gigabyte and hour-long
combinations, lax coercion) and a seventh of the sweep of every DSP and loss field at its edges build within
the buffer budget and run within the time budget, or are refused with a typed error."""

from __future__ import annotations

from pathlib import Path

from _harness import Attack, assert_behaves, cases
from _parameters import NAMED, attacks


@cases(attacks(), every=7, keep=[name for name, *_ in NAMED])
def test_crafted_parameters_are_bounded_or_refused(attack: Attack, tmp_path: Path) -> None:
    assert_behaves(attack, tmp_path)
