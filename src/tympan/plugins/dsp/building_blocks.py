"""The DSP plugin's building blocks for other plugins: what the SoX and Kaldi plugins build their effects and
features on, public so that any plugin builds on them the same way (the operations users call are in
:mod:`tympan.plugins.dsp.functional` and :mod:`tympan.plugins.dsp.transforms`).

- Biquad design: ``*_coefficients(sample_rate, ...)`` give one ``(6,)`` row ``b0 b1 b2 a0 a1 a2`` of
  float64 (Robert Bristow-Johnson's cookbook, as SoX and torchaudio design them); ``RIAA_RATES`` and
  ``DEEMPH_RATES`` are the rates the RIAA and CD de-emphasis curves are defined at.
- IIR filtering: :func:`filter_waveform` runs a direct-form filter over ``(..., time)`` without argument
  checks; :func:`linear_recurrence` solves ``y[n] = x[n] + c * y[n - 1]`` by blocks; :class:`IirStep`
  filters chunk by chunk with its state carried between calls.
- Traced recursions: a block recursion runs a fixed number of levels, enough for :data:`LONGEST` samples,
  and :func:`block_count` lays out blocks so that a program traced once holds for every length.
- Counter-based noise: :func:`counter_uniform` draws sample ``i``'s noise from ``(seed, stream, i)`` alone
  and :func:`counter_normal` from ``(seed, i)``, so noise does not depend on how a signal is cut into chunks
  or batches.
- Modulated delays: :func:`lfo_table`, :func:`phaser_sweep` and :func:`apply_phaser`, the phaser's parts.
- SoX's level effects without argument checks: :func:`apply_contrast`, :func:`apply_dcshift`,
  :func:`apply_overdrive` (checked once when an effect is built, not on every call).
- Resampling by FFT blocks: :func:`fft_resampling_plan` (the plan ``sinc_interp_kaiser_fft`` applies).

Example:
    >>> import torch
    >>> from tympan.plugins.dsp.building_blocks import filter_waveform, lowpass_coefficients
    >>> b0, b1, b2, a0, a1, a2 = lowpass_coefficients(16000, 1000.0)
    >>> a, b = torch.stack([a0, a1, a2])[None] / a0, torch.stack([b0, b1, b2])[None] / a0
    >>> steady = filter_waveform(torch.ones(1, 400, dtype=torch.float64), a, b, clamp=False)[0, -1]
    >>> round(steady.item(), 6)  # a low-pass passes a constant unchanged
    1.0
"""

from __future__ import annotations

from tympan.plugins.dsp.functional._biquad_design import (
    DEEMPH_RATES,
    RIAA_RATES,
    allpass_coefficients,
    band_coefficients,
    bandpass_coefficients,
    bandreject_coefficients,
    bass_coefficients,
    deemph_coefficients,
    equalizer_coefficients,
    highpass_coefficients,
    lowpass_coefficients,
    riaa_coefficients,
    treble_coefficients,
)
from tympan.plugins.dsp.functional._blocks import LONGEST, block_count
from tympan.plugins.dsp.functional._counter_noise import counter_normal, counter_uniform
from tympan.plugins.dsp.functional._iir import filter_waveform
from tympan.plugins.dsp.functional._modulated_delay import apply_phaser, lfo_table, phaser_sweep
from tympan.plugins.dsp.functional._recurrence import linear_recurrence
from tympan.plugins.dsp.functional._resample_fft import fft_resampling_plan
from tympan.plugins.dsp.functional._sox_effects import apply_contrast, apply_dcshift, apply_overdrive
from tympan.plugins.dsp.transforms._iir_step import IirStep

__all__ = [
    "DEEMPH_RATES",
    "LONGEST",
    "RIAA_RATES",
    "IirStep",
    "allpass_coefficients",
    "apply_contrast",
    "apply_dcshift",
    "apply_overdrive",
    "apply_phaser",
    "band_coefficients",
    "bandpass_coefficients",
    "bandreject_coefficients",
    "bass_coefficients",
    "block_count",
    "counter_normal",
    "counter_uniform",
    "deemph_coefficients",
    "equalizer_coefficients",
    "fft_resampling_plan",
    "filter_waveform",
    "highpass_coefficients",
    "lfo_table",
    "linear_recurrence",
    "lowpass_coefficients",
    "phaser_sweep",
    "riaa_coefficients",
    "treble_coefficients",
]
