"""Fixtures of the datasets tests: a loopback HTTP server and random archive payloads."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tympan.testing.loopback import LoopbackServer


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    """A loopback HTTP server with no routes yet (tests add them to ``server.routes``)."""
    with LoopbackServer({}) as running:
        yield running


@pytest.fixture
def payload() -> bytes:
    """2.5 MiB of random bytes: several transfer chunks, incompressible."""
    return os.urandom(5 << 19)
