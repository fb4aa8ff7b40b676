"""Round trips against soundfile itself: what tympan reads equals what soundfile reads from the same file,
and what tympan writes is what soundfile writes for the same samples."""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest
import soundfile
import torch

import tympan

# (major, subtype, channels, sample rate, expected info encoding, expected bits)
READ_CASES = [
    ("WAV", "PCM_16", 1, 16000, "PCM_S", 16),
    ("WAV", "PCM_24", 2, 44100, "PCM_S", 24),
    ("WAV", "PCM_32", 6, 48000, "PCM_S", 32),
    ("WAV", "FLOAT", 2, 22050, "PCM_F", 32),
    ("WAV", "DOUBLE", 1, 8000, "PCM_F", 64),
    ("WAV", "ULAW", 1, 8000, "ULAW", 8),
    ("WAV", "ALAW", 2, 8000, "ALAW", 8),
    ("WAV", "PCM_U8", 2, 11025, "PCM_U", 8),
    ("FLAC", "PCM_16", 6, 16000, "FLAC", 16),
    ("FLAC", "PCM_24", 2, 96000, "FLAC", 24),
    ("OGG", "VORBIS", 2, 44100, "VORBIS", 0),
    ("AIFF", "PCM_16", 2, 16000, "PCM_S", 16),
    ("NIST", "PCM_16", 1, 16000, "PCM_S", 16),
]
READ_IDS = [f"{major}-{subtype}-{channels}ch-{rate}" for major, subtype, channels, rate, *_ in READ_CASES]
EXTENSIONS = {"WAV": "wav", "FLAC": "flac", "OGG": "ogg", "AIFF": "aiff", "NIST": "sph"}


@pytest.mark.parametrize(("major", "subtype", "channels", "rate", "encoding", "bits"), READ_CASES, ids=READ_IDS)
def test_load_and_info_match_soundfile(reference_file, major, subtype, channels, rate, encoding, bits) -> None:
    path = reference_file(f"clip.{EXTENSIONS[major]}", major, subtype, channels, rate, frames=3000)
    expected, expected_rate = soundfile.read(path, dtype="float32", always_2d=True)

    waveform, sample_rate = tympan.load(path)

    assert sample_rate == expected_rate == rate
    assert waveform.dtype == torch.float32 and waveform.is_contiguous()
    torch.testing.assert_close(waveform, torch.from_numpy(expected).T, rtol=0, atol=0)
    assert tympan.info(path) == tympan.AudioInfo(
        rate, len(expected), channels, bits, encoding, major.lower().replace("nist", "sph")
    )


def test_every_source_kind_reads_the_same(reference_file, as_source) -> None:
    path = reference_file("clip.flac", "FLAC", "PCM_24", channels=2, rate=16000)
    expected, _ = tympan.load(path)

    assert tympan.info(as_source(path)).num_frames == expected.shape[1]
    waveform, rate = tympan.load(as_source(path))
    assert rate == 16000
    torch.testing.assert_close(waveform, expected, rtol=0, atol=0)
    chunks = list(tympan.stream(as_source(path), 1000))
    torch.testing.assert_close(torch.cat(chunks, dim=1), expected, rtol=0, atol=0)


def test_info_restores_the_position_of_a_file_object(reference_file) -> None:
    handle = io.BytesIO(reference_file("clip.wav", "WAV", "PCM_16").read_bytes())
    tympan.info(handle)
    assert handle.tell() == 0
    assert tympan.load(handle)[0].shape == (2, 4000)


# (format, encoding, bits, expected subtype, expected info encoding, bits)
SAVE_CASES = [
    ("wav", None, None, "FLOAT", "PCM_F", 32),
    ("wav", "PCM_S", 16, "PCM_16", "PCM_S", 16),
    ("wav", "PCM_S", 24, "PCM_24", "PCM_S", 24),
    ("wav", "PCM_S", 32, "PCM_32", "PCM_S", 32),
    ("wav", "PCM_F", 64, "DOUBLE", "PCM_F", 64),
    ("wav", "ULAW", None, "ULAW", "ULAW", 8),
    ("wav", "ALAW", 8, "ALAW", "ALAW", 8),
    ("wav", "PCM_U", None, "PCM_U8", "PCM_U", 8),
    ("wav", None, 8, "PCM_U8", "PCM_U", 8),
    ("flac", None, None, "PCM_16", "FLAC", 16),
    ("flac", None, 24, "PCM_24", "FLAC", 24),
    ("flac", "FLAC", 16, "PCM_16", "FLAC", 16),
    ("aiff", "PCM_S", 24, "PCM_24", "PCM_S", 24),
    ("sph", None, 16, "PCM_16", "PCM_S", 16),
]


