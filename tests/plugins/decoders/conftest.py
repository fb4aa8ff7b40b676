"""The CPU's two CTC beam searches: a test that takes ``search`` runs once with each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tympan.plugins.decoders import _search
from tympan.plugins.decoders._search import BeamSearch


@pytest.fixture
def compiled_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry for each call of the compiled search while the test runs."""
    calls: list[int] = []
    original = _search.compiled_search

    def counted(*args: Any) -> Any:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(_search, "compiled_search", counted)
    return calls


@pytest.fixture(params=["compiled", "tensor"])
def search(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, compiled_calls: list[int]) -> Iterator[str]:
    """The compiled search, then the tensor search; a test fails unless the compiled one ran exactly when asked
    for (a test of settings it does not support takes ``search`` as ``"tensor"`` alone)."""
    monkeypatch.setattr(BeamSearch, "compiled_on_cpu", request.param == "compiled")
    yield str(request.param)
    assert bool(compiled_calls) == (request.param == "compiled"), f"the compiled search ran {len(compiled_calls)} times"
