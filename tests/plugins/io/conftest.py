"""Fixtures for the IO tests: deterministic test signals, reference files written by soundfile itself, and a
file that a failed save must leave as it is."""

from __future__ import annotations

import io
import os
import pathlib
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import soundfile
import torch

import tympan

Signal = Callable[..., np.ndarray]


def make_signal(frames: int, channels: int, sample_rate: int, amplitude: float = 0.8) -> np.ndarray:
    """A (frames, channels) float64 mix of tones, a different pitch per channel, within [-amplitude, amplitude]."""
    t = np.arange(frames)[:, None] / sample_rate
    pitch = 220.0 * (1 + np.arange(channels))[None, :]
    return amplitude * (0.6 * np.sin(2 * np.pi * pitch * t) + 0.4 * np.sin(2 * np.pi * 3.1 * pitch * t + 0.3))


@pytest.fixture
def signal() -> Signal:
    return make_signal


@pytest.fixture
def reference_file(tmp_path: pathlib.Path) -> Callable[..., pathlib.Path]:
    """Write a signal with soundfile directly: ``reference_file(name, major, subtype, channels, rate, frames)``."""

    def write(
        name: str, major: str, subtype: str, channels: int = 2, rate: int = 16000, frames: int = 4000
    ) -> pathlib.Path:
        path = tmp_path / name
        soundfile.write(path, make_signal(frames, channels, rate), rate, subtype=subtype, format=major)
        return path

    return write


@pytest.fixture(params=["path", "str", "bytes", "bytesio", "open-file"])
def as_source(request: pytest.FixtureRequest) -> Iterator[Callable[[pathlib.Path], object]]:
    """Turn a file into each kind of source ``load``/``info``/``stream`` accept."""
    opened: list[io.BufferedReader] = []

    def convert(path: pathlib.Path) -> object:
        if request.param == "path":
            return path
        if request.param == "str":
            return str(path)
        if request.param == "bytes":
            return path.read_bytes()
        if request.param == "bytesio":
            return io.BytesIO(path.read_bytes())
        handle = path.open("rb")
        opened.append(handle)
        return handle

    yield convert
    for handle in opened:
        handle.close()


def leftovers(directory: pathlib.Path, *keep: str) -> list[str]:
    """The names in ``directory`` other than ``keep``, sorted: what a save left behind."""
    return sorted(name for name in os.listdir(directory) if name not in keep)


@pytest.fixture
def existing(tmp_path: pathlib.Path) -> pathlib.Path:
    """A WAV that a failed save must leave exactly as it is."""
    path = tmp_path / "keep.wav"
    tympan.save(path, torch.full((1, 100), 0.25), 8000, bits_per_sample=16)
    return path


def assert_untouched(existing: pathlib.Path, before: bytes) -> None:
    """``existing`` still holds ``before`` and nothing was left beside it."""
    assert existing.read_bytes() == before
    assert leftovers(existing.parent, existing.name) == []
