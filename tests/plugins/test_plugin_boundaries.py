"""A first-party plugin uses another plugin only through its public modules, as a third-party plugin would:
no import of, or dotted reference to, a private module (a name starting with ``_``) or a private name of
another plugin, so that a plugin's internals change without breaking the others. The example plugin in
``contrib/`` uses no private tympan module at all."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "src" / "tympan" / "plugins"
PLUGIN_NAMES = sorted(p.name for p in PLUGINS.iterdir() if (p / "__init__.py").exists() and not p.name.startswith("_"))
#: A dotted reference to something under ``tympan.plugins`` anywhere in a file (code, strings, docstrings).
_DOTTED = re.compile(r"\btympan\.plugins((?:\.\w+)+)")


def _package(path: Path) -> list[str]:
    """The dotted package ``path`` belongs to (its own name for an ``__init__.py``), from ``src/``."""
    parts = list(path.relative_to(ROOT / "src").with_suffix("").parts) if path.is_relative_to(ROOT / "src") else []
    return parts[:-1]


def _imports(text: str, package: list[str]) -> Iterator[tuple[int, str, list[str]]]:
    """Every import in the module ``text`` of ``package`` (inside functions too, relative ones resolved): its
    line, absolute module and imported names."""
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield node.lineno, ".".join(base + ([node.module] if node.module else [])), names
            elif node.module:
                yield node.lineno, node.module, names
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def _private_plugin_use(parts: list[str], names: list[str], owner: str | None) -> bool:
    """Whether ``names`` from module ``parts`` reach a private module or name of a plugin other than ``owner``
    (of any tympan module when ``owner`` is None)."""
    if owner is None:
        return parts[0] == "tympan" and any(part.startswith("_") for part in parts[1:] + names)
    if parts[:2] != ["tympan", "plugins"]:
        return False
    if len(parts) == 2:  # names imported from tympan.plugins are plugins: a private one is nobody's own
        return any(name.startswith("_") for name in names)
    return parts[2] != owner and any(part.startswith("_") for part in parts[2:] + names)


def _crossings(files: list[Path], owner: str | None, package_of: Callable[[Path], list[str]] = _package) -> list[str]:
    """``file:line module`` of each private use in ``files`` (see :func:`_private_plugin_use`):
    imports, and dotted references anywhere in the text; ``package_of`` names a file's package."""
    found = []
    for path in files:
        text = path.read_text()
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        uses = list(_imports(text, package_of(path)))
        for match in _DOTTED.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            uses.append((line, "tympan.plugins" + match.group(1), []))
        flagged = {
            (line, module) for line, module, names in uses if _private_plugin_use(module.split("."), names, owner)
        }
        found += [f"{shown}:{line} {module}" for line, module in sorted(flagged)]
    return found


def test_the_first_party_plugins_are_all_checked() -> None:
    assert {"dsp", "sox", "kaldi", "models", "kws", "decoders"} <= set(PLUGIN_NAMES)


@pytest.mark.parametrize("plugin", PLUGIN_NAMES)
def test_a_plugin_uses_no_other_plugins_private_modules(plugin: str) -> None:
    assert _crossings(sorted((PLUGINS / plugin).rglob("*.py")), plugin) == []


def test_the_example_plugin_imports_no_private_tympan_module() -> None:
    files = sorted((ROOT / "contrib").rglob("*.py"))
    assert files
    assert _crossings(files, None) == []


def test_the_check_finds_every_kind_of_private_use(tmp_path: Path) -> None:
    module = PLUGINS / "sox" / "effects" / "probe.py"  # where such a module would sit (never written)
    text = (
        '"""Built on :func:`~tympan.plugins.dsp.functional._iir.sosfilt`."""\n'
        "from tympan.plugins.dsp.functional import _biquad_design\n"
        "from tympan.plugins.dsp.building_blocks import lowpass_coefficients\n"
        "import tympan.plugins.dsp.functional._blocks as blocks\n"
        "from tympan.plugins.sox.effects._base import SoxEffect\n"
        "from ...dsp.functional._vad import vad\n"
        "from tympan.plugins import _shared\n"
        "def later():\n"
        "    from tympan.plugins.kaldi.functional._pitch import pitch\n"
    )
    copy = tmp_path / "probe.py"
    copy.write_text(text)
    found = [entry.split()[1] for entry in _crossings([copy], "sox", lambda path: _package(module))]
    assert found == [
        "tympan.plugins.dsp.functional._iir.sosfilt",
        "tympan.plugins.dsp.functional",
        "tympan.plugins.dsp.functional._blocks",
        "tympan.plugins.dsp.functional._vad",
        "tympan.plugins",
        "tympan.plugins.kaldi.functional._pitch",
    ]
    assert [entry.split()[1] for entry in _crossings([copy], None)] == [
        "tympan.plugins.dsp.functional._iir.sosfilt",
        "tympan.plugins.dsp.functional",
        "tympan.plugins.dsp.functional._blocks",
        "tympan.plugins.sox.effects._base",
        "tympan.plugins",
        "tympan.plugins.kaldi.functional._pitch",
    ]
