"""File objects that do not start at position 0: every backend reads the audio from where the object is,
as from the same bytes handed over on their own."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import soundfile
import torch

import tympan

CASES = [
    ("io:soundfile", "WAV", "PCM_16"),
    ("io:soundfile", "FLAC", "PCM_24"),
    ("io:soundfile", "OGG", "VORBIS"),
    ("io:wav", "WAV", "PCM_24"),
    ("io:ffmpeg", "WAV", "PCM_16"),
    ("io:ffmpeg", "FLAC", "PCM_16"),
    ("io:ffmpeg", "OGG", "VORBIS"),
]


@pytest.mark.parametrize(("backend", "major", "subtype"), CASES)
def test_audio_after_other_bytes_reads_as_on_its_own(backend, major, subtype) -> None:
    frames = np.random.default_rng(0).uniform(-0.5, 0.5, (1000, 2))
    encoded = io.BytesIO()
    soundfile.write(encoded, frames, 8000, format=major, subtype=subtype)
    alone, rate = tympan.load(encoded.getvalue(), backend=backend)
    handle = io.BytesIO(b"\x00" * 20 + encoded.getvalue())
    handle.seek(20)
    after, after_rate = tympan.load(handle, backend=backend)
    # Tolerance: exact (the same decoder on the same bytes).
    assert after_rate == rate
    torch.testing.assert_close(after, alone, rtol=0, atol=0)
    handle.seek(20)
    window, _ = tympan.load(handle, frame_offset=300, num_frames=200, backend=backend)
    torch.testing.assert_close(window, alone[:, 300:500], rtol=0, atol=0)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts descriptors through Linux's /proc")
@pytest.mark.parametrize("options", [{}, {"channels": [1]}])
@pytest.mark.parametrize(("backend", "suffix"), [("io:soundfile", "flac"), ("io:wav", "wav"), ("io:ffmpeg", "flac")])
def test_a_stream_closed_before_its_first_chunk_releases_the_file(tmp_path, backend, suffix, options) -> None:
    path = tmp_path / f"clip.{suffix}"
    soundfile.write(path, np.zeros((800, 2)), 8000)
    before = _open_descriptors()
    chunks = tympan.stream(path, 100, backend=backend, **options)
    assert _open_descriptors() == before + 1  # opened (and checked) at once
    chunks.close()
    assert _open_descriptors() == before
    chunks = tympan.stream(path, 300, backend=backend, **options)
    assert [chunk.shape[-1] for chunk in chunks] == [300, 300, 200]
    assert _open_descriptors() == before
