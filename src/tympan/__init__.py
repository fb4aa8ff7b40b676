"""tympan: a plugin-based audio framework for PyTorch.

Everything is reached three ways: by name through :mod:`tympan.registry`, as functions in
:mod:`tympan.functional`, and as modules in :mod:`tympan.transforms`. Attributes load lazily (PEP 562):
``import tympan`` imports neither torch nor any plugin.

Example:
    >>> import tympan
    >>> mfcc = tympan.registry.create("mfcc", sample_rate=16000, n_mfcc=13)
    >>> waveform, rate = tympan.load(tympan.assets.path("speech"))
    >>> mfcc(waveform).shape[-2]
    13
"""

from __future__ import annotations

from tympan._lazy import lazy_attributes

__version__ = "0.1.0"

_LAZY = {
    "load": "tympan.plugins.io.api",
    "save": "tympan.plugins.io.api",
    "info": "tympan.plugins.io.api",
    "stream": "tympan.plugins.io.api",
    "Pipeline": "tympan.pipeline",
    "AudioInfo": "tympan.core.audio",
    "TympanError": "tympan.core.errors",
    "load_exported": "tympan.export",
}
_SUBMODULES = {
    name: f"tympan.{name}"
    for name in (
        "assets",
        "core",
        "data",
        "export",
        "functional",
        "metrics",
        "models",
        "pipeline",
        "plugins",
        "registry",
        "testing",
        "transforms",
    )
}

__all__ = ["__version__", *_LAZY, *_SUBMODULES]

__getattr__, __dir__ = lazy_attributes("tympan", {**_LAZY, **_SUBMODULES}, globals())
