"""Bad input raises a typed error that names the file; a failed save changes nothing on disk."""

from __future__ import annotations

import io
import os

import pytest
import soundfile
import torch

import tympan
from tympan.core.errors import AudioDecodeError, InvalidParameterError, TympanError, UnsupportedFormatError

from .conftest import assert_untouched, leftovers


def _raises(error: type[BaseException], where: object, call, *args, **kwargs) -> BaseException:
    with pytest.raises(error) as caught:
        call(*args, **kwargs)
    assert str(where) in str(caught.value)
    return caught.value


# --- reading -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", [tympan.load, tympan.info, lambda src: list(tympan.stream(src, 100))])
def test_empty_file(tmp_path, call) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _raises(AudioDecodeError, path, call, path)
    _raises(AudioDecodeError, "<0 bytes>", call, b"")


@pytest.mark.parametrize("call", [tympan.load, tympan.info])
def test_random_bytes_with_an_audio_extension(tmp_path, call) -> None:
    path = tmp_path / "noise.flac"
    path.write_bytes(os.urandom(4096))
    _raises(AudioDecodeError, path, call, path)


def test_random_bytes_without_a_recognised_header(tmp_path) -> None:
    _raises(UnsupportedFormatError, "<4096 bytes>", tympan.load, b"\x00" * 4096)
    path = tmp_path / "noise.xyz"
    path.write_bytes(b"\x00" * 4096)
    error = _raises(UnsupportedFormatError, path, tympan.load, path)
    assert "'xyz'" in str(error)


def test_text_with_a_wav_extension(tmp_path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\n" * 20)
    _raises(AudioDecodeError, path, tympan.load, path)


@pytest.mark.parametrize(
    ("name", "major", "subtype", "keep"),
    [
        ("cut.wav", "WAV", "PCM_16", 0.5),
        ("header.wav", "WAV", "PCM_16", 30),
        ("cut.flac", "FLAC", "PCM_24", 0.5),
        ("cut.ogg", "OGG", "VORBIS", 0.5),
    ],
)
def test_truncated_files(reference_file, name, major, subtype, keep) -> None:
    path = reference_file(name, major, subtype, frames=16000)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    _raises(AudioDecodeError, path, tympan.load, path)
    _raises(AudioDecodeError, "bytes>", tympan.load, path.read_bytes())


def test_info_refuses_a_truncated_wav(reference_file) -> None:
    path = reference_file("cut.wav", "WAV", "PCM_16", frames=16000)
    path.write_bytes(path.read_bytes()[:20000])
    _raises(AudioDecodeError, path, tympan.info, path)


def test_streamed_wav_header_without_a_length_is_read(reference_file) -> None:
    path = reference_file("live.wav", "WAV", "PCM_16", frames=1000)
    data = bytearray(path.read_bytes())
    data[4:8] = data[40:44] = b"\xff\xff\xff\xff"  # RIFF and data sizes as a streaming writer leaves them
    path.write_bytes(bytes(data))
    assert tympan.load(path)[0].shape == (2, 1000)


def test_missing_file_names_the_path(tmp_path) -> None:
    missing = tmp_path / "missing.wav"
    _raises(FileNotFoundError, missing, tympan.load, missing)
    _raises(FileNotFoundError, missing, tympan.info, missing)
    _raises(IsADirectoryError, tmp_path, tympan.load, tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"frame_offset": -1}, "frame_offset"),
        ({"num_frames": -2}, "num_frames"),
        ({"frame_offset": 1.5}, "frame_offset"),
        ({"num_frames": 2.0}, "num_frames"),
    ],
)
def test_bad_windows(reference_file, kwargs, parameter) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16")
    error = _raises(InvalidParameterError, path, tympan.load, path, **kwargs)
    assert parameter in str(error) and isinstance(error, ValueError)
    _raises(InvalidParameterError, path, tympan.stream, path, 100, **kwargs)


@pytest.mark.parametrize("frames_per_chunk", [0, -3])
def test_bad_chunk_size(reference_file, frames_per_chunk) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16")
    error = _raises(InvalidParameterError, path, tympan.stream, path, frames_per_chunk)
    assert "frames_per_chunk" in str(error)


def test_corrupted_headers_raise_only_typed_errors(reference_file) -> None:
    for name, major, subtype in [
        ("a.wav", "WAV", "PCM_24"),
        ("a.flac", "FLAC", "PCM_16"),
        ("a.aiff", "AIFF", "PCM_16"),
    ]:
        original = reference_file(name, major, subtype, frames=500).read_bytes()
        for position in range(0, 64, 3):
            for value in (0x00, 0xFF, 0x7F):
                data = bytearray(original)
                data[position] = value
                try:
                    tympan.load(bytes(data))
                except (TympanError, ValueError) as error:
                    assert "bytes>" in str(error)


