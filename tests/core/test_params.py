"""The Params contract: explicit models, models derived from signatures, and error messages."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
import torch
from pydantic import Field

from tympan.core.errors import InvalidParameterError, TympanError
from tympan.core.params import Params, params_of, validate_params, validated_arguments


class Explicit(torch.nn.Module):
    class Params(Params):
        n_fft: int = Field(400, gt=0, le=65536, description="FFT size.")

    def __init__(self, n_fft: int = 400) -> None:
        super().__init__()
        self.n_fft = n_fft


class Derived(torch.nn.Module):
    def __init__(self, hidden: int, dropout: float = 0.1, name: str = "x", anything=None, **extra: Any) -> None:
        super().__init__()


def make_model(layers: int = 2, *, width: int = 64) -> torch.nn.Module:
    return torch.nn.Linear(width, width)


def test_an_explicit_params_model_is_used_as_is() -> None:
    assert params_of(Explicit) is Explicit.Params
    assert validate_params(Explicit, {"n_fft": 512}).kwargs() == {"n_fft": 512}


def test_bounds_violations_name_component_field_and_bound() -> None:
    with pytest.raises(InvalidParameterError) as err:
        validate_params(Explicit, {"n_fft": 0}, name="dsp:stft")
    assert isinstance(err.value, (TympanError, ValueError))
    assert err.value.component == "dsp:stft"
    assert err.value.problems == ["n_fft: Input should be greater than 0 (got 0)"]


def test_unknown_parameters_are_rejected_by_name() -> None:
    with pytest.raises(InvalidParameterError, match="nfft: unknown parameter"):
        validate_params(Explicit, {"nfft": 512})


def test_params_are_derived_from_init_with_types_defaults_and_kwargs() -> None:
    model = params_of(Derived)
    assert params_of(Derived) is model  # cached
    assert set(model.model_fields) == {"hidden", "dropout", "name", "anything"}
    assert model.model_fields["hidden"].is_required()
    values = validate_params(Derived, {"hidden": 8, "extra_flag": True}).kwargs()
    assert values == {"hidden": 8, "dropout": 0.1, "name": "x", "anything": None, "extra_flag": True}
    with pytest.raises(InvalidParameterError, match="hidden: Field required"):
        validate_params(Derived, {})
    with pytest.raises(InvalidParameterError, match="dropout: Input should be a number, not a str"):
        validate_params(Derived, {"hidden": 1, "dropout": "high"})
    with pytest.raises(InvalidParameterError, match="hidden: Input should be an integer, not a str"):
        validate_params(Derived, {"hidden": "8"})


def test_params_are_derived_from_factory_functions() -> None:
    model = params_of(make_model)
    assert set(model.model_fields) == {"layers", "width"}
    assert "properties" in model.model_json_schema()
    with pytest.raises(InvalidParameterError, match="unknown parameter"):
        validate_params(make_model, {"depth": 3})


def test_params_are_immutable() -> None:
    params = Explicit.Params(n_fft=256)
    with pytest.raises(Exception, match="frozen"):
        params.n_fft = 3  # type: ignore[misc]


class _Echo:
    """Parameters declared once, in the signature, with a cross-field rule."""

    qualified_name = "acme:echo"

    def __init__(
        self,
        delay: Annotated[float, Field(gt=0, le=5, description="Delay in seconds.")] = 0.5,
        decay: Annotated[float, Field(ge=0, lt=1, description="Gain of each repeat.")] = 0.4,
        repeats: int = 3,
    ) -> None:
        values = validated_arguments(type(self), locals())
        self.delay, self.decay, self.repeats = values.delay, values.decay, values.repeats

    @staticmethod
    def check_params(params: Params) -> None:
        if params.delay * params.repeats > 10:  # type: ignore[attr-defined]
            raise ValueError("delay * repeats must not exceed 10 s")


def test_annotated_signature_keeps_bounds_and_descriptions() -> None:
    schema = params_of(_Echo).model_json_schema()["properties"]
    assert schema["delay"] == {
        "default": 0.5,
        "description": "Delay in seconds.",
        "exclusiveMinimum": 0,
        "maximum": 5,
        "title": "Delay",
        "type": "number",
    }
    assert schema["decay"]["exclusiveMaximum"] == 1
    assert schema["repeats"]["description"] == "`repeats` argument."
    assert _Echo(delay=1.0).delay == 1.0
    with pytest.raises(InvalidParameterError, match=r"acme:echo:\n  delay: Input should be less than or equal to 5"):
        _Echo(delay=6.0)


def test_check_params_hook_is_the_cross_field_rule() -> None:
    assert _Echo(delay=2.0, repeats=5).repeats == 5
    with pytest.raises(InvalidParameterError, match="delay \\* repeats must not exceed 10 s"):
        _Echo(delay=4.0, repeats=3)
    with pytest.raises(InvalidParameterError, match="delay \\* repeats"):
        validate_params(_Echo, {"delay": 5.0, "repeats": 3})


def test_buffer_budget_names_parameters_and_size(monkeypatch: pytest.MonkeyPatch) -> None:
    from tympan.core.budget import check_buffer_bytes, max_buffer_bytes

    monkeypatch.setenv("TYMPAN_MAX_BUFFER_BYTES", "1M")
    assert max_buffer_bytes() == 1 << 20
    check_buffer_bytes("acme:x", {"n": 1}, 1 << 20)
    with pytest.raises(InvalidParameterError, match=r"n_fft=65536, n_mels=512: imply 128.0 MiB of buffers"):
        check_buffer_bytes("acme:x", {"n_fft": 65536, "n_mels": 512}, 65536 * 512 * 4)
    for bad in ("lots", "0", "-5", "1.5G"):
        monkeypatch.setenv("TYMPAN_MAX_BUFFER_BYTES", bad)
        with pytest.raises(ValueError, match="TYMPAN_MAX_BUFFER_BYTES"):
            max_buffer_bytes()
