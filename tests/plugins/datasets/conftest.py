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


@pytest.fixture(scope="session")
def ray_session() -> Iterator[object]:
    """One local Ray instance (2 CPUs) shared by every Ray test of the session, started as lightly as Ray
    allows: no dashboard, no usage reporting, no log forwarding or logging set-up, a small object store,
    Ray Data without progress output. Start-up (several Python processes) is most of what Ray costs here."""
    ray = pytest.importorskip("ray")
    saved = os.environ.get("RAY_USAGE_STATS_ENABLED")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        object_store_memory=96 << 20,
    )
    try:
        yield ray
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_USAGE_STATS_ENABLED", None)
        else:
            os.environ["RAY_USAGE_STATS_ENABLED"] = saved
