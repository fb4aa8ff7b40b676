"""``io:ffmpeg`` against the ``ffmpeg`` / ``ffprobe`` binaries: metadata, decoded samples, seeking,
streaming, writing and typed errors.

Fixtures are made with the ``ffmpeg`` binary from its ``lavfi`` sources: a 3 s stereo tone (440 Hz left,
660 Hz right, amplitude 1/8) in each container and codec, and a test-pattern video with that audio.
"""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import shutil
import subprocess
import warnings

import numpy as np
import pytest
import scipy.signal
import soundfile
import torch

pytest.importorskip("av", reason="io:ffmpeg needs PyAV (pip install 'tympan[ffmpeg]')")
if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
    pytest.skip("the reference needs the ffmpeg and ffprobe binaries", allow_module_level=True)

from tympan.core.errors import AudioDecodeError, InvalidParameterError, TruncatedAudioWarning, UnsupportedFormatError
from tympan.plugins.io.ffmpeg_backend import FfmpegBackend

BACKEND = FfmpegBackend()
RATE = 44100
SECONDS = 3
TONE = (
    f"-f lavfi -i sine=frequency=440:sample_rate={RATE}:duration={SECONDS} "
    f"-f lavfi -i sine=frequency=660:sample_rate={RATE}:duration={SECONDS}"
)
VIDEO = f"-f lavfi -i testsrc=size=64x48:rate=10:duration={SECONDS}"
STEREO = "-filter_complex [{0}:a][{1}:a]amerge=inputs=2[a] -map [a]"
# name -> (extra inputs before the tone, encoder arguments, codec ffprobe reports)
FIXTURES = {
    "tone.m4a": ("", "-c:a aac -b:a 128k", "aac"),
    "faststart.m4a": ("", "-c:a aac -b:a 128k -movflags +faststart", "aac"),
    "tone.aac": ("", "-c:a aac -b:a 128k", "aac"),
    "tone.mp3": ("", "-c:a libmp3lame -b:a 128k", "mp3"),
    "tone.opus": ("", "-c:a libopus -b:a 96k", "opus"),
    "tone.ac3": ("", "-c:a ac3", "ac3"),
    "tone.wma": ("", "-c:a wmav2", "wmav2"),
    "alac.m4a": ("", "-c:a alac", "alac"),
    "tone.flac": ("", "-c:a flac", "flac"),
    "video.mp4": (VIDEO, "-map 0:v -c:v mpeg4 -c:a aac", "aac"),
    "video.mkv": (VIDEO, "-map 0:v -c:v mpeg4 -c:a libopus", "opus"),
    "video.mov": (VIDEO, "-map 0:v -c:v mpeg4 -c:a pcm_s16le", "pcm_s16le"),
}
LOSSLESS = {"alac.m4a", "tone.flac", "video.mov"}
# AAC decoding after a seek is aligned to the sample but not bit-identical: FFmpeg's AAC decoder draws noise
# substitution from a running random state. On these tones it differs by <= 4e-5; a one-sample misalignment
# of the 660 Hz tone at amplitude 1/8 would differ by 2*pi*660/44100/8 = 0.012.
AAC_SEEK_TOL = 2e-4
# ffmpeg binary (Debian's FFmpeg 5.1) and PyAV's bundled FFmpeg decode lossy codecs in float with different
# builds; they agree to float32 rounding (<= 6e-8 measured). Lossless codecs must agree exactly.
CLI_TOL = 1e-6
# Lossy codecs may decode up to this many frames away from the declared length (priming and padding; FFmpeg
# 5.1's ffprobe also counts MP3's encoder delay and padding into the duration, newer FFmpeg does not).
LOSSY_LENGTH_TOL = 4096


def _ffmpeg(arguments: str, path: pathlib.Path) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *arguments.split(), str(path)], check=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pathlib.Path]:
    directory = tmp_path_factory.mktemp("ffmpeg")
    made = {}
    for name, (video, encoder, _) in FIXTURES.items():
        first = 1 if video else 0
        arguments = f"{video} {TONE} {STEREO.format(first, first + 1)} {encoder}"
        _ffmpeg(arguments, directory / name)
        made[name] = directory / name
    return made


def _probe(path: pathlib.Path) -> tuple[dict, dict]:
    command = ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-select_streams", "a:0", "-of", "json"]
    document = json.loads(subprocess.run([*command, str(path)], capture_output=True, check=True).stdout)
    return document["streams"][0], document["format"]


