"""Name resolution: qualified and bare names, kinds, first-party precedence, suggestions, conflicts."""

from __future__ import annotations

import pytest
import torch

from tympan.core.errors import AmbiguousNameError, DuplicateNameError, UnknownNameError
from tympan.registry import Entry, Registry


def entry(kind: str, name: str, obj: object, distribution: str = "acme", first_party: bool = False) -> Entry:
    made = Entry.from_object(kind, name, obj, origin="entry point", distribution=distribution)
    made.first_party = first_party
    return made


class Gain(torch.nn.Module):
    pass


class Other(torch.nn.Module):
    pass


def test_qualified_and_bare_names_resolve_to_the_same_entry() -> None:
    reg = Registry(entries=[entry("effect", "acme:gain", Gain)])
    assert reg.get("acme:gain") is Gain
    assert reg.get("gain") is Gain
    assert reg.resolve("gain").name == "acme:gain"


def test_kind_narrows_a_name_that_two_kinds_share() -> None:
    reg = Registry(entries=[entry("effect", "acme:gain", Gain), entry("transform", "acme:gain", Other)])
    with pytest.raises(AmbiguousNameError) as err:
        reg.get("acme:gain")
    assert err.value.candidates == ["effect acme:gain", "transform acme:gain"]
    assert reg.get("acme:gain", kind="transform") is Other
    assert reg.get("gain", kind="effect") is Gain


def test_first_party_wins_a_shared_bare_name() -> None:
    reg = Registry(
        entries=[
            entry("effect", "sox:gain", Gain, distribution="tympan", first_party=True),
            entry("effect", "acme:gain", Other),
        ]
    )
    assert reg.get("gain") is Gain
    assert reg.get("acme:gain") is Other


def test_third_parties_sharing_a_bare_name_are_ambiguous_with_candidates() -> None:
    reg = Registry(entries=[entry("effect", "acme:gain", Gain), entry("effect", "zeta:gain", Other, "zeta")])
    with pytest.raises(AmbiguousNameError) as err:
        reg.get("gain")
    assert isinstance(err.value, KeyError)
    assert "effect acme:gain" in str(err.value) and "effect zeta:gain" in str(err.value)


def test_unknown_name_suggests_close_matches() -> None:
    reg = Registry(entries=[entry("transform", "dsp:mel_spectrogram", Gain), entry("transform", "dsp:mfcc", Other)])
    with pytest.raises(UnknownNameError) as err:
        reg.get("mel_spectrogam")
    assert isinstance(err.value, KeyError)
    assert err.value.suggestions == ["dsp:mel_spectrogram"]
    assert "did you mean: dsp:mel_spectrogram" in str(err.value)
    assert "tympan list" in str(err.value)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown kind 'filter'"):
        Registry(entries=[]).names("filter")


def test_two_third_parties_claiming_one_name_raise_naming_both() -> None:
    reg = Registry(
        entries=[entry("effect", "acme:gain", Gain, "acme-a"), entry("effect", "acme:gain", Other, "acme-b")]
    )
    with pytest.raises(DuplicateNameError) as err:
        reg.get("acme:gain")
    assert "acme-a" in str(err.value) and "acme-b" in str(err.value)


def test_a_third_party_cannot_take_over_a_first_party_name() -> None:
    reg = Registry(
        entries=[
            entry("transform", "dsp:mfcc", Gain, "tympan", first_party=True),
            entry("transform", "dsp:mfcc", Other, "evil"),
        ]
    )
    assert reg.get("dsp:mfcc") is Gain
    problems = {d.name: d.problems for d in reg.distributions(load=False)}
    assert any("evil" in p and "tympan" in p for p in problems["evil"])


def test_names_filter_by_kind_and_pattern_on_qualified_or_bare_name() -> None:
    reg = Registry(
        entries=[
            entry("transform", "dsp:mel_spectrogram", Gain),
            entry("transform", "dsp:mfcc", Other),
            entry("effect", "sox:gain", Gain),
        ]
    )
    assert reg.names() == ["dsp:mel_spectrogram", "dsp:mfcc", "sox:gain"]
    assert reg.names("transform", "m*") == ["dsp:mel_spectrogram", "dsp:mfcc"]
    assert reg.names(pattern="sox:*") == ["sox:gain"]
    assert reg.names("effect", "*mel*") == []


def test_runtime_registration_decorator_and_idempotence() -> None:
    reg = Registry(entries=[])

    @reg.register("transform", "notebook:double")
    class Double(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    assert reg.get("double") is Double
    assert reg.register("transform", "notebook:double", Double) is Double  # same object: no-op
    with pytest.raises(DuplicateNameError):
        reg.register("transform", "notebook:double", Gain)
    with pytest.raises(ValueError, match="qualified"):
        reg.register("transform", "double", Gain)
    reg.unregister("transform", "notebook:double")
    with pytest.raises(UnknownNameError):
        reg.get("double")


def test_create_validates_parameters_with_the_derived_params() -> None:
    from tympan.core.errors import InvalidParameterError

    class Scale(torch.nn.Module):
        def __init__(self, factor: float = 1.0, bias: int = 0) -> None:
            super().__init__()
            self.factor = factor
            self.bias = bias

    reg = Registry(entries=[entry("transform", "acme:scale", Scale)])
    assert reg.create("scale", factor=2).factor == 2.0  # an integer fills a float field
    with pytest.raises(InvalidParameterError, match="factor: Input should be a number, not a str"):
        reg.create("scale", factor="2.5")  # strings are not numbers: the strict types of every Params
    with pytest.raises(InvalidParameterError) as err:
        reg.create("scale", factor="loud", gain=3)
    text = str(err.value)
    assert "acme:scale" in text and "factor" in text and "gain: unknown parameter" in text


def test_get_caches_the_loaded_object_per_name_and_kind() -> None:
    reg = Registry(entries=[entry("transform", "acme:gain", Gain)])
    assert reg.get("gain") is reg.get("gain") is reg.get("acme:gain", "transform") is Gain


def test_suggestions_keep_every_namespace_of_a_close_bare_name() -> None:
    reg = Registry(
        entries=[
            entry("transform", "dsp:mfcc", Gain, "tympan", first_party=True),
            entry("transform", "acme:mfcc", Other),
        ]
    )
    with pytest.raises(UnknownNameError) as err:
        reg.get("mfc")
    assert err.value.suggestions[:2] == ["dsp:mfcc", "acme:mfcc"]


def test_first_party_namespaces_rank_bare_names() -> None:
    from tympan import registry

    assert registry.resolve("mfcc").name == "dsp:mfcc"
    assert registry.resolve("spectrogram", kind="transform").name == "dsp:spectrogram"
    assert registry.resolve("kaldi:mfcc").name == "kaldi:mfcc"
