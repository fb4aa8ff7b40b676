"""``frame_offset`` / ``num_frames`` (by seeking), ``normalize``, ``channels_first``, ``stream``, and the
keyword options ``channels`` and ``sample_rate``."""

from __future__ import annotations

import wave

import numpy as np
import pytest
import soundfile
import torch

import tympan
from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional import HIGH_QUALITY_RESAMPLING, resample

FRAMES = 4000
WINDOWS = [(0, -1), (0, 0), (1, 1), (1000, 500), (1000, -1), (FRAMES - 1, 10), (FRAMES, -1), (FRAMES + 10, 5)]
FORMATS = [
    ("clip.wav", "WAV", "PCM_16"),
    ("clip.flac", "FLAC", "PCM_24"),
    ("clip.ogg", "OGG", "VORBIS"),
    ("clip.mp3", "MP3", "MPEG_LAYER_III"),  # libsndfile's MP3 seeks are wrong; tympan decodes from the start
]


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


@pytest.mark.parametrize("frames_per_chunk", [1000, 1152, 3000])
def test_mp3_chunks_equal_one_decode(reference_file, frames_per_chunk) -> None:
    """libsndfile 1.2.2 corrupts MP3 audio read in pieces that end inside an MPEG frame; tympan does not."""
    path = reference_file("clip.mp3", "MP3", "MPEG_LAYER_III", rate=44100, frames=20000)
    expected, _ = soundfile.read(path, dtype="float32", always_2d=True)
    chunks = list(tympan.stream(path, frames_per_chunk, channels_first=False))
    np.testing.assert_array_equal(torch.cat(chunks).numpy(), expected)
    window, _ = tympan.load(path, frame_offset=12345, num_frames=777, channels_first=False)
    np.testing.assert_array_equal(window.numpy(), expected[12345 : 12345 + 777])


# --- channels= -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channels", "picked"), [(0, [0]), (5, [5]), ([2, 0], [2, 0]), ([1, 1, 3], [1, 1, 3]), ((4,), [4])]
)
@pytest.mark.parametrize("channels_first", [True, False])
def test_channel_selection(reference_file, channels, picked, channels_first) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16", channels=6)
    full, _ = tympan.load(path)
    waveform, _ = tympan.load(path, channels=channels, channels_first=channels_first, frame_offset=10)
    expected = full[picked, 10:]
    torch.testing.assert_close(waveform, expected if channels_first else expected.T, rtol=0, atol=0)
    assert waveform.is_contiguous()
    chunks = list(tympan.stream(path, 1500, channels=channels, channels_first=channels_first, frame_offset=10))
    torch.testing.assert_close(torch.cat(chunks, dim=1 if channels_first else 0), waveform, rtol=0, atol=0)


def test_mean_downmix(reference_file) -> None:
    path = reference_file("clip.flac", "FLAC", "PCM_24", channels=6)
    samples, _ = soundfile.read(path, dtype="float64", always_2d=True)
    waveform, _ = tympan.load(path, channels="mean")
    assert waveform.shape == (1, FRAMES) and waveform.dtype == torch.float32
    # float32 mean of 6 float32 channels against a float64 mean: a few float32 ulps
    np.testing.assert_allclose(waveform[0].numpy(), samples.mean(axis=1), rtol=0, atol=1e-6)
    last, _ = tympan.load(path, channels="mean", channels_first=False)
    assert last.shape == (FRAMES, 1)
    # the same mean summed along the other memory layout: an ulp apart at most
    torch.testing.assert_close(last.T, waveform, rtol=0, atol=2.0**-24)


def test_mean_of_integer_samples_keeps_their_dtype(tmp_path) -> None:
    waveform = torch.tensor([[100, -7, 32767, 1], [101, -8, 32767, 2]], dtype=torch.int16)
    tympan.save(tmp_path / "int.wav", waveform, 8000)
    mono, _ = tympan.load(tmp_path / "int.wav", normalize=False, channels="mean")
    assert mono.dtype == torch.int16
    assert mono.tolist() == [[100, -8, 32767, 2]]  # halves round to even: 100.5 -> 100, -7.5 -> -8, 1.5 -> 2