@pytest.mark.parametrize(("channels", "rate"), [(1, 8000), (2, 44100), (6, 48000)])
@pytest.mark.parametrize(("format", "encoding", "bits", "subtype", "info_encoding", "info_bits"), SAVE_CASES)
def test_save_matches_soundfile(
    tmp_path, signal, channels, rate, format, encoding, bits, subtype, info_encoding, info_bits
):
    samples = signal(1500, channels, rate).astype(np.float32)
    ours, theirs = tmp_path / f"ours.{format}", tmp_path / f"theirs.{format}"
    major = tympan.plugins.io.formats.container_of(format).major

    tympan.save(ours, torch.from_numpy(samples).T, rate, encoding=encoding, bits_per_sample=bits)
    soundfile.write(theirs, samples, rate, subtype=subtype, format=major)

    assert soundfile.info(ours).subtype == subtype
    ours_read, ours_rate = soundfile.read(ours, dtype="float64", always_2d=True)
    theirs_read, _ = soundfile.read(theirs, dtype="float64", always_2d=True)
    assert ours_rate == rate
    np.testing.assert_array_equal(ours_read, theirs_read)
    assert tympan.info(ours) == tympan.AudioInfo(rate, 1500, channels, info_bits, info_encoding, format)


@pytest.mark.parametrize(("format", "encoding"), [("ogg", None), ("ogg", "VORBIS"), ("opus", None)])
def test_lossy_round_trip_is_close(tmp_path, signal, format, encoding) -> None:
    rate = 48000
    samples = signal(rate // 2, 2, rate, amplitude=0.5).astype(np.float32)
    path = tmp_path / f"clip.{format}"

    tympan.save(path, torch.from_numpy(samples).T, rate, encoding=encoding)
    waveform, sample_rate = tympan.load(path)

    reference, _ = soundfile.read(path, dtype="float32", always_2d=True)
    torch.testing.assert_close(waveform, torch.from_numpy(reference).T, rtol=0, atol=0)
    assert sample_rate == rate and waveform.shape == (2, rate // 2)
    core = slice(2000, -2000)  # codec priming and tail aside
    assert float(np.abs(reference[core] - samples[core]).max()) < 0.1
    expected_encoding = "OPUS" if format == "opus" else "VORBIS"
    assert tympan.info(path).encoding == expected_encoding


def test_compression_levels_change_flac_size_not_samples(tmp_path, signal) -> None:
    waveform = torch.from_numpy(signal(20000, 1, 16000).astype(np.float32)).T
    fast, small = tmp_path / "fast.flac", tmp_path / "small.flac"
    tympan.save(fast, waveform, 16000, compression=0)
    tympan.save(small, waveform, 16000, compression=8)
    assert small.stat().st_size < fast.stat().st_size
    torch.testing.assert_close(tympan.load(fast)[0], tympan.load(small)[0], rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.int16, torch.int32, torch.uint8, torch.float64])
def test_integer_and_double_waveforms_keep_their_format(tmp_path, dtype) -> None:
    info = torch.iinfo(dtype) if not dtype.is_floating_point else None
    waveform = (
        torch.randint(info.min, info.max, (2, 500), dtype=dtype, generator=torch.Generator().manual_seed(0))
        if info
        else torch.rand(2, 500, dtype=dtype) * 2 - 1
    )
    path = tmp_path / "clip.wav"

    tympan.save(path, waveform, 16000)
    loaded, _ = tympan.load(path, normalize=False)

    assert loaded.dtype == dtype
    torch.testing.assert_close(loaded, waveform, rtol=0, atol=0)


def test_save_to_file_objects(tmp_path, signal) -> None:
    waveform = torch.from_numpy(signal(800, 2, 8000).astype(np.float32)).T
    with (tmp_path / "named.flac").open("wb") as handle:  # format from the file object's name
        tympan.save(handle, waveform, 8000)
    buffer = io.BytesIO()
    tympan.save(buffer, waveform, 8000, format="flac")

    assert buffer.getvalue() == (tmp_path / "named.flac").read_bytes()
    torch.testing.assert_close(tympan.load(buffer.getvalue())[0], tympan.load(tmp_path / "named.flac")[0])


def test_mono_1d_and_channels_last_waveforms(tmp_path, signal) -> None:
    samples = torch.from_numpy(signal(600, 3, 16000).astype(np.float32))
    tympan.save(tmp_path / "mono.wav", samples[:, 0], 16000)
    tympan.save(tmp_path / "last.wav", samples, 16000, channels_first=False)

    assert tympan.load(tmp_path / "mono.wav")[0].shape == (1, 600)
    torch.testing.assert_close(tympan.load(tmp_path / "last.wav", channels_first=False)[0], samples)


def test_the_extension_does_not_decide_how_a_file_is_decoded(reference_file) -> None:
    flac = reference_file("clip.flac", "FLAC", "PCM_16")
    misnamed = pathlib.Path(flac.with_suffix(".wav"))
    misnamed.write_bytes(flac.read_bytes())
    torch.testing.assert_close(tympan.load(misnamed)[0], tympan.load(flac)[0], rtol=0, atol=0)
    assert tympan.info(misnamed).format == "flac"