# --- writing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("waveform", "kwargs", "problem"),
    [
        (torch.tensor([[0.0, float("nan")]]), {"bits_per_sample": 16}, "NaN"),
        (torch.tensor([[0.0, float("inf")]]), {"encoding": "ULAW"}, "NaN or infinite"),
        (torch.tensor([[0.0, float("nan")]]), {"format": "flac"}, "NaN"),
        (torch.tensor([[0.5, 1.5]]), {"bits_per_sample": 24}, "[-1, 1]"),
        (torch.tensor([[-1.01]]), {"encoding": "PCM_U"}, "[-1, 1]"),
        (torch.zeros(1, 2, 100), {}, "1-D or 2-D"),
        (torch.zeros(0, 100), {}, "no channels"),
        (torch.zeros(1, 100, dtype=torch.int64), {}, "int64"),
        (torch.zeros(1, 100, dtype=torch.complex64), {}, "complex64"),
    ],
)
def test_invalid_waveforms_are_refused_before_writing(existing, waveform, kwargs, problem) -> None:
    before = existing.read_bytes()
    error = _raises(InvalidParameterError, existing, tympan.save, existing, waveform, 8000, **kwargs)
    assert problem in str(error) and "waveform" in str(error)
    assert_untouched(existing, before)


def test_nan_is_allowed_in_float_wav(tmp_path) -> None:
    tympan.save(tmp_path / "float.wav", torch.tensor([[0.0, float("nan"), 2.0]]), 8000)
    waveform, _ = tympan.load(tmp_path / "float.wav")
    assert torch.isnan(waveform[0, 1]) and waveform[0, 2] == 2.0


@pytest.mark.parametrize("sample_rate", [0, -8000, 8000.5])
def test_bad_sample_rate(existing, sample_rate) -> None:
    error = _raises(InvalidParameterError, existing, tympan.save, existing, torch.zeros(1, 10), sample_rate)
    assert "sample_rate" in str(error)


@pytest.mark.parametrize(
    ("name", "kwargs", "problem"),
    [
        ("out.xyz", {}, "'xyz'"),
        ("out.ogg", {"encoding": "PCM_S"}, "ogg cannot hold PCM_S"),
        ("out.ogg", {"bits_per_sample": 16}, "16-bit"),
        ("out.flac", {"bits_per_sample": 32}, "32-bit"),
        ("out.flac", {"encoding": "ULAW"}, "ULAW"),
        ("out.wav", {"encoding": "PCM_S", "bits_per_sample": 8}, "PCM_S 8-bit"),
        ("out.wav", {"compression": 5}, "compression"),
        ("out.flac", {"compression": 9}, "0-8"),
        ("out", {}, "pass format="),
    ],
)
def test_unsupported_formats(tmp_path, name, kwargs, problem) -> None:
    error = _raises(
        UnsupportedFormatError, tmp_path / name, tympan.save, tmp_path / name, torch.zeros(1, 10), 8000, **kwargs
    )
    assert problem in str(error) and isinstance(error, ValueError)
    assert os.listdir(tmp_path) == []


def test_a_file_object_without_a_name_needs_a_format() -> None:
    _raises(UnsupportedFormatError, "<BytesIO>", tympan.save, io.BytesIO(), torch.zeros(1, 10), 8000)


def test_libsndfile_refusal_mid_save_leaves_the_old_file(existing) -> None:
    target = existing.with_name("keep.opus")
    target.write_bytes(existing.read_bytes())
    before = target.read_bytes()
    error = _raises(UnsupportedFormatError, target, tympan.save, target, torch.zeros(1, 100), 44100)
    assert "44100" in str(error)
    assert target.read_bytes() == before
    assert leftovers(target.parent, existing.name, target.name) == []


def test_failure_while_encoding_leaves_the_old_file(existing, monkeypatch) -> None:
    before = existing.read_bytes()
    write = soundfile.SoundFile.write

    def write_half_then_fail(self, data):
        write(self, data[: len(data) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(soundfile.SoundFile, "write", write_half_then_fail)
    error = _raises(OSError, existing, tympan.save, existing, torch.zeros(1, 4000), 8000)
    assert "No space left" in str(error)
    assert_untouched(existing, before)


def test_unwritable_destinations(tmp_path) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir" / "out.wav"
    _raises(FileNotFoundError, missing_dir, tympan.save, missing_dir, torch.zeros(1, 10), 8000)
    directory = tmp_path / "taken.wav"
    directory.mkdir()
    _raises(IsADirectoryError, directory, tympan.save, directory, torch.zeros(1, 10), 8000)
    assert leftovers(tmp_path, "no", "taken.wav") == []
