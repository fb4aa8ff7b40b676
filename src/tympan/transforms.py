"""Every operation as an ``nn.Module`` holding its state: ``tympan.transforms.MFCC(sample_rate=16000)``.

Re-exports the module forms of the first-party plugins; the code lives in the plugins.

Example:
    >>> import tympan.transforms as T
    >>> T.MFCC(sample_rate=16000, n_mfcc=13).n_mfcc
    13
"""

from __future__ import annotations

from typing import Any

from tympan._facade import LazyFacade

_FACADE = LazyFacade(
    "tympan.transforms",
    ["tympan.plugins.dsp.transforms", "tympan.plugins.losses.modules"],
)


def __getattr__(name: str) -> Any:
    value = _FACADE.resolve(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return _FACADE.names()