def _cli_decode(path: pathlib.Path, channels: int) -> np.ndarray:
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le", "-"]
    raw = subprocess.run(command, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, channels).T


@pytest.fixture(scope="module")
def decoded(files: dict[str, pathlib.Path]) -> dict[str, np.ndarray]:
    return {name: _cli_decode(path, 2) for name, path in files.items()}


# --- metadata ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_info_matches_ffprobe(files, decoded, name) -> None:
    stream, container = _probe(files[name])
    info = BACKEND.info(files[name])
    assert info.sample_rate == int(stream["sample_rate"])
    assert info.num_channels == stream["channels"]
    assert info.format == container["format_name"].split(",")[0]
    expected = {"aac": "AAC", "mp3": "MP3", "opus": "OPUS", "ac3": "AC3", "wmav2": "WMA", "alac": "ALAC"}
    expected |= {"flac": "FLAC", "pcm_s16le": "PCM_S"}
    assert info.encoding == expected[FIXTURES[name][2]]
    bits = int(stream.get("bits_per_raw_sample") or stream.get("bits_per_sample") or 0)
    assert info.bits_per_sample == (bits if name in LOSSLESS else 0)
    seconds = float(stream["duration"]) if "duration" in stream else float(container["duration"])
    tolerance = 0 if name in LOSSLESS else LOSSY_LENGTH_TOL
    assert abs(info.num_frames - seconds * info.sample_rate) <= tolerance + 1  # +1: ffprobe prints microseconds
    assert abs(info.num_frames - decoded[name].shape[1]) <= tolerance


def test_info_keeps_a_file_position(files) -> None:
    with open(files["tone.m4a"], "rb") as handle:
        handle.seek(0)
        assert BACKEND.info(handle).sample_rate == RATE
        assert handle.tell() == 0


def test_flac_bits_from_the_header(tmp_path) -> None:
    path = tmp_path / "deep.flac"
    soundfile.write(path, np.zeros((100, 1)), 8000, subtype="PCM_24")
    assert BACKEND.info(path).bits_per_sample == 24


# --- decoding ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_load_matches_ffmpeg_cli(files, decoded, name) -> None:
    waveform, rate = BACKEND.load(files[name])
    assert rate == int(_probe(files[name])[0]["sample_rate"]) and waveform.dtype == torch.float32
    assert waveform.shape == decoded[name].shape
    if name in LOSSLESS:
        np.testing.assert_array_equal(waveform.numpy(), decoded[name])
    else:
        np.testing.assert_allclose(waveform.numpy(), decoded[name], rtol=0, atol=CLI_TOL)


@pytest.mark.parametrize("name", FIXTURES)
def test_seek_matches_full_decode(files, name) -> None:
    full, _ = BACKEND.load(files[name])
    tolerance = AAC_SEEK_TOL if FIXTURES[name][2] == "aac" else 0.0
    total = full.shape[1]
    for offset, count in ((1000, 3000), (20000, 4410), (50001, 10000), (100000, 7), (total - 300, 1000)):
        part, _ = BACKEND.load(files[name], frame_offset=offset, num_frames=count)
        expected = full[:, offset : offset + count]
        assert part.shape == expected.shape, offset
        torch.testing.assert_close(part, expected, rtol=0, atol=tolerance, msg=f"offset {offset}")
    assert BACKEND.load(files[name], frame_offset=total + 10)[0].shape == (2, 0)
    assert BACKEND.load(files[name], num_frames=0)[0].shape == (2, 0)


