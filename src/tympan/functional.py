"""Every operation as a plain function: ``tympan.functional.mfcc(waveform, ...)``.

Re-exports the functional forms of the first-party plugins; the code lives in the plugins.

Example:
    >>> import torch, tympan.functional as F
    >>> F.amplitude_to_db(torch.tensor([1.0, 10.0]), multiplier=10.0, amin=1e-10, db_multiplier=0.0).tolist()
    [0.0, 10.0]
"""

from __future__ import annotations

from tympan._lazy import LazyFacade

__getattr__, __dir__ = LazyFacade(
    "tympan.functional",
    ["tympan.plugins.dsp.functional", "tympan.plugins.losses.functional", "tympan.plugins.decoders.functional"],
).hooks(globals())
