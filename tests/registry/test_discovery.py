"""Discovery from installed distributions: lazy loading, failure isolation, the TYMPAN_* switches."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tympan.core.errors import PluginLoadError
from tympan.registry import Registry, Selection
from tympan.testing import write_distribution

GOOD = "import torch\nclass Gain(torch.nn.Module):\n    def forward(self, x):\n        return 2 * x\n"
BROKEN = "raise ImportError('libacme.so: cannot open shared object file')\n"


def install_good_and_broken(site: Path) -> None:
    write_distribution(site, "acme-good", {"tympan.effects": {"acme:gain": "acme_good:Gain"}}, {"acme_good": GOOD})
    write_distribution(
        site,
        "acme-broken",
        {
            "tympan.effects": {"broken:boom": "acme_broken:Boom [gpu]"},
            "tympan.transforms": {"broken:bang": "acme_broken:Bang"},
        },
        {"acme_broken": BROKEN},
        version="2.3",
    )


def test_listing_imports_no_plugin_code(plugin_site: Path, tympan_registry: Registry) -> None:
    install_good_and_broken(plugin_site)
    assert {"acme:gain", "broken:boom", "broken:bang"} <= set(tympan_registry.names())
    assert "acme_good" not in sys.modules and "acme_broken" not in sys.modules
    assert tympan_registry.resolve("acme:gain").distribution == "acme-good"
    assert "acme_good" not in sys.modules
    assert tympan_registry.get("acme:gain").__name__ == "Gain"
    assert "acme_good" in sys.modules


def test_a_broken_plugin_breaks_only_its_own_names(plugin_site: Path, tympan_registry: Registry) -> None:
    install_good_and_broken(plugin_site)
    with pytest.raises(PluginLoadError) as err:
        tympan_registry.get("broken:boom")
    error = err.value
    assert (error.name, error.distribution, error.version) == ("broken:boom", "acme-broken", "2.3")
    assert "libacme.so" in str(error)
    assert error.hint == "pip install 'acme-broken[gpu]'"
    with pytest.raises(PluginLoadError):  # remembered, raised again
        tympan_registry.get("broken:boom")
    assert tympan_registry.get("acme:gain").__name__ == "Gain"
    assert tympan_registry.get("dsp:mfcc").__name__ == "MFCC"
    report = {d.name: d for d in tympan_registry.distributions(load=True)}
    assert report["acme-broken"].status == "error" and report["acme-good"].status == "ok"


def test_strict_mode_raises_at_discovery(plugin_site: Path) -> None:
    install_good_and_broken(plugin_site)
    strict = Registry(strict=True)
    with pytest.raises(PluginLoadError, match="acme-broken"):
        strict.names()
    with pytest.raises(PluginLoadError):  # every later lookup raises too
        strict.get("acme:gain")


def test_disable_and_allow_lists_select_distributions(plugin_site: Path) -> None:
    install_good_and_broken(plugin_site)
    disabled = Registry(selection=Selection.from_environment({"TYMPAN_DISABLE_PLUGINS": "acme_broken"}))
    assert "broken:boom" not in disabled.names() and "acme:gain" in disabled.names()
    first_party_only = Registry(selection=Selection.from_environment({"TYMPAN_LOAD_PLUGINS": ""}))
    names = first_party_only.names()
    assert "dsp:mfcc" in names and "acme:gain" not in names and "example:tremolo" not in names
    allowed = Registry(selection=Selection.from_environment({"TYMPAN_LOAD_PLUGINS": "acme-good"}))
    assert "acme:gain" in allowed.names() and "broken:boom" not in allowed.names()


def test_environment_switches_apply_to_the_default_registry(plugin_site: Path) -> None:
    install_good_and_broken(plugin_site)
    code = "from tympan import registry; print(sorted(registry.names(pattern='broken:*')))"
    env = {"PYTHONPATH": str(plugin_site), "PATH": "/usr/bin:/bin", "TYMPAN_DISABLE_PLUGINS": "acme-broken"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    env = {"PYTHONPATH": str(plugin_site), "PATH": "/usr/bin:/bin", "TYMPAN_STRICT_PLUGINS": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "PluginLoadError" in out.stderr and "acme-broken" in out.stderr


def test_malformed_entry_point_names_are_reported_not_registered(plugin_site: Path, tympan_registry: Registry) -> None:
    write_distribution(plugin_site, "sloppy", {"tympan.effects": {"gain": "sloppy:Gain", "a.b:c": "sloppy:C"}})
    assert not [n for n in tympan_registry.names() if n.endswith("gain") and not n.startswith(("sox:", "acme:"))]
    problems = {d.name: d.problems for d in tympan_registry.distributions(load=False)}["sloppy"]
    assert len(problems) == 2 and all("not a qualified" in p for p in problems)


def test_concurrent_first_use_discovers_once_and_agrees(plugin_site: Path, tympan_registry: Registry) -> None:
    install_good_and_broken(plugin_site)
    seen: list[object] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(50):
                seen.append(tympan_registry.get("acme:gain"))
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(seen) == 400 and len({id(obj) for obj in seen}) == 1


def test_the_first_distribution_on_the_path_wins_a_duplicate_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    write_distribution(first, "acme-dup", {"tympan.effects": {"dup:one": "dup_mod:One"}})
    write_distribution(second, "acme-dup", {"tympan.effects": {"dup:two": "dup_mod:Two"}}, version="9.9")
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    names = Registry().names(pattern="dup:*")
    assert names == ["dup:one"]