@pytest.mark.parametrize(
    ("name", "seeks"),
    [("tone.m4a", True), ("tone.flac", True), ("tone.mp3", True), ("tone.opus", True), ("video.mkv", False),
     ("tone.wma", False), ("tone.aac", False)],
)  # fmt: skip
def test_where_seeking_is_used(files, name, seeks, monkeypatch) -> None:
    """Containers that place samples exactly seek; the others decode from the start."""
    import av

    calls = []
    original = av.container.InputContainer.seek

    def spy(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(av.container.InputContainer, "seek", spy)
    BACKEND.load(files[name], frame_offset=60000, num_frames=10)
    assert bool(calls) == seeks


@pytest.mark.parametrize("name", ["tone.m4a", "tone.opus", "tone.flac", "video.mkv"])
def test_stream_concatenates_to_load(files, name) -> None:
    for offset, count in ((0, -1), (30000, 50000)):
        whole, _ = BACKEND.load(files[name], frame_offset=offset, num_frames=count)
        chunks = list(BACKEND.stream(files[name], 4096, frame_offset=offset, num_frames=count))
        assert all(chunk.shape[1] == 4096 for chunk in chunks[:-1]) and 0 < chunks[-1].shape[1] <= 4096
        torch.testing.assert_close(torch.cat(chunks, dim=1), whole, rtol=0, atol=0)


def test_every_kind_of_source(files, as_source) -> None:
    expected, _ = BACKEND.load(files["tone.m4a"])
    waveform, rate = BACKEND.load(as_source(files["tone.m4a"]))
    assert rate == RATE
    torch.testing.assert_close(waveform, expected, rtol=0, atol=0)
    assert BACKEND.info(as_source(files["tone.m4a"])).encoding == "AAC"
    assert sum(c.shape[1] for c in BACKEND.stream(as_source(files["tone.m4a"]), 10000)) == expected.shape[1]


def test_normalize_false_keeps_integer_pcm(files) -> None:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(files["video.mov"]), "-map", "0:a:0", "-f", "s16le", "-"],
        capture_output=True,
        check=True,
    ).stdout
    waveform, _ = BACKEND.load(files["video.mov"], normalize=False, channels_first=False)
    assert waveform.dtype == torch.int16
    np.testing.assert_array_equal(waveform.numpy(), np.frombuffer(raw, np.int16).reshape(-1, 2))
    for name in ("tone.m4a", "tone.flac", "alac.m4a"):  # as torchaudio: only integer PCM keeps its dtype
        assert BACKEND.load(files[name], num_frames=10, normalize=False)[0].dtype == torch.float32


def test_channels_last(files) -> None:
    first, _ = BACKEND.load(files["tone.flac"])
    last, _ = BACKEND.load(files["tone.flac"], channels_first=False)
    assert last.is_contiguous() and torch.equal(last, first.T)


# --- writing ----------------------------------------------------------------------------------------------


def _tone(frames: int, rate: int) -> torch.Tensor:
    """Two channels at amplitude 0.5: a chirp from 100 Hz to 5 kHz (aligns unambiguously) and a 1 kHz tone."""
    t = torch.arange(frames, dtype=torch.float64) / rate
    sweep = 2 * math.pi * (100 * t + (5000 - 100) * t**2 / (2 * t[-1]))
    return (0.5 * torch.stack([torch.sin(sweep), torch.sin(2 * math.pi * 1000 * t)])).float()


def _snr(reference: torch.Tensor, decoded: torch.Tensor) -> float:
    """SNR in dB at the best alignment within 3000 frames (AC-3 keeps its encoder delay)."""
    a, b = reference[0].double().numpy(), decoded[0].double().numpy()
    n = min(len(a), len(b)) - 3000
    lag = int(np.argmax(scipy.signal.correlate(b[1000 : n + 3000], a[1000:n], mode="valid", method="fft")))
    noise = decoded[:, lag : lag + n].double() - reference[:, :n].double()
    return 10 * math.log10(float((reference[:, :n].double() ** 2).sum() / (noise**2).sum()))


@pytest.mark.parametrize(
    ("suffix", "encoding", "rate", "min_snr"),
    [("m4a", "AAC", 44100, 20), ("aac", "AAC", 44100, 20), ("mp3", "MP3", 44100, 25), ("opus", "OPUS", 48000, 20),
     ("webm", "OPUS", 48000, 20), ("ac3", "AC3", 48000, 20), ("mka", "AAC", 44100, 20)],
)  # fmt: skip
def test_lossy_round_trip(tmp_path, suffix, encoding, rate, min_snr) -> None:
    path = tmp_path / f"out.{suffix}"
    original = _tone(rate, rate)
    BACKEND.save(path, original, rate, encoding=encoding)
    stream, _ = _probe(path)
    assert stream["codec_name"] == {"AAC": "aac", "MP3": "mp3", "OPUS": "opus", "AC3": "ac3"}[encoding]
    info = BACKEND.info(path)
    assert (info.encoding, info.sample_rate, info.num_channels) == (encoding, rate, 2)
    decoded, _ = BACKEND.load(path)
    assert _snr(original, decoded) >= min_snr


