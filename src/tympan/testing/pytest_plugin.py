"""Opt-in pytest fixtures for plugin authors: ``pytest_plugins = ["tympan.testing.pytest_plugin"]``.

- ``tympan_registry``: a fresh default registry for the test (discovery re-run; runtime registrations
  vanish afterwards).
- ``plugin_site``: a folder on ``sys.path`` in which :func:`~tympan.testing.write_distribution` installs
  fabricated distributions; the default registry is rebuilt to see them.
- ``speech``: the bundled speech clip as ``(waveform, sample_rate)``.

Example (a test module)::

    pytest_plugins = ["tympan.testing.pytest_plugin"]

    def test_my_effect_conforms(tympan_registry):
        from tympan.testing import check_component
        check_component("acme:gain")
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tympan.registry import Registry, set_default_registry
from tympan.registry.hooks import reset_hooks

__all__ = ["plugin_site", "speech", "tympan_registry"]


@pytest.fixture
def tympan_registry() -> Iterator[Registry]:
    """A fresh default registry for one test; the previous one comes back afterwards.

    Example (a test)::

        def test_runtime_name(tympan_registry):
            tympan_registry.register("effect", "acme:mute", Mute)
            assert tympan_registry.get("mute") is Mute
    """
    fresh = Registry()
    previous = set_default_registry(fresh)
    reset_hooks()
    try:
        yield fresh
    finally:
        set_default_registry(previous)
        reset_hooks()


@pytest.fixture
def plugin_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tympan_registry: Registry) -> Iterator[Path]:
    """A folder on ``sys.path`` for fabricated distributions (write them before the first lookup).

    Example (a test)::

        def test_broken_plugin_is_isolated(plugin_site, tympan_registry):
            write_distribution(plugin_site, "acme", {"tympan.effects": {"acme:boom": "acme_boom:Boom"}},
                               {"acme_boom": "raise ImportError('no')"})
            with pytest.raises(PluginLoadError):
                tympan_registry.get("acme:boom")
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = set(sys.modules)
    yield site
    for module in set(sys.modules) - before:
        if getattr(sys.modules[module], "__file__", None) and str(site) in str(sys.modules[module].__file__):
            del sys.modules[module]


@pytest.fixture(scope="session")
def speech() -> tuple[object, int]:
    """The bundled speech clip: ``(waveform (1, time) float32, 16000)``.

    Example (a test)::

        def test_mfcc_frames(speech):
            waveform, rate = speech
            assert registry.create("mfcc", sample_rate=rate)(waveform).shape[-1] == 612
    """
    from tympan import assets
    from tympan.plugins.io.api import load

    return load(assets.path("speech"))
