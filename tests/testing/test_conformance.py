"""Every first-party component passes the contract checks of `tympan.testing.check_component`."""

from __future__ import annotations

import pytest
import torch

from tympan import registry
from tympan.core.errors import ComponentCheckError
from tympan.testing import check_component

FIRST_PARTY = [entry.name for entry in registry.entries() if entry.distribution == "tympan"]

#: Parameters for components that need some (required ones, or determinism for the batch check).
PARAMS = {
    "dsp:inverse_mel_scale": {"n_stft": 201, "n_mels": 40},
    "dsp:griffin_lim": {"rand_init": False, "n_iter": 4},
    "dsp:vol": {"gain": 0.5},
    "dsp:lfilter": {"a_coeffs": [1.0, -0.5], "b_coeffs": [0.5, 0.0]},
    "dsp:filtfilt": {"a_coeffs": [1.0, -0.5], "b_coeffs": [0.5, 0.0]},
    "dsp:sosfilt": {"sos": [[0.2, 0.4, 0.2, 1.0, -0.3, 0.1]]},
    "dsp:biquad": {"b0": 0.2, "b1": 0.4, "b2": 0.2, "a0": 1.0, "a1": -0.3, "a2": 0.1},
    "dsp:lowpass_biquad": {"cutoff_freq": 1000.0},
    "dsp:highpass_biquad": {"cutoff_freq": 1000.0},
    "dsp:allpass_biquad": {"central_freq": 1000.0},
    "dsp:bandpass_biquad": {"central_freq": 1000.0},
    "dsp:bandreject_biquad": {"central_freq": 1000.0},
    "dsp:band_biquad": {"central_freq": 1000.0},
    "dsp:bass_biquad": {"gain": 6.0},
    "dsp:treble_biquad": {"gain": -6.0},
    "dsp:equalizer_biquad": {"center_freq": 1000.0, "gain": 3.0},
    "dsp:deemph_biquad": {"sample_rate": 44100},
    "dsp:riaa_biquad": {"sample_rate": 44100},
}


def test_first_party_components_are_registered() -> None:
    assert {"io:soundfile", "dsp:mfcc", "dsp:mel_spectrogram", "dsp:resample"} <= set(FIRST_PARTY)


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_first_party_component_conforms(name: str) -> None:
    results = check_component(name, PARAMS.get(name))
    assert results and all(result.ok for result in results)


def test_a_failing_component_is_reported_with_every_failed_check() -> None:
    class Leaky(torch.nn.Module):
        """Mixes the batch (item i depends on the others), gives NaN on silence, and, being defined inside
        a function, cannot be pickled for DataLoader workers."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x / x.std() if x.dim() > 1 else x / x.std() + 1

    registry.register("transform", "acme:leaky", Leaky)
    try:
        with pytest.raises(ComponentCheckError) as err:
            check_component("acme:leaky")
        failed = {line.split(":")[0].split(maxsplit=1)[1] for line in err.value.failures}
        assert failed == {"finite on silence", "batch consistency", "pickling"}
        results = check_component("acme:leaky", raise_on_failure=False)
        assert {r.check for r in results if r.ok} == {"params schema", "construction"}
    finally:
        registry.unregister("transform", "acme:leaky")
