"""Every first-party component passes the contract checks of `tympan.testing.check_component`."""

from __future__ import annotations

import pytest
import torch

from tympan import registry
from tympan.core.errors import ComponentCheckError
from tympan.testing import check_component

# A corpus needs its files on disk to be built: each one's contract (records, metadata that reads no audio,
# items equal to torchaudio's) is checked on a generated miniature in tests/plugins/datasets. Models are checked
# in tests/plugins/models, with small configurations (their defaults are full-size).
FIRST_PARTY = [
    entry.name
    for entry in registry.entries()
    if entry.distribution == "tympan" and entry.kind not in ("dataset", "model")
]


def test_first_party_components_are_registered() -> None:
    assert {"io:soundfile", "dsp:mfcc", "dsp:mel_spectrogram", "dsp:resample"} <= set(FIRST_PARTY)


@pytest.mark.parametrize("name", FIRST_PARTY)
def test_first_party_component_conforms(name: str, component_params) -> None:
    results = check_component(name, component_params.get(name))
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
        assert {r.check for r in results if r.ok} == {"params schema", "construction", "forward"}
    finally:
        registry.unregister("transform", "acme:leaky")
