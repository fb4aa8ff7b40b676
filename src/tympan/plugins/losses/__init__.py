"""First-party losses: RNN-T (PyTorch wavefront and Triton kernels), CTC and forced alignment, separation
objectives (SI-SNR, SI-SDR, SDR, PIT) and the multi-resolution STFT loss.

Functions live in :mod:`.functional` (re-exported by ``tympan.functional``), modules in :mod:`.modules`
(re-exported by ``tympan.transforms`` and registered as ``loss:*`` components).

Example:
    >>> import torch
    >>> from tympan.plugins.losses.modules import SISNRLoss
    >>> x = torch.randn(1, 8)
    >>> SISNRLoss()(x, x).item() < -60
    True
"""