@pytest.mark.parametrize(
    ("suffix", "encoding", "bits", "dtype"),
    [("flac", None, 16, torch.int16), ("flac", None, 24, torch.int32), ("m4a", "ALAC", 16, torch.int16),
     ("m4a", "ALAC", 24, torch.int32), ("wav", "PCM_S", 16, torch.int16), ("wav", "PCM_S", 24, torch.int32),
     ("wav", "PCM_S", 32, torch.int32), ("wav", "PCM_F", 32, torch.float32), ("wav", "PCM_U", 8, torch.uint8),
     ("mka", "FLAC", 16, torch.int16)],
)  # fmt: skip
def test_lossless_round_trip_is_exact(tmp_path, suffix, encoding, bits, dtype) -> None:
    path = tmp_path / f"out.{suffix}"
    generator = torch.Generator().manual_seed(bits)
    # Values on the grid of the target sample size, so lossless storage reproduces them exactly.
    steps = 2 ** (bits - 1) if dtype != torch.float32 else 2**23
    original = torch.randint(-steps, steps, (2, 5000), generator=generator).double().div(steps).float()
    BACKEND.save(path, original, 16000, encoding=encoding, bits_per_sample=bits)
    assert BACKEND.info(path).bits_per_sample == bits
    decoded, rate = BACKEND.load(path)
    assert rate == 16000
    torch.testing.assert_close(decoded, original, rtol=0, atol=0)
    if suffix in ("flac", "wav"):  # what libsndfile reads from our file agrees
        reference, _ = soundfile.read(path, dtype="float32", always_2d=True)
        np.testing.assert_array_equal(reference.T, original.numpy())


def test_companded_wav(tmp_path) -> None:
    original = _tone(8000, 8000)
    for encoding in ("ULAW", "ALAW"):
        path = tmp_path / f"{encoding}.wav"
        BACKEND.save(path, original, 8000, encoding=encoding)
        assert soundfile.info(path).subtype == encoding
        reference, _ = soundfile.read(path, dtype="float32", always_2d=True)
        np.testing.assert_array_equal(BACKEND.load(path)[0].numpy(), reference.T)


def test_integer_waveforms_keep_their_samples(tmp_path) -> None:
    samples = torch.randint(-32768, 32767, (1, 3000), dtype=torch.int16)
    BACKEND.save(tmp_path / "x.wav", samples, 8000)
    assert torch.equal(BACKEND.load(tmp_path / "x.wav", normalize=False)[0], samples)


def test_many_channels_and_no_samples(tmp_path) -> None:
    many = torch.rand(12, 500, generator=torch.Generator().manual_seed(1)) - 0.5  # more than 8 planes
    BACKEND.save(tmp_path / "many.wav", many, 8000)
    assert torch.equal(BACKEND.load(tmp_path / "many.wav")[0], many)
    BACKEND.save(tmp_path / "surround.m4a", _tone(4800, 48000).repeat(3, 1), 48000)
    assert BACKEND.info(tmp_path / "surround.m4a").num_channels == 6
    BACKEND.save(tmp_path / "empty.flac", torch.zeros(2, 0), 8000)
    assert BACKEND.load(tmp_path / "empty.flac")[0].shape == (2, 0)


def test_compression_sets_the_bit_rate(tmp_path) -> None:
    sizes = {}
    for kbps in (64, 192):
        BACKEND.save(tmp_path / f"{kbps}.mp3", _tone(44100 * 2, 44100), 44100, compression=kbps)
        sizes[kbps] = os.path.getsize(tmp_path / f"{kbps}.mp3")
        assert abs(int(_probe(tmp_path / f"{kbps}.mp3")[0]["bit_rate"]) - kbps * 1000) <= 0.05 * kbps * 1000
    assert sizes[192] > 2.5 * sizes[64]
    noise = torch.rand(1, 20000, generator=torch.Generator().manual_seed(0)) - 0.5
    BACKEND.save(tmp_path / "fast.flac", noise, 16000, compression=0)
    BACKEND.save(tmp_path / "best.flac", noise, 16000, compression=12)
    assert os.path.getsize(tmp_path / "best.flac") < os.path.getsize(tmp_path / "fast.flac")


def test_save_to_a_file_object() -> None:
    buffer = io.BytesIO()
    BACKEND.save(buffer, _tone(4800, 48000), 48000, format="opus")
    assert BACKEND.info(buffer.getvalue()).encoding == "OPUS"


