"""More bad input, beyond test_errors.py: truncation read strictly and not, absurd headers, non-finite
samples, clipping on save, and saves that fail on the way to the disk. Every error is typed and names the
file; after every failed save the old file is intact and nothing else is left in its directory."""

from __future__ import annotations

import errno
import io
import os
import pathlib
import struct
import tempfile
import warnings

import numpy as np
import pytest
import soundfile
import torch

import tympan
from tympan.core.errors import AudioDecodeError, InvalidParameterError, TruncatedAudioWarning

from .conftest import assert_untouched, make_signal

FRAMES = 48000


def _written(tmp_path: pathlib.Path, name: str, major: str, subtype: str, channels: int = 2) -> pathlib.Path:
    path = tmp_path / name
    rate = 48000 if subtype == "OPUS" else 16000
    soundfile.write(path, make_signal(FRAMES, channels, rate), rate, format=major, subtype=subtype)
    return path


def _cut(path: pathlib.Path, keep: float) -> pathlib.Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


# --- truncation ----------------------------------------------------------------------------------------

# Containers whose header states the length: libsndfile opens the cut file with the frames that are there.
HEADER_LENGTH = [
    ("cut.wav", "WAV", "PCM_16", 2),
    ("cut.wav", "WAVEX", "PCM_24", 6),
    ("cut.wav", "WAV", "ULAW", 1),
    ("cut.rf64", "RF64", "PCM_16", 2),
    ("cut.w64", "W64", "FLOAT", 2),
    ("cut.aiff", "AIFF", "PCM_16", 2),
    ("cut.au", "AU", "PCM_24", 2),
    ("cut.sph", "NIST", "PCM_16", 2),
]


@pytest.mark.parametrize(
    ("name", "major", "subtype", "channels"), HEADER_LENGTH, ids=[c[1] + c[2] for c in HEADER_LENGTH]
)
def test_truncated_data_with_a_declared_length(tmp_path, name, major, subtype, channels) -> None:
    full = _written(tmp_path, name, major, subtype, channels)
    expected, _ = soundfile.read(full, dtype="float32", always_2d=True)
    path = _cut(full, 0.5)
    there = soundfile.info(path).frames
    counts = f"header declares {FRAMES} frames, the file holds {there}"

    with pytest.raises(AudioDecodeError, match=counts) as caught:
        tympan.load(path)
    assert str(path) in str(caught.value)
    with pytest.raises(AudioDecodeError, match=counts):
        tympan.stream(path, 1000)

    with pytest.warns(TruncatedAudioWarning, match=counts):
        waveform, _ = tympan.load(path, strict=False)
    torch.testing.assert_close(waveform, torch.from_numpy(expected[:there]).T, rtol=0, atol=0)
    with pytest.warns(TruncatedAudioWarning, match=counts):
        chunks = list(tympan.stream(path, 7000, strict=False))
    torch.testing.assert_close(torch.cat(chunks, dim=1), waveform, rtol=0, atol=0)


@pytest.mark.parametrize(
    ("name", "major", "subtype"), [("cut.flac", "FLAC", "PCM_16"), ("cut.mp3", "MP3", "MPEG_LAYER_III")]
)
def test_truncated_data_found_while_decoding(tmp_path, name, major, subtype) -> None:
    full = _written(tmp_path, name, major, subtype)
    complete, _ = tympan.load(full)
    path = _cut(full, 0.5)
    assert soundfile.info(path).frames == FRAMES  # the header still promises everything

    with pytest.raises(AudioDecodeError, match=f"header declares {FRAMES} frames, the file holds ") as caught:
        tympan.load(path)
    assert str(path) in str(caught.value)
    with pytest.raises(AudioDecodeError, match="header declares"):
        list(tympan.stream(path, 4096))

    with pytest.warns(TruncatedAudioWarning, match=f"header declares {FRAMES} frames") as record:
        waveform, _ = tympan.load(path, strict=False)
    there = waveform.shape[1]
    assert 0.3 * FRAMES < there < FRAMES and f"the file holds {there}" in str(record[0].message)
    if major == "FLAC":  # lossless: what decodes is the start of the signal, sample for sample
        torch.testing.assert_close(waveform, complete[:, :there], rtol=0, atol=0)
    for frames_per_chunk in (1000, 4096, 30000):  # what decodes does not depend on the read size
        with pytest.warns(TruncatedAudioWarning):
            chunks = list(tympan.stream(path, frames_per_chunk, strict=False))
        torch.testing.assert_close(torch.cat(chunks, dim=1), waveform, rtol=0, atol=2.0**-23)


