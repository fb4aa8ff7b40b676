"""Hooks: hook modules loaded in isolation, generated names, backend selection, commands, doctor."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from tympan.core.errors import PluginLoadError
from tympan.registry import Registry, hooks
from tympan.testing import write_distribution

HOOKS = """
from tympan.registry.hookspecs import hookimpl
from tympan.core.diagnostics import Check

@hookimpl
def tympan_doctor():
    return [Check("zoo weights", True, "cached")]

@hookimpl
def tympan_register(registrar):
    for size in ("tiny", "base"):
        registrar.add("model", f"zoo:whisper_{size}", lambda size=size: (lambda: size))

@hookimpl
def tympan_select_backend(source, format, mode):
    return "io:soundfile" if str(source).endswith(".zoo") else None
"""

RAISING = """
from tympan.registry.hookspecs import hookimpl

@hookimpl
def tympan_doctor():
    raise RuntimeError("doctor crashed")
"""


def test_generated_names_from_tympan_register(plugin_site: Path, tympan_registry: Registry) -> None:
    write_distribution(plugin_site, "zoo", {"tympan.hooks": {"zoo": "zoo_hooks"}}, {"zoo_hooks": HOOKS})
    assert "zoo:whisper_tiny" not in tympan_registry.names()  # not listed until hooks run
    factory = tympan_registry.get("whisper_base")  # a miss runs the register hooks once
    assert factory() == "base"
    assert tympan_registry.resolve("zoo:whisper_tiny").distribution == "zoo"
    assert "zoo:whisper_tiny" in tympan_registry.names("model")


def test_hooks_take_part_in_backend_choice_and_doctor(plugin_site: Path, tympan_registry: Registry) -> None:
    write_distribution(plugin_site, "zoo", {"tympan.hooks": {"zoo": "zoo_hooks"}}, {"zoo_hooks": HOOKS})
    assert hooks.select_backend("clip.zoo", None, "r") == "io:soundfile"
    names = [check.name for check in hooks.doctor()]
    assert "zoo weights" in names and "torch" in names


def test_a_broken_hook_module_breaks_only_itself(plugin_site: Path, tympan_registry: Registry) -> None:
    write_distribution(plugin_site, "zoo", {"tympan.hooks": {"zoo": "zoo_hooks"}}, {"zoo_hooks": HOOKS})
    write_distribution(plugin_site, "bad-hooks", {"tympan.hooks": {"bad": "bad_hooks"}}, {"bad_hooks": "import nope\n"})
    write_distribution(
        plugin_site, "raising", {"tympan.hooks": {"raising": "raising_hooks"}}, {"raising_hooks": RAISING}
    )
    with pytest.warns(RuntimeWarning):
        names = [check.name for check in hooks.doctor()]
    assert "zoo weights" in names
    errors = {module.distribution: error for module, error in hooks.hook_load_errors().items()}
    assert "ModuleNotFoundError" in errors["bad-hooks"] and "doctor crashed" in errors["raising"]


def test_strict_mode_turns_hook_failures_into_errors(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_distribution(plugin_site, "bad-hooks", {"tympan.hooks": {"bad": "bad_hooks"}}, {"bad_hooks": "import nope\n"})
    monkeypatch.setenv("TYMPAN_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match="bad-hooks"):
        hooks.doctor()


def test_plugins_add_commands(tympan_registry: Registry) -> None:
    group = click.Group("tympan")
    hooks.add_commands(group)
    assert "tremolo" in group.commands  # from the installed example plugin


def test_default_backend_choice_reads_and_writes_common_formats(tympan_registry: Registry) -> None:
    assert hooks.select_backend("speech.flac", None, "r") == "io:soundfile"
    assert hooks.select_backend("out.wav", None, "w") == "io:soundfile"
    assert hooks.select_backend("notes.txt", None, "w") is None


def test_backend_choice_for_writing_considers_the_encoding(tympan_registry: Registry) -> None:
    from tympan.core.backend import Backend

    class PcmOnly(Backend):
        """Writes 16-bit PCM WAV only, with a priority above every other backend."""

        name = "acme:pcm"
        priority = 1000

        def can_read(self, source: object, format: str | None = None) -> bool:
            return False

        def can_write(self, format: str, encoding: str | None = None) -> bool:
            return format == "wav" and encoding in (None, "PCM_S")

        def info(self, source: object, format: str | None = None) -> None:  # type: ignore[override]
            raise NotImplementedError

    tympan_registry.register("backend", "acme:pcm", PcmOnly)
    assert hooks.select_backend("out.wav", None, "w", "PCM_S") == "acme:pcm"
    assert hooks.select_backend("out.wav", None, "w", "ULAW") == "io:soundfile"
    assert hooks.select_backend("in.wav", None, "r") == "io:soundfile"


def test_doctor_lists_built_in_checks_first(plugin_site: Path, tympan_registry: Registry) -> None:
    write_distribution(plugin_site, "zoo", {"tympan.hooks": {"zoo": "zoo_hooks"}}, {"zoo_hooks": HOOKS})
    names = [check.name for check in hooks.doctor()]
    assert names[0] == "python" and names.index("torch") < names.index("zoo weights")
