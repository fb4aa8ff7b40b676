"""``io:wav`` against ``io:soundfile`` (libsndfile): the same samples, dtypes and metadata for every WAV
variant it claims, the header cases streaming writers and damaged files produce, and how it reads."""

from __future__ import annotations

import io
import itertools
import pathlib
import struct
import warnings

import numpy as np
import pytest
import soundfile
import torch

from tympan.core.errors import AudioDecodeError, TruncatedAudioWarning, UnsupportedFormatError
from tympan.plugins.io.soundfile_backend import SoundfileBackend
from tympan.plugins.io.wav_backend import WavBackend

WAV = WavBackend()
REFERENCE = SoundfileBackend()
FRAMES = 301
SUBTYPES = ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"]
CONTAINERS = [("WAV", "FILE"), ("WAVEX", "FILE"), ("RF64", "FILE"), ("W64", "FILE"), ("WAV", "BIG")]
WINDOWS = [(0, -1), (0, 0), (7, 100), (250, -1), (FRAMES - 1, 5), (FRAMES, -1), (FRAMES + 20, 3)]


def _encode(major: str, subtype: str, channels: int, endian: str = "FILE", frames: int = FRAMES) -> bytes:
    """A soundfile-written file of full-scale noise (its extremes hit every encoding's limits)."""
    signal = np.random.default_rng(frames * 10 + channels).uniform(-1.0, 1.0, (frames, channels))
    signal[: min(frames, 2)] = np.array([[1.0], [-1.0]])[: min(frames, 2)]
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, 8000, format=major, subtype=subtype, endian=endian)
    return buffer.getvalue()


def _sources(data: bytes, tmp_path: pathlib.Path) -> list[object]:
    path = tmp_path / "clip.wav"
    path.write_bytes(data)
    return [path, str(path), data, io.BytesIO(data), path.open("rb")]


def _same(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Bit-exact: same dtype, shape and values (the decoders must agree sample for sample)."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    assert actual.is_contiguous()
    assert torch.equal(actual, expected)


@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("subtype", SUBTYPES)
@pytest.mark.parametrize(("major", "endian"), CONTAINERS, ids=["WAV", "WAVEX", "RF64", "W64", "RIFX"])
def test_every_variant_matches_soundfile(tmp_path, major, endian, subtype, channels) -> None:
    data = _encode(major, subtype, channels, endian)
    assert WAV.can_read(data)
    assert WAV.info(data) == REFERENCE.info(data)
    options = itertools.product([True, False], [True, False], WINDOWS)
    for source, (normalize, channels_first, (offset, count)) in itertools.product(_sources(data, tmp_path), options):
        expected, rate = REFERENCE.load(data, offset, count, normalize, channels_first)
        actual, actual_rate = WAV.load(source, offset, count, normalize, channels_first)
        assert actual_rate == rate == 8000
        _same(actual, expected)
    for source in _sources(data, tmp_path):
        chunks = list(WAV.stream(source, 64, frame_offset=5, normalize=False, channels_first=False))
        _same(torch.cat(chunks), REFERENCE.load(data, 5, -1, False, False)[0])


def test_g711_expansion_matches_libsndfile_for_every_code() -> None:
    for subtype in ("ULAW", "ALAW"):
        data = bytearray(_encode("WAV", subtype, 1, frames=256))
        offset = data.index(b"data") + 8
        data[offset : offset + 256] = bytes(range(256))
        expected = REFERENCE.load(bytes(data))[0]
        assert len(torch.unique(expected)) >= 254  # every code decoded (G.711 has two zeros)
        _same(WAV.load(bytes(data))[0], expected)


def test_big_reads_go_through_a_map_and_agree(tmp_path) -> None:
    path = tmp_path / "long.wav"
    path.write_bytes(_encode("WAV", "PCM_24", 2, frames=200_000))  # 1.2 MB: above the mapping threshold
    for normalize, channels_first in itertools.product([True, False], [True, False]):
        expected = REFERENCE.load(path, 1, -1, normalize, channels_first)[0]
        _same(WAV.load(path, 1, -1, normalize, channels_first)[0], expected)


# --- what it claims --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("major", "subtype"),
    [("WAV", "IMA_ADPCM"), ("WAV", "MS_ADPCM"), ("WAV", "GSM610"), ("W64", "IMA_ADPCM"), ("FLAC", "PCM_16")],
)
def test_other_encodings_are_left_to_soundfile(major, subtype) -> None:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(640), 8000, format=major, subtype=subtype)
    assert not WAV.can_read(buffer.getvalue())
    with pytest.raises(UnsupportedFormatError, match="bytes>"):
        WAV.load(buffer.getvalue())


def test_24_bit_samples_in_32_bit_containers_are_left_to_soundfile() -> None:
    data = bytearray(_encode("WAVEX", "PCM_32", 2))
    data[38:40] = struct.pack("<H", 24)  # valid bits of the extensible fmt chunk
    assert not WAV.can_read(bytes(data))


