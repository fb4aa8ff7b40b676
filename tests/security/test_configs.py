"""Crafted pipeline configurations (alias bombs, deep nesting, huge numbers, bad tags, unhashable keys, lax
values) end in a ``PipelineConfigError`` with a bounded message, quickly: the whole corpus of ``_configs``."""

from __future__ import annotations

from pathlib import Path

from _configs import attacks
from _harness import Attack, assert_behaves, cases


@cases(attacks())
def test_crafted_configuration_is_refused_cleanly(attack: Attack, tmp_path: Path) -> None:
    assert_behaves(attack, tmp_path)
