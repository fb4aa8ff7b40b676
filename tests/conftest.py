"""Shared test policy.

- In CI (``CI=true``) a skipped test is a failure, so a missing tool cannot pass silently. Tests that need
  a CUDA device carry the ``gpu`` marker; CI machines have none, so ``make test`` deselects them there
  (``-m "not gpu"``) instead of skipping, and they run on a machine with a GPU.
- Every test runs against the installed distributions' entry points, as a user's code would.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped in CI (a missing tool is a failure here): {reason}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip_gpu)


pytest_plugins = ["tympan.testing.pytest_plugin"]
