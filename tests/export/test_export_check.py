"""check_component(export=True): dynamic export equal to eager, and data-dependent lengths declared both ways."""

from __future__ import annotations

from typing import ClassVar

import pytest
import torch

from tympan import registry
from tympan.testing import check_component

# A representative subset of first-party components, to keep the test's time bounded: the spectral
# features, resampling, an element-wise transform, a component whose output length depends on the data, and
# components fed (batch, frames, dim) features, whose declared time axis is the frames.
SUBSET = {
    "kaldi:add_deltas": {},
    "kaldi:cmvn": {"norm_vars": True},
    "kaldi:process_pitch": {},
    "dsp:mfcc": {},
    "dsp:lfcc": {},
    "dsp:resample": {"new_freq": 22050},
    "dsp:amplitude_to_db": {},
    "dsp:vad": {},
}


@pytest.mark.parametrize("name", sorted(SUBSET))
def test_first_party_components_pass_the_export_check(name: str) -> None:
    results = check_component(name, SUBSET[name], export=True)
    assert [r.check for r in results if r.check.startswith("torch.export")], name


class _TrimsByValue(torch.nn.Module):
    """Keeps the samples up to the first one above 0.9: the output length depends on the values."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stop = int((x.abs() > 0.9).float().argmax())
        return x[..., : max(stop, 1)]


class _WronglyDeclared(torch.nn.Module):
    """Declares a data-dependent length that it does not have."""

    data_dependent_length: ClassVar[bool] = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x


def test_the_declaration_is_checked_both_ways() -> None:
    registry.register("transform", "acme:trims_by_value", _TrimsByValue)
    registry.register("transform", "acme:wrongly_declared", _WronglyDeclared)
    undeclared = check_component("acme:trims_by_value", export=True, raise_on_failure=False)
    wrong = check_component("acme:wrongly_declared", export=True, raise_on_failure=False)
    assert [r.ok for r in undeclared if r.check == "torch.export"] == [False]
    failed = [r for r in wrong if r.check == "torch.export declaration"]
    assert len(failed) == 1 and not failed[0].ok and "but exports with a dynamic length" in failed[0].detail
