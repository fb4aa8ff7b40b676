"""The built-in hook implementations: default backend choice and the core environment checks.

Example:
    >>> tympan_select_backend("clip.wav", None, "r")
    'io:soundfile'
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from typing import Any

from tympan.core.diagnostics import Check
from tympan.registry.hookspecs import hookimpl

__all__ = ["tympan_select_backend", "tympan_doctor", "format_of"]


def format_of(target: Any, format: str | None) -> str | None:
    """The format to use for ``target``: ``format`` if given, else the path's lower-case suffix.

    Example:
        >>> format_of("a/b/Clip.FLAC", None), format_of("x.bin", "wav"), format_of(b"RIFF", None)
        ('flac', 'wav', None)
    """
    if format:
        return format.lower()
    if isinstance(target, (str, os.PathLike)):
        suffix = os.path.splitext(os.fspath(target))[1]  # type: ignore[type-var]
        return suffix[1:].lower() or None if suffix else None
    name = getattr(target, "name", None)
    return format_of(name, None) if isinstance(name, str) else None


@hookimpl(trylast=True)
def tympan_select_backend(source: Any, format: str | None, mode: str) -> str | None:
    """The highest-priority backend whose ``can_read`` (or ``can_write``) accepts ``source``."""
    from tympan.registry import backends_by_priority

    wanted = format_of(source, format)
    for name, backend in backends_by_priority():
        if mode == "r" and backend.can_read(source, wanted):
            return name
        if mode == "w" and wanted is not None and backend.can_write(wanted, None):
            return name
    return None


@hookimpl
def tympan_doctor() -> list[Check]:
    """Python, torch, libsndfile, the sox binary, a GPU and Triton."""
    import torch

    checks = [
        Check("python", True, sys.version.split()[0]),
        Check("torch", True, torch.__version__),
    ]
    try:
        import soundfile

        checks.append(Check("libsndfile", True, soundfile.__libsndfile_version__))
    except (ImportError, OSError) as exc:
        checks.append(Check("libsndfile", False, str(exc), "pip install soundfile"))
    sox = shutil.which("sox")
    checks.append(Check("sox binary", sox is not None, sox or "not on PATH", "apt-get install sox"))
    gpu = torch.cuda.is_available()
    checks.append(Check("GPU", gpu, torch.cuda.get_device_name(0) if gpu else "none visible to torch"))
    triton = importlib.util.find_spec("triton") is not None
    checks.append(Check("triton", triton, "importable" if triton else "not installed", "pip install triton"))
    return checks