def test_windows_of_a_truncated_file(tmp_path) -> None:
    path = _cut(_written(tmp_path, "cut.flac", "FLAC", "PCM_16"), 0.5)
    with pytest.warns(TruncatedAudioWarning):
        whole, _ = tympan.load(path, strict=False)
    there = whole.shape[1]
    with pytest.warns(TruncatedAudioWarning):
        tail, _ = tympan.load(path, frame_offset=there - 100, num_frames=1000, strict=False)
    torch.testing.assert_close(tail, whole[:, -100:], rtol=0, atol=0)
    head, _ = tympan.load(path, num_frames=1000)  # a window before the cut decodes strictly
    torch.testing.assert_close(head, whole[:, :1000], rtol=0, atol=0)
    with pytest.warns(TruncatedAudioWarning, match="cannot seek"):
        past, _ = tympan.load(path, frame_offset=FRAMES - 10, strict=False)
    assert past.shape == (2, 0)


def test_unterminated_ogg_vorbis(tmp_path) -> None:
    path = _cut(_written(tmp_path, "cut.ogg", "OGG", "VORBIS"), 0.5)
    with pytest.raises(AudioDecodeError, match="Ogg stream ends before its last page") as caught:
        tympan.load(path)
    assert str(path) in str(caught.value)
    with pytest.warns(TruncatedAudioWarning, match="length is unknown"):
        waveform, rate = tympan.load(path, strict=False)
    assert waveform.shape == (2, 0) and rate == 16000


@pytest.mark.parametrize("strict", [True, False])
def test_a_cut_caf_is_refused_either_way(tmp_path, strict) -> None:
    path = _cut(_written(tmp_path, "cut.caf", "CAF", "PCM_16"), 0.5)
    with pytest.raises(AudioDecodeError, match="malformed") as caught:
        tympan.load(path, strict=strict)
    assert str(path) in str(caught.value)