@pytest.mark.parametrize(
    ("kwargs", "said"),
    [({"format": "opus", "sample_rate": 44100}, "44100 Hz"),
     ({"format": "mp3", "encoding": "AAC"}, "cannot hold AAC"),
     ({"format": "mp3", "bits_per_sample": 16}, "bits_per_sample"),
     ({"format": "wav", "compression": 5}, "compression"),
     ({"format": "mp3", "compression": 999}, "8-320"),
     ({"format": "flac", "bits_per_sample": 32}, "not 32"),
     ({"format": "xyz"}, "'xyz'"),
     ({"format": None}, "pass format=")],
)  # fmt: skip
def test_save_refusals_leave_nothing(tmp_path, kwargs, said) -> None:
    target = tmp_path / ("old.bin" if kwargs.get("format") is not None else "noext")
    target.write_bytes(b"old")
    options = {"sample_rate": 44100, **kwargs}
    with pytest.raises(UnsupportedFormatError) as caught:
        BACKEND.save(target, _tone(1000, 44100), **options)
    assert said in str(caught.value) and str(target) in str(caught.value)
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == [target.name]


def test_save_refuses_bad_samples(tmp_path) -> None:
    with pytest.raises(InvalidParameterError, match="waveform"):
        BACKEND.save(tmp_path / "loud.flac", torch.full((1, 100), 1.5), 8000)
    with pytest.raises(InvalidParameterError, match="NaN"):
        BACKEND.save(tmp_path / "nan.m4a", torch.full((1, 100), float("nan")), 8000)
    assert not os.listdir(tmp_path)


# --- bad input --------------------------------------------------------------------------------------------


def test_random_bytes_and_empty_files(tmp_path) -> None:
    noise = np.random.default_rng(0).bytes(4096)
    for source, named in ((noise, "<4096 bytes>"), (b"", "<0 bytes>"), (io.BytesIO(noise), "<BytesIO>")):
        with pytest.raises(AudioDecodeError, match=named):
            BACKEND.load(source)
    path = tmp_path / "noise.m4a"
    path.write_bytes(noise)
    for call in (BACKEND.load, BACKEND.info):
        with pytest.raises(AudioDecodeError, match=str(path)):
            call(path)
    with pytest.raises(FileNotFoundError):
        BACKEND.load(tmp_path / "missing.m4a")


def test_video_without_audio(tmp_path) -> None:
    _ffmpeg(f"{VIDEO} -c:v mpeg4", tmp_path / "silent.mp4")
    with pytest.raises(UnsupportedFormatError, match="no audio stream"):
        BACKEND.info(tmp_path / "silent.mp4")


@pytest.mark.parametrize("name", ["faststart.m4a", "tone.flac", "video.mkv", "tone.wma"])
def test_truncated_files(files, tmp_path, name) -> None:
    path = tmp_path / name
    data = files[name].read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioDecodeError, match=r"header declares \d+ frames, decoding stopped \d+ frames in") as caught:
        BACKEND.load(path)
    assert str(path) in str(caught.value)
    with pytest.raises(AudioDecodeError, match="header declares"):
        list(BACKEND.stream(path, 10000))
    with warnings.catch_warnings(record=True) as caught_warnings:
        warnings.simplefilter("always")
        waveform, _ = BACKEND.load(path, strict=False)
    assert [w.category for w in caught_warnings] == [TruncatedAudioWarning]
    assert 0 < waveform.shape[1] < BACKEND.info(files[name]).num_frames


def test_moov_at_the_end_cut_off(files) -> None:
    data = files["tone.m4a"].read_bytes()
    with pytest.raises(AudioDecodeError, match="bytes>"):
        BACKEND.load(data[: len(data) // 2])


def test_bad_arguments(files) -> None:
    with pytest.raises(InvalidParameterError, match="frame_offset"):
        BACKEND.load(files["tone.m4a"], frame_offset=-1)
    with pytest.raises(InvalidParameterError, match="frames_per_chunk"):
        BACKEND.stream(files["tone.m4a"], 0)


# --- selection --------------------------------------------------------------------------------------------


def test_can_read_and_write(files) -> None:
    assert all(BACKEND.can_read(f"a.{ext}") for ext in ("m4a", "mp4", "mkv", "webm", "wma", "ac3", "mov", "opus"))
    assert not BACKEND.can_read("photo.jpg") and not BACKEND.can_read(b"plain text, not audio")
    for name in ("tone.m4a", "video.mkv", "tone.wma", "tone.ac3", "tone.flac", "tone.aac"):
        assert BACKEND.can_read(files[name].read_bytes()), name
        with open(files[name], "rb") as handle:
            assert BACKEND.can_read(handle) and handle.tell() == 0
    assert BACKEND.can_write("m4a") and BACKEND.can_write("wav", "ULAW") and BACKEND.can_write("ogg", "OPUS")
    assert not BACKEND.can_write("m4a", "MP3") and not BACKEND.can_write("wma")
