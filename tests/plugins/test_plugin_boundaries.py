"""A first-party plugin uses another plugin only through its public modules, as a third-party plugin would:
no import of a private module (a name starting with ``_``) or a private name from another plugin, so that a
plugin's internals change without breaking the others. The example plugin in ``contrib/`` uses no private
tympan module at all."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "src" / "tympan" / "plugins"


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """Every import in ``path`` (inside functions too): its line, module and imported names."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def _private_use(module: str, names: list[str], below: str) -> bool:
    """Whether importing ``names`` from ``module`` reaches a private module or name under package ``below``."""
    if module != below and not module.startswith(below + "."):
        return False
    inner = module[len(below) :].split(".")
    return any(part.startswith("_") for part in inner) or any(name.startswith("_") for name in names)


def _crossings(files: list[Path], owner: str | None) -> list[str]:
    """``file:line module`` of each private import, in ``files``, of a plugin other than ``owner`` (of any
    tympan module when ``owner`` is None)."""
    found = []
    for path in files:
        for line, module, names in _imports(path):
            parts = module.split(".")
            if owner is None:
                private = _private_use(module, names, "tympan")
            elif parts[:2] == ["tympan", "plugins"] and len(parts) > 2 and parts[2] != owner:
                private = _private_use(module, names, ".".join(parts[:3]))
            else:
                private = False
            if private:
                shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                found.append(f"{shown}:{line} {module} {names}")
    return found


@pytest.mark.parametrize("plugin", sorted(p.name for p in PLUGINS.iterdir() if (p / "__init__.py").exists()))
def test_a_plugin_imports_no_other_plugins_private_modules(plugin: str) -> None:
    assert _crossings(sorted((PLUGINS / plugin).rglob("*.py")), plugin) == []


def test_the_example_plugin_imports_no_private_tympan_module() -> None:
    files = sorted((ROOT / "contrib").rglob("*.py"))
    assert files
    assert _crossings(files, None) == []


def test_the_check_finds_a_private_import(tmp_path: Path) -> None:
    module = tmp_path / "effect.py"
    module.write_text(
        "from tympan.plugins.dsp.functional._iir import sosfilt\n"
        "from tympan.plugins.dsp.functional import _biquad_design\n"
        "from tympan.plugins.dsp.building_blocks import lowpass_coefficients\n"
        "import tympan.plugins.dsp.functional._blocks\n"
        "from tympan.plugins.sox.effects._base import SoxEffect\n"
    )
    found = _crossings([module], "sox")
    assert [entry.split()[1] for entry in found] == [
        "tympan.plugins.dsp.functional._iir",
        "tympan.plugins.dsp.functional",
        "tympan.plugins.dsp.functional._blocks",
    ]
