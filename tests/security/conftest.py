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
