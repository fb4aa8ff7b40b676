"""The losses as plain functions; re-exported by :mod:`tympan.functional`.

Example:
    >>> import torch
    >>> from tympan.plugins.losses.functional import si_snr
    >>> x = torch.tensor([1.0, -2.0, 3.0, 0.5])
    >>> si_snr(x, x).item() > 60
    True
"""

from __future__ import annotations

from tympan.plugins.losses.alignment import forced_align, merge_tokens
from tympan.plugins.losses.ctc import CTCAlignment, TokenSpan, ctc_forced_align, ctc_loss
from tympan.plugins.losses.rnnt import rnnt_loss
from tympan.plugins.losses.separation import pit_loss, sdr, sdr_loss, si_sdr, si_sdr_loss, si_snr, si_snr_loss
from tympan.plugins.losses.spectral import multi_resolution_stft_loss

__all__ = [
    "CTCAlignment",
    "TokenSpan",
    "ctc_forced_align",
    "ctc_loss",
    "forced_align",
    "merge_tokens",
    "multi_resolution_stft_loss",
    "pit_loss",
    "rnnt_loss",
    "sdr",
    "sdr_loss",
    "si_sdr",
    "si_sdr_loss",
    "si_snr",
    "si_snr_loss",
]
