"""Broken plugin distributions and bad settings: a quarter of the ``_plugins`` corpus, each broken distribution
under a different ordinary operation; a broken plugin breaks only itself, a bad setting is refused by name."""

from __future__ import annotations

from pathlib import Path

from _harness import Attack, assert_behaves, cases
from _plugins import attacks


@cases(attacks(), every=4)
def test_broken_plugin_breaks_only_itself(attack: Attack, tmp_path: Path) -> None:
    assert_behaves(attack, tmp_path)
