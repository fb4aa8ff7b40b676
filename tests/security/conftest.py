"""The crafted-input corpora live beside their tests as plain modules (``_configs``, ``_harness``, ...), which
``report.py`` imports too: this folder goes on ``sys.path``. Torch, tympan and the plugins are loaded once,
before the first attack, so that no attack's time budget pays for them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(scope="session", autouse=True)
def _warm() -> None:
    from _harness import warm_up

    warm_up()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fuzz totals: components, examples tried, built and refused (from each test's properties)."""
    totals = {"components": 0, "fuzz_examples": 0, "fuzz_built": 0, "fuzz_refused": 0}
    for report in terminalreporter.getreports("passed") + terminalreporter.getreports("failed"):
        properties = dict(getattr(report, "user_properties", []))
        if report.when == "call" and "fuzz_examples" in properties:
            totals["components"] += 1
            for key in ("fuzz_examples", "fuzz_built", "fuzz_refused"):
                totals[key] += int(properties[key])
    if totals["components"]:
        terminalreporter.write_line(
            "fuzz: {components} components, {fuzz_examples} examples ({fuzz_built} built and run, "
            "{fuzz_refused} refused with a typed error)".format(**totals)
        )
