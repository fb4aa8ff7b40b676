"""Which backend serves a call: the hook's choice, an explicit ``backend=``, and what the backend accepts."""

from __future__ import annotations

import io
from typing import ClassVar

import pytest
import torch

import tympan
from tympan import registry
from tympan.core.audio import AudioInfo
from tympan.core.backend import Backend
from tympan.core.errors import UnknownNameError
from tympan.plugins.io import api
from tympan.plugins.io.soundfile_backend import SoundfileBackend
from tympan.registry import hooks
from tympan.registry.hookspecs import hookimpl


class Silence(Backend):
    """Reads any ``.silence`` path as a tenth of a second of stereo silence."""

    name = "test:silence"
    priority = 1000

    def can_read(self, source, format=None) -> bool:
        return format == "silence"

    def info(self, source, format=None) -> AudioInfo:
        return AudioInfo(8000, 800, 2, 32, "PCM_F", "silence")

    def load(self, source, frame_offset=0, num_frames=-1, normalize=True, channels_first=True, format=None):
        return torch.zeros(2, 800), 8000


@pytest.fixture
def silence_backend():
    registry.register("backend", Silence.name, Silence)
    yield registry.backend(Silence.name)
    registry.unregister("backend", Silence.name)


def test_facade_is_the_api() -> None:
    assert (tympan.load, tympan.save, tympan.info, tympan.stream) == (api.load, api.save, api.info, api.stream)
    assert sorted(api.__all__) == ["info", "load", "save", "stream"]


def test_soundfile_is_registered_with_a_positive_priority() -> None:
    backend = registry.backend("io:soundfile")
    assert isinstance(backend, SoundfileBackend) and backend.priority > 0
    assert registry.backend("io:soundfile") is backend


def test_the_default_hook_picks_the_highest_priority_backend_that_accepts(silence_backend, reference_file) -> None:
    assert tympan.load("anything.silence")[0].shape == (2, 800)
    assert tympan.info("anything.silence").format == "silence"
    assert hooks.select_backend(reference_file("clip.wav", "WAV", "PCM_16"), None, "r") == "io:wav"
    # io:wav (priority 60) declines what it does not decode; io:soundfile (50) takes it.
    assert hooks.select_backend(reference_file("clip.wav", "WAV", "IMA_ADPCM"), None, "r") == "io:soundfile"
    assert hooks.select_backend(reference_file("clip.flac", "FLAC", "PCM_16"), None, "r") == "io:soundfile"


def test_an_explicit_backend_wins(silence_backend, reference_file) -> None:
    path = reference_file("clip.wav", "WAV", "PCM_16")
    assert tympan.load(path, backend="test:silence")[0].shape == (2, 800)
    assert tympan.load(path, backend="io:soundfile")[0].shape == (2, 4000)
    with pytest.raises(UnknownNameError):
        tympan.load(path, backend="io:nonexistent")


def test_a_hook_implementation_can_choose(reference_file, silence_backend) -> None:
    class PreferSilence:
        @hookimpl
        def tympan_select_backend(self, source, format, mode):
            return "test:silence" if mode == "r" else None

    plugin = PreferSilence()
    manager = hooks.plugin_manager()
    manager.register(plugin, name="test-prefer-silence")
    try:
        assert tympan.load(reference_file("clip.wav", "WAV", "PCM_16"))[0].shape == (2, 800)
    finally:
        manager.unregister(plugin)


def test_a_backend_that_cannot_write_says_so(silence_backend, tmp_path) -> None:
    with pytest.raises(tympan.core.errors.UnsupportedFormatError, match=r"out\.wav"):
        tympan.save(tmp_path / "out.wav", torch.zeros(1, 10), 8000, backend="test:silence")


@pytest.mark.parametrize(
    ("source", "format", "expected"),
    [
        ("a.wav", None, True),
        ("a.WAV", None, True),
        ("a.oga", None, True),
        ("a.opus", None, True),
        ("a.aif", None, True),
        ("a.sph", None, True),
        ("a.mp3", None, True),
        ("a.m4a", None, False),
        ("a.raw", None, False),
        ("a.bin", "flac", True),
        (b"RIFF\0\0\0\0WAVEfmt ", None, True),
        (b"OggS", None, True),
        (b"ID3\x04", None, True),
        (b"\xff\xfb\x90", None, True),
        (b"plain text", None, False),
        (io.BytesIO(b"fLaC\0\0\0\x22"), None, True),
    ],
)
def test_can_read(source, format, expected) -> None:
    assert SoundfileBackend().can_read(source, format) is expected


