"""Awkward sources and destinations (short reads, failing reads, pipes, closed and read-only file objects,
strided memoryviews, absurd offsets): the whole ``_file_objects`` corpus ends in a typed error or a correct
result."""

from __future__ import annotations

from pathlib import Path

from _file_objects import attacks
from _harness import Attack, assert_behaves, cases


@cases(attacks())
def test_awkward_file_object_is_handled_cleanly(attack: Attack, tmp_path: Path) -> None:
    assert_behaves(attack, tmp_path)
