"""Assertions of the component contract that the DSP test modules share, each with the tolerance its caller
states: a batch equals its items, TorchScript and pickling keep the output, bad parameters are refused."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import torch

from tympan.core.errors import InvalidParameterError


def assert_batch_equals_items(module: torch.nn.Module, batch: torch.Tensor, rtol: float, atol: float) -> None:
    """``module`` on ``batch`` equals ``module`` on each item of its two leading (batch) dimensions."""
    together = module(batch)
    for i in range(batch.shape[0]):
        for j in range(batch.shape[1]):
            torch.testing.assert_close(together[i, j], module(batch[i, j]), rtol=rtol, atol=atol)


def assert_scripted_and_pickled_keep_the_output(
    module: torch.nn.Module, x: torch.Tensor, scripted_atol: float = 0.0
) -> None:
    """The scripted module gives the module's output on ``x`` within ``scripted_atol``, the unpickled one exactly."""
    expected = module(x)
    torch.testing.assert_close(torch.jit.script(module)(x), expected, rtol=0, atol=scripted_atol)
    torch.testing.assert_close(pickle.loads(pickle.dumps(module))(x), expected, rtol=0, atol=0)


def assert_refused_at_construction(cls: Any, values: dict[str, Any], field: str) -> None:
    """Constructing ``cls`` from ``values`` raises ``InvalidParameterError`` naming ``field`` and the component."""
    with pytest.raises(InvalidParameterError, match=field) as error:
        cls(**values)
    assert error.value.component == cls.qualified_name
