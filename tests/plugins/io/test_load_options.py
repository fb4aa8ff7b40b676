"""``frame_offset`` / ``num_frames`` (by seeking), ``normalize``, ``channels_first`` and ``stream``."""

from __future__ import annotations

import wave

import numpy as np
import pytest
import soundfile
import torch

import tympan

FRAMES = 4000
WINDOWS = [(0, -1), (0, 0), (1, 1), (1000, 500), (1000, -1), (FRAMES - 1, 10), (FRAMES, -1), (FRAMES + 10, 5)]
FORMATS = [("clip.wav", "WAV", "PCM_16"), ("clip.flac", "FLAC", "PCM_24"), ("clip.ogg", "OGG", "VORBIS")]


@pytest.mark.parametrize(("name", "major", "subtype"), FORMATS, ids=[case[1] for case in FORMATS])
def test_a_window_equals_the_slice_of_a_full_read(reference_file, name, major, subtype) -> None:
    path = reference_file(name, major, subtype, channels=2, frames=FRAMES)
    full, _ = tympan.load(path)
    for frame_offset, num_frames in WINDOWS:
        window, _ = tympan.load(path, frame_offset=frame_offset, num_frames=num_frames)
        end = None if num_frames == -1 else frame_offset + num_frames
        torch.testing.assert_close(window, full[:, frame_offset:end], rtol=0, atol=0)


def test_windows_are_read_by_seeking(reference_file, monkeypatch) -> None:
    path = reference_file("clip.flac", "FLAC", "PCM_16", frames=FRAMES)
    calls: list[tuple[str, int]] = []
    seek, read = soundfile.SoundFile.seek, soundfile.SoundFile.read

    def spy_seek(self, frames, whence=soundfile.SEEK_SET):
        if whence == soundfile.SEEK_SET:  # soundfile itself asks for the position with SEEK_CUR
            calls.append(("seek", frames))
        return seek(self, frames, whence)

    def spy_read(self, frames=-1, *args, **kwargs):
        calls.append(("read", frames))
        return read(self, frames, *args, **kwargs)

    monkeypatch.setattr(soundfile.SoundFile, "seek", spy_seek)
    monkeypatch.setattr(soundfile.SoundFile, "read", spy_read)

    def reads() -> list[int]:
        return [frames for call, frames in calls if call == "read"]

    tympan.load(path, frame_offset=3000, num_frames=200)
    assert calls[0] == ("seek", 3000) and reads() == [200]

    calls.clear()
    chunks = list(tympan.stream(path, 300, frame_offset=3500))
    assert calls[0] == ("seek", 3500) and reads() == [300, 200]
    assert [chunk.shape[-1] for chunk in chunks] == [300, 200]


def _wav_samples(path) -> np.ndarray:
    """The raw samples of a PCM WAV, parsed by the standard library (an independent reference)."""
    with wave.open(str(path)) as reader:
        width, channels, frames = reader.getsampwidth(), reader.getnchannels(), reader.getnframes()
        raw = reader.readframes(frames)
    if width == 3:  # little-endian 24-bit, placed in the top bytes of int32 as torchaudio does
        padded = np.zeros((len(raw) // 3, 4), np.uint8)
        padded[:, 1:] = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        return padded.view("<i4").reshape(frames, channels)
    dtype = {1: np.uint8, 2: "<i2", 4: "<i4"}[width]
    return np.frombuffer(raw, dtype).reshape(frames, channels)


@pytest.mark.parametrize(
    ("subtype", "dtype"),
    [("PCM_U8", torch.uint8), ("PCM_16", torch.int16), ("PCM_24", torch.int32), ("PCM_32", torch.int32)],
)
def test_normalize_false_keeps_integer_wav_samples(reference_file, subtype, dtype) -> None:
    path = reference_file("clip.wav", "WAV", subtype, channels=2)
    waveform, _ = tympan.load(path, normalize=False)
    assert waveform.dtype == dtype
    np.testing.assert_array_equal(waveform.T.numpy(), _wav_samples(path))
    window, _ = tympan.load(path, frame_offset=100, num_frames=7, normalize=False)
    torch.testing.assert_close(window, waveform[:, 100:107], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("name", "major", "subtype", "dtype"),
    [
        ("clip.wav", "WAV", "FLOAT", torch.float32),
        ("clip.wav", "WAV", "DOUBLE", torch.float64),
        ("clip.wav", "WAV", "ULAW", torch.float32),
        ("clip.flac", "FLAC", "PCM_16", torch.float32),
    ],
)
def test_normalize_false_gives_float_for_other_files(reference_file, name, major, subtype, dtype) -> None:
    path = reference_file(name, major, subtype)
    waveform, _ = tympan.load(path, normalize=False)
    assert waveform.dtype == dtype
    expected, _ = soundfile.read(path, dtype=str(dtype).removeprefix("torch."), always_2d=True)
    np.testing.assert_array_equal(waveform.T.numpy(), expected)


def test_normalize_true_is_float32_in_unit_range(reference_file) -> None:
    waveform, _ = tympan.load(reference_file("clip.wav", "WAV", "PCM_32"))
    assert waveform.dtype == torch.float32 and float(waveform.abs().max()) <= 1.0


def test_channels_first_false_transposes(reference_file) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16", channels=6)
    first, _ = tympan.load(path, frame_offset=10, num_frames=100)
    last, _ = tympan.load(path, frame_offset=10, num_frames=100, channels_first=False)
    assert last.shape == (100, 6)
    torch.testing.assert_close(last, first.T, rtol=0, atol=0)


@pytest.mark.parametrize("frames_per_chunk", [1, 999, 1000, FRAMES, FRAMES + 1])
@pytest.mark.parametrize(("frame_offset", "num_frames"), [(0, -1), (123, 2500), (FRAMES, -1)])
def test_stream_chunks_concatenate_to_load(reference_file, frames_per_chunk, frame_offset, num_frames) -> None:
    path = reference_file("clip.flac", "FLAC", "PCM_16", channels=2, frames=FRAMES)
    expected, _ = tympan.load(path, frame_offset=frame_offset, num_frames=num_frames, channels_first=False)
    chunks = list(
        tympan.stream(path, frames_per_chunk, frame_offset=frame_offset, num_frames=num_frames, channels_first=False)
    )
    assert all(1 <= len(chunk) <= frames_per_chunk for chunk in chunks)
    joined = torch.cat(chunks) if chunks else expected[:0]
    torch.testing.assert_close(joined, expected, rtol=0, atol=0)


def test_stream_with_native_dtype(reference_file) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16")
    chunks = list(tympan.stream(path, 1500, normalize=False))
    assert {chunk.dtype for chunk in chunks} == {torch.int16}
    torch.testing.assert_close(torch.cat(chunks, dim=1), tympan.load(path, normalize=False)[0], rtol=0, atol=0)
