"""Torch-valued parameters named in configurations: dtypes and window functions."""

from __future__ import annotations

import pytest
import torch
from pydantic import Field

from tympan.core.errors import InvalidParameterError
from tympan.core.fields import WINDOWS, TorchDtype, WindowFunction
from tympan.core.params import Params, validate_params


class Windowed:
    class Params(Params):
        window_fn: WindowFunction = Field("hann", validate_default=True, description="Window.")
        dtype: TorchDtype | None = Field(None, description="dtype.")


@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_window_names_round_trip(name: str) -> None:
    params = validate_params(Windowed, {"window_fn": name})
    assert params.window_fn is WINDOWS[name]
    assert params.model_dump(mode="json")["window_fn"] == name


def test_dtypes_accept_names_and_objects() -> None:
    assert validate_params(Windowed, {"dtype": "torch.float64"}).dtype is torch.float64
    assert validate_params(Windowed, {"dtype": torch.bfloat16}).model_dump(mode="json")["dtype"] == "bfloat16"


def test_bad_names_are_parameter_errors() -> None:
    with pytest.raises(InvalidParameterError, match=r"window_fn: Value error, expected a window name \(hann"):
        validate_params(Windowed, {"window_fn": "hanning"})
    with pytest.raises(InvalidParameterError, match="dtype: Value error, expected a dtype name"):
        validate_params(Windowed, {"dtype": "float8"})


def test_an_unnamed_window_stays_usable_but_cannot_be_serialised() -> None:
    def custom(length: int) -> torch.Tensor:
        return torch.ones(length)

    params = validate_params(Windowed, {"window_fn": custom})
    assert params.window_fn is custom
    with pytest.raises(ValueError, match="has no name a configuration can hold"):
        params.model_dump(mode="json")


def test_the_schema_lists_the_names_and_a_named_default() -> None:
    schema = Windowed.Params.model_json_schema()["properties"]
    assert schema["window_fn"]["enum"] == list(WINDOWS) and schema["window_fn"]["default"] == "hann"
    assert Windowed.Params().window_fn is torch.hann_window
