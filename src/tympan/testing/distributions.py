"""Fabricated installed distributions, for testing discovery exactly as ``pip install`` would see it.

:func:`write_distribution` writes a package and its ``*.dist-info`` (METADATA and entry_points.txt) into
a folder; put that folder on ``sys.path`` (or ``PYTHONPATH`` for a subprocess) and importlib.metadata
finds the distribution like any installed one.

Example:
    >>> import tempfile
    >>> from importlib import metadata
    >>> site = tempfile.mkdtemp()
    >>> _ = write_distribution(site, "acme-gain", {"tympan.effects": {"acme:gain": "acme_gain:Gain"}},
    ...                        modules={"acme_gain": "import torch\\nclass Gain(torch.nn.Identity): pass\\n"})
    >>> [d.metadata["Name"] for d in metadata.distributions(path=[site])]
    ['acme-gain']
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["write_distribution"]


def write_distribution(
    site: str | os.PathLike[str],
    name: str,
    entry_points: Mapping[str, Mapping[str, str]],
    modules: Mapping[str, str] | None = None,
    version: str = "1.0",
) -> Path:
    """Write distribution ``name`` with ``entry_points`` (group -> {name: "module:attr"}) into ``site``.

    ``modules`` maps a module name (dotted names make packages) to its source. Returns the dist-info folder.

    Example:
        >>> import tempfile
        >>> write_distribution(tempfile.mkdtemp(), "acme", {}).name
        'acme-1.0.dist-info'
    """
    root = Path(site)
    project = re.sub(r"[-_.]+", "_", name)
    info = root / f"{project}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    sections = []
    for group, entries in entry_points.items():
        lines = "".join(f"{entry} = {target}\n" for entry, target in entries.items())
        sections.append(f"[{group}]\n{lines}")
    (info / "entry_points.txt").write_text("\n".join(sections), encoding="utf-8")
    for module, source in (modules or {}).items():
        parts = module.split(".")
        folder = root.joinpath(*parts[:-1])
        folder.mkdir(parents=True, exist_ok=True)
        for depth in range(1, len(parts)):
            init = root.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.write_text("", encoding="utf-8")
        (folder / f"{parts[-1]}.py").write_text(source, encoding="utf-8")
    importlib.invalidate_caches()
    return info
