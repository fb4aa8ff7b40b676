"""``tempo``'s search taken a block of segments at a time: with blocks of three segments (so a one-second
signal crosses a dozen block boundaries) the offsets and the output are the same as in one block, and
match the ``sox`` program's (SNR >= 80 dB, the parity table's bound for ``tempo``; the offsets agree
exactly, so it is about 140 dB)."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pytest
import torch

from tympan import registry
from tympan.core.errors import InvalidParameterError
from tympan.plugins.sox import apply_effects, parity
from tympan.plugins.sox.functional import _tempo


@pytest.mark.parametrize("effects", ["tempo 1.1", "tempo -q 0.8"])
def test_blocks_of_segments_change_nothing_and_match_sox(effects, monkeypatch):
    if not parity.sox_available():
        pytest.skip("the sox program is not installed")
    signal = parity.test_signal("chirp", 16000, 2, 1.0, seed=3)
    whole = apply_effects(torch.from_numpy(signal), 16000, effects)[0]
    monkeypatch.setattr(_tempo, "_BLOCK", 3)
    blocked = apply_effects(torch.from_numpy(signal), 16000, effects)[0]
    assert torch.equal(blocked, whole)
    reference = parity.run_sox(signal, 16000, effects)[0]
    assert blocked.shape == reference.shape
    noise = np.sum((blocked.numpy().astype(np.float64) - reference) ** 2)
    snr = math.inf if noise == 0 else 10 * math.log10(np.sum(reference**2) / noise)
    assert snr >= 80.0, snr


def test_a_segment_not_longer_than_its_overlap_is_refused_where_sox_fails():
    if not parity.sox_available():
        pytest.skip("the sox program is not installed")
    signal = parity.test_signal("chirp", 72, 1, 1.0, seed=3)
    with pytest.raises(subprocess.CalledProcessError):
        parity.run_sox(signal, 72, "tempo 100")
    with pytest.raises(InvalidParameterError, match="6-sample segment"):
        registry.create("sox:tempo", sample_rate=72, factor=100.0)
    slow = parity.test_signal("chirp", 800, 1, 1.0, seed=3)
    ours = apply_effects(torch.from_numpy(slow), 800, "tempo 100")[0]
    assert ours.shape == parity.run_sox(slow, 800, "tempo 100")[0].shape
