"""The SoX effect language on tensors, in pure PyTorch: every effect of the ``sox`` program as a module
(``sox:<name>`` in the registry), chains of them as SoX writes them, and a ``sox``-compatible command line
(``tympan sox``).

- :func:`apply_effects` / :func:`apply_effects_file`: a chain applied to a tensor or a file;
- :class:`EffectChain`: a parsed chain, an ``nn.Module`` built once and applied to many batches
  (``forward_with_lengths`` for batches of different lengths), a pipeline step ``- sox: {effects: "..."}``;
- :mod:`~tympan.plugins.sox.effects`: the effect modules; :mod:`~tympan.plugins.sox.functional`: the same as
  functions.

Each effect follows what the ``sox`` program outputs (the tests compare against it): linear filters and
editing effects sample for sample, resampling and time-stretching within a stated SNR.

Example:
    >>> import torch
    >>> from tympan.plugins.sox import apply_effects
    >>> out, rate = apply_effects(torch.randn(2, 44100) * 0.1, 44100, "gain -n speed 0.8 rate 16k pad 0 1.5 trim 0 2")
    >>> out.shape, rate
    (torch.Size([2, 32000]), 16000)
"""

from __future__ import annotations

from tympan.plugins.sox import functional
from tympan.plugins.sox._apply import apply_effects, apply_effects_file
from tympan.plugins.sox._chain import EffectChain, parse_effects
from tympan.plugins.sox.errors import SoxEffectError, UnknownEffectError

__all__ = [
    "EffectChain",
    "SoxEffectError",
    "UnknownEffectError",
    "apply_effects",
    "apply_effects_file",
    "functional",
    "parse_effects",
]