@pytest.mark.parametrize("channels", [2, [0, 2], [7, 0]])
def test_a_missing_channel_is_refused_before_decoding(reference_file, monkeypatch, channels) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16", channels=2)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded")

    monkeypatch.setattr(soundfile.SoundFile, "read", no_decoding)
    for call in (tympan.load, lambda *a, **k: tympan.stream(a[0], 100, **k)):
        with pytest.raises(InvalidParameterError, match=r"channels: index [27] is out of range") as caught:
            call(path, channels=channels)
        assert str(path) in str(caught.value)


def test_a_missing_channel_of_a_file_object_is_refused_after_decoding(reference_file) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16", channels=1)
    with path.open("rb") as handle, pytest.raises(InvalidParameterError, match="audio has 1 channel"):
        tympan.load(handle, channels=1)


@pytest.mark.parametrize("channels", [[], "left", True, [-1], 1.5, [0, "1"], {0: 1}])
def test_bad_channel_specs(reference_file, channels) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16")
    with pytest.raises(InvalidParameterError, match="channels") as caught:
        tympan.load(path, channels=channels)
    assert str(path) in str(caught.value)


# --- sample_rate= --------------------------------------------------------------------------------------


@pytest.mark.parametrize("new_rate", [8000, 22050, 48000])
def test_sample_rate_resamples_what_was_read(reference_file, new_rate) -> None:
    path = reference_file("clip.flac", "FLAC", "PCM_24", channels=2, rate=16000)
    full, _ = tympan.load(path)
    waveform, rate = tympan.load(path, sample_rate=new_rate)
    assert rate == new_rate and waveform.shape == (2, -(-FRAMES * new_rate // 16000))
    torch.testing.assert_close(waveform, resample(full, 16000, new_rate, **HIGH_QUALITY_RESAMPLING), rtol=0, atol=0)
    # frame_offset and num_frames count frames of the file, at its own rate
    window, _ = tympan.load(path, frame_offset=1000, num_frames=2000, sample_rate=new_rate, channels_first=False)
    expected = resample(full[:, 1000:3000], 16000, new_rate, **HIGH_QUALITY_RESAMPLING).T
    torch.testing.assert_close(window, expected, rtol=0, atol=0)


def test_sample_rate_against_scipy(reference_file) -> None:
    """An independent check of the rate change: a 440 Hz tone keeps its pitch and level."""
    import scipy.signal

    path = reference_file("tone.wav", "WAV", "FLOAT", channels=1, rate=48000, frames=48000)
    soundfile.write(path, 0.5 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000), 48000, subtype="FLOAT")
    waveform, _ = tympan.load(path, sample_rate=16000)
    reference = scipy.signal.resample_poly(0.5 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000), 1, 3)
    core = slice(200, -200)  # the two filters treat the edges differently
    # two band-limited interpolators of a tone far below both cut-offs agree to ~1e-4
    np.testing.assert_allclose(waveform[0, core].numpy(), reference[core], rtol=0, atol=5e-4)


def test_same_rate_is_untouched_and_integers_cannot_be_resampled(reference_file) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16", rate=16000)
    native, _ = tympan.load(path, normalize=False)
    same, rate = tympan.load(path, normalize=False, sample_rate=16000)
    assert rate == 16000 and same.dtype == torch.int16
    torch.testing.assert_close(same, native, rtol=0, atol=0)
    with pytest.raises(InvalidParameterError, match="sample_rate: resampling 16000 Hz to 8000 Hz gives float"):
        tympan.load(path, normalize=False, sample_rate=8000)


@pytest.mark.parametrize("sample_rate", [0, -1, 8000.0, True])
def test_bad_sample_rates(reference_file, sample_rate) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16")
    with pytest.raises(InvalidParameterError, match="sample_rate"):
        tympan.load(path, sample_rate=sample_rate)


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        tympan.load("a.wav", 0, -1, True, True, None, None, 8000)
