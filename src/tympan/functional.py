"""Every operation as a plain function: ``tympan.functional.mfcc(waveform, ...)``.

Re-exports the functional forms of the first-party plugins; the code lives in the plugins.

Example:
    >>> import torch, tympan.functional as F
    >>> F.amplitude_to_db(torch.tensor([1.0, 10.0]), multiplier=10.0, amin=1e-10, db_multiplier=0.0).tolist()
    [0.0, 10.0]
"""

from __future__ import annotations

from typing import Any

from tympan._facade import LazyFacade

_FACADE = LazyFacade(
    "tympan.functional",
    ["tympan.plugins.dsp.functional", "tympan.plugins.losses.functional"],
)


def __getattr__(name: str) -> Any:
    value = _FACADE.resolve(name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return _FACADE.names()
