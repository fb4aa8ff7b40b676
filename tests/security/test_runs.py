"""Crafted ``tympan run`` invocations (an output that is an input, devices, many odd rates, an absurd rate):
the whole ``_runs`` corpus leaves every input intact and keeps pipelines bounded."""

from __future__ import annotations

from pathlib import Path

from _harness import Attack, assert_behaves, cases
from _runs import attacks


@cases(attacks())
def test_crafted_run_leaves_inputs_intact(attack: Attack, tmp_path: Path) -> None:
    assert_behaves(attack, tmp_path)
