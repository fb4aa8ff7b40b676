"""``rate``'s stop band against the ``sox`` program: tones past the new Nyquist frequency must come out at
least as attenuated as SoX -h leaves them (about 144 dB; ours, filtered in float64, about 157 dB)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tympan.plugins.sox import apply_effects
from tympan.plugins.sox.parity import run_sox, sox_available


def _weakest_attenuation_db(out: np.ndarray, tones: int, per_tone: int) -> float:
    gains = []
    for index in range(tones):
        middle = out[index * per_tone + per_tone // 4 : index * per_tone + 3 * per_tone // 4].astype(np.float64)
        gains.append(20 * np.log10(np.sqrt(np.mean(middle**2) / 0.125) + 1e-30))
    return -max(gains)


def test_high_quality_stop_band_attenuates_at_least_as_much_as_sox():
    if not sox_available():
        pytest.skip("the sox program is not installed")
    t = np.arange(44100 // 2) / 44100
    frequencies = (8100.37, 11000.37, 21600.37)
    signal = np.concatenate([0.5 * np.sin(2 * np.pi * f * t) for f in frequencies]).astype(np.float32)[None]
    effects = "rate -h 16k"
    ours = apply_effects(torch.from_numpy(signal), 44100, effects)[0][0].numpy()
    reference = run_sox(signal, 44100, effects)[0][0]
    assert ours.shape == reference.shape
    ours_db = _weakest_attenuation_db(ours, len(frequencies), 8000)
    sox_db = _weakest_attenuation_db(reference, len(frequencies), 8000)
    assert ours_db >= sox_db, (ours_db, sox_db)
