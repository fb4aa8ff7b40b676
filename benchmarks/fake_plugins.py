"""Fake installed plugin distributions, written to a directory that ``PYTHONPATH`` then points at.

Each distribution ``fakeNN`` is a ``fakeNN-1.0.dist-info/`` (``METADATA`` and ``entry_points.txt``) and a
tiny importable package ``fakeNN`` holding the classes its entry points name: a transform ``fakeNN:gain``
and an effect ``fakeNN:echo``. ``importlib.metadata`` finds them exactly as it finds installed wheels.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_fake_plugins(Path(tmp), 2)
    ['fake00:gain', 'fake00:echo', 'fake01:gain', 'fake01:echo']
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_fake_plugins"]

#: ``(entry-point group, component name, class name)`` every fake distribution declares.
COMPONENTS = (("tympan.transforms", "gain", "Gain"), ("tympan.effects", "echo", "Echo"))

_METADATA = "Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nSummary: A fake tympan plugin.\n"
_MODULE = '''"""A fake tympan plugin."""


class Gain:
    """Does nothing."""


class Echo:
    """Does nothing."""
'''


def write_fake_plugins(site: Path, count: int) -> list[str]:
    """Write ``count`` fake distributions into ``site``; return the qualified names they declare."""
    names = []
    for index in range(count):
        name = f"fake{index:02d}"
        info = site / f"{name}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(_METADATA.format(name=name))
        groups = "".join(f"[{group}]\n{name}:{component} = {name}:{cls}\n\n" for group, component, cls in COMPONENTS)
        (info / "entry_points.txt").write_text(groups)
        package = site / name
        package.mkdir()
        (package / "__init__.py").write_text(_MODULE)
        names += [f"{name}:{component}" for _, component, _ in COMPONENTS]
    return names