def test_can_read_sniffs_files_with_an_unknown_extension(reference_file) -> None:
    flac = reference_file("clip.flac", "FLAC", "PCM_16")
    renamed = flac.rename(flac.with_suffix(".dat"))
    assert SoundfileBackend().can_read(renamed, "dat")
    torch.testing.assert_close(tympan.load(renamed)[0].shape, torch.Size([2, 4000]))


@pytest.mark.parametrize(
    ("format", "encoding", "expected"),
    [
        ("wav", None, True),
        ("wav", "ulaw", True),
        ("wav", "VORBIS", False),
        ("flac", "FLAC", True),
        ("ogg", "OPUS", True),
        ("opus", None, True),
        ("mp3", None, True),
        ("m4a", None, False),
    ],
)
def test_can_write(format, encoding, expected) -> None:
    assert SoundfileBackend().can_write(format, encoding) is expected


class Recorder(Backend):
    """Reads ``.rec`` paths, remembering the keyword options it was given."""

    name = "test:recorder"
    priority = 1000
    seen: ClassVar[list[dict]] = []

    def can_read(self, source, format=None) -> bool:
        return format == "rec"

    def info(self, source, format=None) -> AudioInfo:
        return AudioInfo(8000, 800, 2, 32, "PCM_F", "rec")

    def load(self, source, frame_offset=0, num_frames=-1, normalize=True, channels_first=True, format=None, **options):
        self.seen.append(options)
        return torch.zeros(2, 800), 8000

    def stream(self, source, frames_per_chunk, frame_offset=0, num_frames=-1, normalize=True, channels_first=True,
               format=None, **options):  # fmt: skip
        self.seen.append(options)
        yield torch.zeros(2, 800)


@pytest.fixture
def recorder():
    registry.register("backend", Recorder.name, Recorder)
    Recorder.seen.clear()
    yield registry.backend(Recorder.name)
    registry.unregister("backend", Recorder.name)


def test_strict_reaches_the_backend_only_when_relaxed(recorder, silence_backend) -> None:
    tympan.load("a.rec")
    tympan.load("a.rec", strict=False, channels="mean", check_finite=True)
    list(tympan.stream("a.rec", 100, strict=False))
    assert Recorder.seen == [{}, {"strict": False}, {"strict": False}]
    # a backend written before strict= existed still serves every call that leaves it at its default
    assert tympan.load("a.silence", channels=[1, 0])[0].shape == (2, 800)


def test_the_options_work_on_any_backend(recorder) -> None:
    waveform, rate = tympan.load("a.rec", channels="mean", sample_rate=16000)
    assert waveform.shape == (1, 1600) and rate == 16000
    with pytest.raises(tympan.core.errors.InvalidParameterError, match="index 2 is out of range"):
        tympan.load("a.rec", channels=2)


class Refuser(Backend):
    name = "test:refuser"

    def can_read(self, source, format=None) -> bool:
        return False

    def info(self, source, format=None) -> AudioInfo:
        raise NotImplementedError


@pytest.mark.parametrize("ffmpeg_loaded", [False, True])
def test_unreadable_formats_point_to_the_ffmpeg_extra(tmp_path, monkeypatch, ffmpeg_loaded) -> None:
    path = tmp_path / "song.xyz"  # a container nothing reads, FFmpeg included
    path.write_bytes(b"XYZ0" + bytes(64))
    registry.register("backend", Refuser.name, Refuser)
    monkeypatch.setattr(api, "_FFMPEG", Refuser.name if ffmpeg_loaded else "test:not-installed")
    try:
        for call in (tympan.load, tympan.info):
            with pytest.raises(tympan.core.errors.UnsupportedFormatError, match="'xyz' files") as caught:
                call(path)
            assert str(path) in str(caught.value)
            assert ("pip install 'tympan[ffmpeg]'" in str(caught.value)) is not ffmpeg_loaded
        with pytest.raises(tympan.core.errors.UnsupportedFormatError, match="no installed backend writes 'xyz'"):
            tympan.save(path, torch.zeros(1, 10), 8000)
    finally:
        registry.unregister("backend", Refuser.name)
