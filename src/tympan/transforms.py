"""Every operation as an ``nn.Module`` holding its state: ``tympan.transforms.MFCC(sample_rate=16000)``.

Re-exports the module forms of the first-party plugins; the code lives in the plugins.

Example:
    >>> import tympan.transforms as T
    >>> T.MFCC(sample_rate=16000, n_mfcc=13).n_mfcc
    13
"""

from __future__ import annotations

from tympan._lazy import LazyFacade

__getattr__, __dir__ = LazyFacade(
    "tympan.transforms",
    ["tympan.plugins.dsp.transforms", "tympan.plugins.losses.modules"],
).hooks(globals())
