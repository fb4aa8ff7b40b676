"""The built-in hook implementations: default backend choice and the core environment checks.

Example:
    >>> tympan_select_backend("clip.wav", None, "r", None)
    'io:soundfile'
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import warnings
from typing import Any

from tympan.core.backend import extension_of
from tympan.core.diagnostics import Check
from tympan.registry.hookspecs import hookimpl

__all__ = ["tympan_select_backend", "tympan_doctor"]


@hookimpl(trylast=True)
def tympan_select_backend(source: Any, format: str | None, mode: str, encoding: str | None) -> str | None:
    """The highest-priority backend whose ``can_read`` (or ``can_write`` with ``encoding``) accepts; one
    whose probe raises is skipped.

    Example:
        >>> tympan_select_backend("out.flac", None, "w", "PCM_S")
        'io:soundfile'
    """
    from tympan.registry import backends_by_priority

    wanted = format.lower() if format else extension_of(source)
    for name, backend in backends_by_priority():
        if _accepts(name, backend, source, wanted, mode, encoding):
            return name
    return None


def _accepts(name: str, backend: Any, source: Any, wanted: str | None, mode: str, encoding: str | None) -> bool:
    """Whether ``backend`` takes the job; a backend whose probe raises (or exits) declines, with a warning."""
    from tympan.registry._entries import PLUGIN_FAILURES

    try:
        if mode == "r":
            return bool(backend.can_read(source, wanted))
        return wanted is not None and bool(backend.can_write(wanted, encoding))
    except PLUGIN_FAILURES as exc:
        probe = "can_read" if mode == "r" else "can_write"
        warnings.warn(f"backend {name}: {probe} raised {type(exc).__name__}: {exc}; skipped", RuntimeWarning, 3)
        return False


@hookimpl
def tympan_doctor() -> list[Check]:
    """Python, torch, libsndfile, PyAV (the io:ffmpeg backend), the sox binary, a GPU and Triton.

    Example:
        >>> [check.name for check in tympan_doctor()][:2]
        ['python', 'torch']
    """
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
    try:
        import av

        checks.append(Check("PyAV (io:ffmpeg)", True, f"{av.__version__}, FFmpeg {av.ffmpeg_version_info}"))
    except ImportError:
        checks.append(Check("PyAV (io:ffmpeg)", False, "not installed", "pip install 'tympan[ffmpeg]'"))
    sox = shutil.which("sox")
    checks.append(Check("sox binary", sox is not None, sox or "not on PATH", "apt-get install sox"))
    gpu = torch.cuda.is_available()
    checks.append(Check("GPU", gpu, torch.cuda.get_device_name(0) if gpu else "none visible to torch"))
    triton = importlib.util.find_spec("triton") is not None
    checks.append(Check("triton", triton, "importable" if triton else "not installed", "pip install triton"))
    return checks
