"""Property-based fuzz over every first-party component's parameters (:func:`tympan.testing.fuzz.fuzz_component`):
values drawn inside the declared bounds either build within the buffer budget and run on a short input
within the time budget, or are refused with a typed error. A few examples each, deterministic; each test
records how many examples it tried, built and saw refused, and the session prints the totals.

The budgets are lowered to 64 MiB of buffers and 64 MiB of weights, so that the largest drawn models are
refused by the weight check instead of being built.
"""

from __future__ import annotations

import pytest

from tympan import registry
from tympan.testing.fuzz import fuzz_component, fuzzed_kinds

EXAMPLES = 2
SECONDS = 15.0


def _first_party() -> list[str]:
    entries = registry.entries()
    return [entry.name for entry in entries if entry.kind in fuzzed_kinds() and entry.distribution == "tympan"]


@pytest.mark.parametrize("name", _first_party())
def test_drawn_parameters_build_and_run_or_are_refused(name, monkeypatch, record_property) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TYMPAN_MAX_BUFFER_BYTES", "64M")
    monkeypatch.setenv("TYMPAN_MAX_WEIGHT_BYTES", "64M")
    report = fuzz_component(name, examples=EXAMPLES, seconds=SECONDS)
    for key in ("examples", "built", "refused"):
        record_property(f"fuzz_{key}", getattr(report, key))
    assert 1 <= report.examples <= EXAMPLES  # a component without parameters has one example
    assert report.ok, "\n".join(report.failures)
