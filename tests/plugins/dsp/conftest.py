"""Test signals for the DSP suite (chirps and noise generated here, deterministic per seed), every
registered transform built with its example input, and the shared contract assertions importable."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from tympan import registry
from tympan.core.components import input_rate_parameter

sys.path.insert(0, str(Path(__file__).parent))

SignalFactory = Callable[..., torch.Tensor]


def _chirp(
    sample_rate: int = 16000,
    seconds: float = 0.5,
    batch: tuple[int, ...] = (),
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    f_low: float = 50.0,
    f_high: float | None = None,
    noise: float = 0.05,
) -> torch.Tensor:
    """A logarithmic chirp from ``f_low`` to ``f_high`` (default 0.45 * sample_rate) plus white noise.

    Items along ``batch`` differ (each gets its own phase, amplitude and noise).
    """
    rng = np.random.default_rng(seed)
    f_high = 0.45 * sample_rate if f_high is None else f_high
    count = int(np.prod(batch)) if batch else 1
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    rate = np.log(f_high / f_low) / seconds
    phase = 2 * np.pi * f_low * (np.exp(rate * t) - 1) / rate
    offsets = rng.uniform(0, 2 * np.pi, size=(count, 1))
    amplitude = rng.uniform(0.2, 1.0, size=(count, 1))
    signal = amplitude * np.sin(phase + offsets) + noise * rng.standard_normal((count, t.size))
    return torch.from_numpy(signal.reshape((*batch, t.size)) if batch else signal[0]).to(dtype)


@pytest.fixture
def chirp() -> SignalFactory:
    """Factory of chirp-plus-noise test signals: ``chirp(sample_rate, seconds, batch, dtype, seed)``."""
    return _chirp


@pytest.fixture
def tones() -> Callable[..., tuple[torch.Tensor, Callable[[np.ndarray], np.ndarray]]]:
    """Factory of band-limited signals (a few sines below ``band`` Hz) and their continuous-time formula."""

    def make(sample_rate: int, seconds: float, band: float, seed: int = 0):
        rng = np.random.default_rng(seed)
        freqs = rng.uniform(0.02 * band, band, size=5)
        phases = rng.uniform(0, 2 * np.pi, size=5)

        def at(times: np.ndarray) -> np.ndarray:
            return np.sin(2 * np.pi * freqs[:, None] * times[None, :] + phases[:, None]).sum(0) / 5

        samples = at(np.arange(int(sample_rate * seconds)) / sample_rate)
        return torch.from_numpy(samples), at

    return make


Built = tuple[torch.nn.Module, tuple[torch.Tensor, ...]]


@pytest.fixture
def build_registered(component_params) -> Callable[[str], Built]:
    """``build(name)``: the registered transform with its test parameters (the input rate 16 kHz) and its
    example input, a tuple of tensors (several for multi-input modules)."""

    def build(name: str) -> Built:
        params = dict(component_params.get(name, {}))
        rate = input_rate_parameter(registry.get(name))
        if rate and rate not in params:
            params[rate] = 16000
        module = registry.create(name, **params)
        maker = getattr(module, "example_input", None)
        if not callable(maker):
            return module, (0.5 * torch.randn(2, 4000, generator=torch.Generator().manual_seed(0)),)
        made = maker(2)
        return module, tuple(made) if isinstance(made, (tuple, list)) else (made,)

    return build