def test_can_read_declines_what_is_not_a_wav(tmp_path) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("these are not samples\n" * 20)
    for source in (b"", b"RIFF", b"fLaC\0\0\0\x22", text, tmp_path / "missing.wav", tmp_path, "http://x/a.wav"):
        assert not WAV.can_read(source)


def test_can_read_and_info_restore_a_file_objects_position() -> None:
    handle = io.BytesIO(_encode("WAV", "PCM_16", 2))
    handle.seek(0)
    assert WAV.can_read(handle) and handle.tell() == 0
    assert WAV.info(handle).num_frames == FRAMES and handle.tell() == 0


def test_a_file_object_is_read_from_its_position_as_soundfile_does() -> None:
    data = _encode("WAV", "PCM_16", 2)
    handle = io.BytesIO(b"junk" + data)
    handle.seek(4)
    _same(WAV.load(handle)[0], REFERENCE.load(data)[0])
    assert handle.tell() == 4


def test_unseekable_file_objects_are_refused() -> None:
    class Pipe(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def tell(self) -> int:
            raise io.UnsupportedOperation("not seekable")

    assert not WAV.can_read(Pipe())
    with pytest.raises(UnsupportedFormatError, match="seekable"):
        WAV.load(Pipe())


def test_text_file_objects_are_refused(tmp_path) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(_encode("WAV", "PCM_16", 1))
    with path.open(encoding="latin-1") as text:
        assert not WAV.can_read(text)
        with pytest.raises(UnsupportedFormatError, match="binary"):
            WAV.load(text)


# --- header cases ----------------------------------------------------------------------------------------


def _data_size_offset(data: bytes) -> int:
    return data.index(b"data") + 4


@pytest.mark.parametrize(("major", "subtype"), [("WAV", "PCM_16"), ("RF64", "PCM_24"), ("W64", "FLOAT")])
def test_truncated_files_follow_strict(tmp_path, major, subtype) -> None:
    path = tmp_path / "cut.wav"
    full = _encode(major, subtype, 2)
    path.write_bytes(full[: len(full) - 1000])
    present = FRAMES - -(-1000 // (2 * int(WAV.info(full).bits_per_sample // 8)))
    reason = f"header declares {FRAMES} frames, the file holds {present}"
    for call in (WAV.load, WAV.info, lambda source: WAV.stream(source, 10)):
        with pytest.raises(AudioDecodeError, match=reason) as caught:
            call(path)
        assert str(path) in str(caught.value)
    expected, _ = soundfile.read(path, dtype="float32", always_2d=True)  # libsndfile reads what is there
    with pytest.warns(TruncatedAudioWarning, match=reason):
        waveform, _ = WAV.load(path, strict=False)
    _same(waveform, torch.from_numpy(expected.T.copy()))
    with pytest.warns(TruncatedAudioWarning):
        chunks = list(WAV.stream(path.read_bytes(), 100, frame_offset=3, strict=False))
    _same(torch.cat(chunks, dim=1), waveform[:, 3:])


@pytest.mark.parametrize("size", [0xFFFFFFFF, 0x7FFFF000, 0])
def test_streaming_writers_placeholder_sizes_mean_to_the_end(size) -> None:
    data = bytearray(_encode("WAV", "PCM_16", 2))
    data[4:8] = b"\xff\xff\xff\xff"
    data[_data_size_offset(data) : _data_size_offset(data) + 4] = struct.pack("<I", size)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        waveform, _ = WAV.load(bytes(data))
    _same(waveform, REFERENCE.load(_encode("WAV", "PCM_16", 2))[0])
    assert WAV.info(bytes(data)).num_frames == FRAMES


def test_an_empty_data_chunk_followed_by_a_chunk_is_empty() -> None:
    header = _encode("WAV", "PCM_16", 1, frames=0)
    data = header + b"LIST" + struct.pack("<I", 4) + b"INFO"
    assert WAV.info(data).num_frames == REFERENCE.info(data).num_frames == 0
    assert WAV.load(data)[0].shape == (1, 0)


def test_unknown_and_odd_sized_chunks_are_skipped() -> None:
    original = _encode("WAV", "PCM_24", 2)
    fmt_end = 12 + 8 + 16
    odd = b"junk" + struct.pack("<I", 3) + b"abc" + b"\0"  # odd size, one pad byte
    data = bytearray(original[:12] + odd + original[12:fmt_end] + odd + b"LIST" + struct.pack("<I", 6000))
    data += bytes(6000) + original[fmt_end:] + b"id3 " + struct.pack("<I", 2) + b"xy"
    data[4:8] = struct.pack("<I", len(data) - 8)
    assert WAV.info(bytes(data)) == REFERENCE.info(bytes(data))
    _same(WAV.load(bytes(data), 10, 50, False)[0], REFERENCE.load(original, 10, 50, False)[0])


def _patched(data: bytes, offset: int, fmt: str, value: int) -> bytes:
    patched = bytearray(data)
    struct.pack_into(fmt, patched, offset, value)
    return bytes(patched)


PCM16 = _encode("WAV", "PCM_16", 2)
W64 = _encode("W64", "PCM_16", 2)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_patched(PCM16, 22, "<H", 0), "0 channels"),
        (_patched(PCM16, 22, "<H", 5000), "5000 channels"),
        (_patched(PCM16, 24, "<I", 0), "sample rate of 0"),
        (_patched(PCM16, 24, "<I", 2**31), "sample rate of 2147483648"),
        (_patched(PCM16, 32, "<H", 3), "3 bytes per frame"),
        (_patched(PCM16, 16, "<I", 0xFFFFFFF0), "declares 4294967280 bytes"),
        (_patched(PCM16, 16, "<I", 8), "shorter than 16"),
        (PCM16[:12] + b"JUNK" + struct.pack("<I", 0xFFFFFFF0) + PCM16[12:], "declares 4294967280 bytes"),
        (PCM16[:30], "the fmt chunk at byte 20 declares 16 bytes; the file ends at byte 30"),
        (PCM16[:12] + b"LIST" + bytes(4), "no fmt chunk"),
        (PCM16[:36] + b"LIST" + bytes(4), "no data chunk"),
        (PCM16.replace(b"data", b"atad"), "no data chunk"),
        (_patched(W64, 40 + 16, "<Q", 3), "less than its header"),
        (_patched(W64, 40 + 16, "<Q", 1 << 62), f"fmt chunk at byte 64 declares {(1 << 62) - 24} bytes"),
    ],
)
def test_absurd_headers_raise_naming_the_file(tmp_path, data, reason) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(data)
    assert not WAV.can_read(path) and not WAV.can_read(data)
    for source in (path, data):
        with pytest.raises(AudioDecodeError, match=reason) as caught:
            WAV.load(source)
        assert ("bytes>" if isinstance(source, bytes) else str(path)) in str(caught.value)


