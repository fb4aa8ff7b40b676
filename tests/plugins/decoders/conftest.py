"""The CPU's two CTC beam searches: a test that takes ``search`` runs once with each."""

from __future__ import annotations

import pytest

from tympan.plugins.decoders._search import BeamSearch


@pytest.fixture(params=["compiled", "tensor"])
def search(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The compiled search (where it supports the settings; the tensor search elsewhere), then the tensor search."""
    monkeypatch.setattr(BeamSearch, "compiled_on_cpu", request.param == "compiled")
    return str(request.param)
