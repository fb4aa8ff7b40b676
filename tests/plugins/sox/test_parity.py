"""Every SoX effect against the ``sox`` program, case by case (see :mod:`tympan.plugins.sox.parity`).

Exact cases allow a max abs error of 1e-4 (torchaudio's bound for its sox tests; the implementations agree
to about 3e-8, the float32 output rounding, where SoX's arithmetic is reproduced). Resampling and
time-stretching cases must have SoX's length exactly and the SNR each case states (their filters and
searches differ in details SoX's output depends on); noise and dither compare statistics and spectra.
"""

from __future__ import annotations

import pytest

from tympan.plugins.sox.parity import CASES, measure, sox_available


@pytest.mark.parametrize("case", CASES, ids=[case.label for case in CASES])
def test_matches_the_sox_program(case):
    if not sox_available():
        pytest.skip("the sox program is not installed")
    found = measure(case)
    assert found.length == found.reference_length, case.label
    assert found.passed, (case.label, found)