def test_a_complete_file_gives_no_warning(tmp_path) -> None:
    path = _written(tmp_path, "clip.flac", "FLAC", "PCM_16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tympan.load(path, strict=False)[0].shape == (2, FRAMES)


# --- random bytes, absurd headers ----------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "opus", "mp3", "aiff", "caf", "au", "sph", "w64", "rf64"])
def test_random_bytes_under_every_extension(tmp_path, ext) -> None:
    path = tmp_path / f"noise.{ext}"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    for call in (tympan.info, tympan.load, lambda src: list(tympan.stream(src, 100))):
        with pytest.raises(AudioDecodeError) as caught:
            call(path)
        assert str(path) in str(caught.value)


def test_a_wav_under_the_wrong_extension_is_read_by_its_header(tmp_path) -> None:
    wav = _written(tmp_path, "clip.wav", "WAV", "PCM_16")
    renamed = tmp_path / "clip.mp3"
    renamed.write_bytes(wav.read_bytes())
    assert tympan.info(renamed).format == "wav"
    torch.testing.assert_close(tympan.load(renamed)[0], tympan.load(wav)[0], rtol=0, atol=0)


def _wav_header_patched(offset: int, layout: str, value: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros((100, 2)), 8000, format="WAV", subtype="PCM_16")
    data = bytearray(buffer.getvalue())
    struct.pack_into(layout, data, offset, value)
    return bytes(data)


@pytest.mark.parametrize(
    ("offset", "layout", "value", "problem"),
    [
        (22, "<H", 0, "Channel count is zero"),
        (22, "<H", 65535, "Too many channels"),
        (24, "<I", 0, "SF_INFO"),  # sample rate 0
        (24, "<I", 2**32 - 1, "SF_INFO"),
        (34, "<H", 0, "unimplemented format"),  # 0 bits per sample
        (40, "<I", 0x7FFEFFFF, "header declares 536854527 frames, the file holds 100"),  # data size
    ],
)
def test_absurd_wav_header_values(offset, layout, value, problem) -> None:
    data = _wav_header_patched(offset, layout, value)
    with pytest.raises(AudioDecodeError, match=problem) as caught:
        tympan.load(data)
    assert "<444 bytes>" in str(caught.value)


@pytest.mark.parametrize("size", [2**32 - 1, 2**32 - 16])
def test_data_sizes_near_4_gib_mean_unknown_length(size) -> None:
    """Streaming writers leave such sizes; the file is read to its end, allocating only what is there."""
    assert tympan.load(_wav_header_patched(40, "<I", size))[0].shape == (2, 100)


def test_absurd_sphere_sample_count(tmp_path) -> None:
    path = _written(tmp_path, "clip.sph", "NIST", "PCM_16")
    data = path.read_bytes()
    header, samples = data[:1024], data[1024:]
    header = header.replace(b"sample_count -i 48000", b"sample_count -i 4294967295")[:1024]  # eats padding
    path.write_bytes(header + samples)
    with pytest.raises(AudioDecodeError, match="header declares 4294967295 frames, the file holds 48000"):
        tympan.load(path)


def test_an_mp3_claiming_four_billion_frames_allocates_what_its_bytes_hold() -> None:
    buffer = io.BytesIO()
    soundfile.write(buffer, make_signal(1152, 1, 44100), 44100, format="MP3")
    data = bytearray(buffer.getvalue())
    count = data.index(b"Xing") + 8  # the frame count, after the tag and its flags
    data[count : count + 4] = b"\xff\xff\xff\xff"
    declared = (2**32 - 2) * 1152  # Xing counts MPEG frames of 1152 samples (the Xing frame itself aside)
    with pytest.raises(AudioDecodeError, match=f"header declares {declared} frames, the file holds"):
        tympan.load(bytes(data))
    with pytest.warns(TruncatedAudioWarning, match=f"header declares {declared} frames"):
        waveform, _ = tympan.load(bytes(data), strict=False)
    assert 0 < waveform.shape[1] <= 2 * 1152


# --- non-finite samples --------------------------------------------------------------------------------


@pytest.fixture
def float_wav(tmp_path) -> pathlib.Path:
    samples = make_signal(1000, 2, 8000).astype(np.float32)
    samples[123, 1] = np.nan
    samples[700, 0] = np.inf
    path = tmp_path / "float.wav"
    soundfile.write(path, samples, 8000, subtype="FLOAT")
    return path


def test_check_finite_names_the_first_bad_frame(float_wav) -> None:
    assert torch.isnan(tympan.load(float_wav)[0][1, 123])  # not asked: returned as they are
    with pytest.raises(AudioDecodeError, match="frame 123 holds NaN") as caught:
        tympan.load(float_wav, check_finite=True)
    assert str(float_wav) in str(caught.value)
    with pytest.raises(AudioDecodeError, match="frame 123 holds NaN"):
        tympan.load(float_wav, frame_offset=100, channels_first=False, check_finite=True)
    with pytest.raises(AudioDecodeError, match="frame 700 holds an infinite sample"):
        tympan.load(float_wav, frame_offset=200, check_finite=True)
    with pytest.raises(AudioDecodeError, match="frame 700 holds an infinite sample"):
        tympan.load(float_wav, channels=0, check_finite=True)  # channel 1's NaN is not returned
    assert tympan.load(float_wav, num_frames=123, check_finite=True)[0].shape == (2, 123)


def test_check_finite_on_a_stream(float_wav) -> None:
    chunks = tympan.stream(float_wav, 50, check_finite=True)
    assert next(chunks).shape == (2, 50)
    with pytest.raises(AudioDecodeError, match="frame 123 holds NaN"):
        list(chunks)
    with pytest.raises(AudioDecodeError, match="frame 700 holds an infinite"):
        list(tympan.stream(float_wav, 64, frame_offset=500, check_finite=True))


# --- saving --------------------------------------------------------------------------------------------


def test_clip_clamps_out_of_range_and_infinite_samples(existing) -> None:
    waveform = torch.tensor([[0.5, 1.5, -3.0, float("inf"), -float("inf"), -1.0]])
    with pytest.raises(InvalidParameterError, match="NaN or infinite"):
        tympan.save(existing, waveform, 8000, bits_per_sample=16)
    with pytest.raises(InvalidParameterError, match=r"\[-3, 1.5\]"):
        tympan.save(existing, waveform[:, :3], 8000, bits_per_sample=16)
    tympan.save(existing, waveform, 8000, bits_per_sample=16, clip=True)
    loaded, _ = tympan.load(existing, normalize=False)
    # 16-bit: libsndfile writes +1.0 as 32767 and -1.0 as -32768
    assert loaded.tolist() == [[16384, 32767, -32768, 32767, -32768, -32768]]


@pytest.mark.parametrize("kwargs", [{"bits_per_sample": 16}, {"encoding": "PCM_F"}, {"format": "flac"}])
def test_clip_refuses_nan_before_touching_the_file(existing, kwargs) -> None:
    before = existing.read_bytes()
    with pytest.raises(InvalidParameterError, match="NaN samples, which clip=True cannot clamp") as caught:
        tympan.save(existing, torch.tensor([[0.0, float("nan")]]), 8000, clip=True, **kwargs)
    assert str(existing) in str(caught.value)
    assert_untouched(existing, before)


def test_clip_applies_to_float_encodings_too(tmp_path) -> None:
    path = tmp_path / "float.wav"
    tympan.save(path, torch.tensor([[2.0, -0.5, -2.0]]), 8000, clip=True)
    assert tympan.info(path).encoding == "PCM_F"
    assert tympan.load(path)[0].tolist() == [[1.0, -0.5, -1.0]]


def test_clip_leaves_integer_waveforms_alone(tmp_path) -> None:
    waveform = torch.tensor([[-32768, 0, 32767]], dtype=torch.int16)
    tympan.save(tmp_path / "int.wav", waveform, 8000, clip=True)
    torch.testing.assert_close(tympan.load(tmp_path / "int.wav", normalize=False)[0], waveform)


def test_failure_when_the_temporary_file_cannot_be_created(existing, monkeypatch) -> None:
    """What a read-only directory does to a process that is not root (this one may be)."""
    before = existing.read_bytes()

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(PermissionError, match="cannot write audio file") as caught:
        tympan.save(existing, torch.zeros(1, 100), 8000)
    assert caught.value.filename == str(existing)
    assert_untouched(existing, before)


def test_disk_full_when_flushing_to_disk(existing, monkeypatch) -> None:
    """ENOSPC can come late, when the data reaches the disk; the old file survives that too."""
    before = existing.read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left on device") as caught:
        tympan.save(existing, torch.zeros(2, 48000), 48000, format="flac")
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(existing)
    assert_untouched(existing, before)


def test_disk_full_on_a_new_file_leaves_nothing(tmp_path, monkeypatch) -> None:
    write = soundfile.SoundFile.write

    def write_then_fail(self, data):
        write(self, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(soundfile.SoundFile, "write", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        tympan.save(tmp_path / "new.flac", torch.zeros(1, 4000), 8000)
    assert os.listdir(tmp_path) == []