def test_an_empty_file_names_itself(tmp_path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="empty"):
        WAV.load(path)
    with pytest.raises(FileNotFoundError, match="missing"):
        WAV.load(tmp_path / "missing.wav")


# --- how it reads ----------------------------------------------------------------------------------------


class CountingReader(io.BytesIO):
    """A file object that counts the bytes read from it."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        self.read_bytes += count
        return count


def test_a_window_reads_only_its_bytes() -> None:
    data = _encode("WAV", "PCM_16", 2, frames=100_000)
    handle = CountingReader(data)
    waveform, _ = WAV.load(handle, frame_offset=50_000, num_frames=10)
    assert waveform.shape == (2, 10)
    assert handle.read_bytes <= 4096 + 10 * 4  # the header probe and the window
    handle = CountingReader(data)
    chunks = WAV.stream(handle, 1000)
    next(chunks)
    assert handle.read_bytes <= 4096 + 1000 * 4


def test_the_tensor_owns_its_memory(tmp_path) -> None:
    path = tmp_path / "clip.wav"
    path.write_bytes(_encode("WAV", "FLOAT", 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns on read-only (mapped) numpy arrays
        waveform, _ = WAV.load(path)
        native, _ = WAV.load(path.read_bytes(), normalize=False)
    shared = bytearray(path.read_bytes())
    from_bytearray, _ = WAV.load(shared, normalize=False)
    shared[-4:] = bytes(4)
    assert from_bytearray[0, -1] != 0
    before = waveform.clone()
    path.write_bytes(bytes(len(path.read_bytes())))  # rewritten in place
    torch.testing.assert_close(waveform, before, rtol=0, atol=0)
    path.unlink()
    waveform += 1  # writable
    native += 1


def test_stream_holds_one_chunk_and_matches_load(tmp_path) -> None:
    data = _encode("RF64", "PCM_32", 6, frames=1000)
    expected = WAV.load(data, 123, 700)[0]
    for chunk_size in (1, 99, 700, 701):
        chunks = list(WAV.stream(data, chunk_size, frame_offset=123, num_frames=700))
        assert max(chunk.shape[1] for chunk in chunks) <= chunk_size
        _same(torch.cat(chunks, dim=1), expected)
    assert list(WAV.stream(data, 10, frame_offset=5000)) == []


def test_a_file_that_shrinks_while_streaming_raises(tmp_path) -> None:
    path = tmp_path / "shrinking.wav"
    path.write_bytes(_encode("WAV", "PCM_16", 2, frames=400_000))
    chunks = WAV.stream(path, 300_000)  # 1.2 MB per chunk: read through a map
    next(chunks)
    with path.open("r+b") as handle:
        handle.truncate(400_000)
    with pytest.raises(AudioDecodeError, match="reading stopped"):
        next(chunks)
    handle = io.BytesIO(_encode("WAV", "PCM_16", 2))
    chunks = WAV.stream(handle, 100)
    handle.truncate(300)
    with pytest.raises(AudioDecodeError, match="reading stopped"):
        list(chunks)
