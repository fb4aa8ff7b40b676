"""A round-trip matrix: format x encoding x sample size x channels (1, 2, 6) x rate (8 to 96 kHz).

Each file is written with ``tympan.save`` and checked three ways: against libsndfile's own view
(``soundfile.info`` / ``soundfile.read``), against the samples that were saved, and, for the formats the
``sox`` binary reads, against ``soxi`` (rate, channels, length, bits, encoding, type) and the samples
``sox FILE -t f32 -`` decodes. The full product is ~800 files; each encoding case is taken at two
(channels, rate) pairs, rotated so that every pair and every rate occurs, which keeps the file fast.
"""

from __future__ import annotations

import itertools
import pathlib
import shutil
import subprocess
from typing import NamedTuple

import numpy as np
import pytest
import soundfile
import torch

import tympan
from tympan.core.audio import AudioInfo

from .conftest import make_signal

SOX = shutil.which("sox")
SOXI = shutil.which("soxi")


class Case(NamedTuple):
    ext: str
    encoding: str | None
    bits: int | None
    subtype: str  # what libsndfile must report
    info_encoding: str  # what tympan.info must report
    info_bits: int


CASES = [
    Case("wav", "PCM_U", 8, "PCM_U8", "PCM_U", 8),
    Case("wav", "PCM_S", 16, "PCM_16", "PCM_S", 16),
    Case("wav", "PCM_S", 24, "PCM_24", "PCM_S", 24),
    Case("wav", "PCM_S", 32, "PCM_32", "PCM_S", 32),
    Case("wav", "PCM_F", 32, "FLOAT", "PCM_F", 32),
    Case("wav", "PCM_F", 64, "DOUBLE", "PCM_F", 64),
    Case("wav", "ULAW", 8, "ULAW", "ULAW", 8),
    Case("wav", "ALAW", 8, "ALAW", "ALAW", 8),
    Case("rf64", "PCM_S", 16, "PCM_16", "PCM_S", 16),
    Case("rf64", "PCM_F", 32, "FLOAT", "PCM_F", 32),
    Case("w64", "PCM_S", 24, "PCM_24", "PCM_S", 24),
    Case("w64", "PCM_F", 64, "DOUBLE", "PCM_F", 64),
    Case("flac", None, 8, "PCM_S8", "FLAC", 8),
    Case("flac", None, None, "PCM_16", "FLAC", 16),
    Case("flac", "FLAC", 24, "PCM_24", "FLAC", 24),
    Case("aiff", "PCM_S", 8, "PCM_S8", "PCM_S", 8),
    Case("aiff", "PCM_S", 16, "PCM_16", "PCM_S", 16),
    Case("aif", "PCM_S", 24, "PCM_24", "PCM_S", 24),
    Case("aifc", "PCM_S", 32, "PCM_32", "PCM_S", 32),
    Case("aiff", "PCM_F", 32, "FLOAT", "PCM_F", 32),
    Case("caf", "PCM_S", 16, "PCM_16", "PCM_S", 16),
    Case("caf", "PCM_S", 24, "PCM_24", "PCM_S", 24),
    Case("caf", "PCM_F", 32, "FLOAT", "PCM_F", 32),
    Case("caf", "ULAW", None, "ULAW", "ULAW", 8),
    Case("caf", "ALAW", None, "ALAW", "ALAW", 8),
    Case("au", "PCM_S", 8, "PCM_S8", "PCM_S", 8),
    Case("au", "PCM_S", 16, "PCM_16", "PCM_S", 16),
    Case("au", "PCM_F", 64, "DOUBLE", "PCM_F", 64),
    Case("au", "ULAW", 8, "ULAW", "ULAW", 8),
    Case("sph", "PCM_S", 16, "PCM_16", "PCM_S", 16),
    Case("nist", "PCM_S", 24, "PCM_24", "PCM_S", 24),
    Case("sph", "PCM_S", 32, "PCM_32", "PCM_S", 32),
    Case("sph", "ULAW", 8, "ULAW", "ULAW", 8),
    Case("ogg", "VORBIS", None, "VORBIS", "VORBIS", 0),
    Case("opus", None, None, "OPUS", "OPUS", 0),
    Case("mp3", None, None, "MPEG_LAYER_III", "MP3", 0),
]
CHANNELS = (1, 2, 6)
RATES = (8000, 16000, 44100, 48000, 96000)
# Codec limits: MP3 is mono or stereo up to 48 kHz; Opus runs at 8, 12, 16, 24 or 48 kHz.
LIMITS = {"mp3": (2, {8000, 16000, 44100, 48000}), "opus": (8, {8000, 16000, 48000})}
LOSSY = {"VORBIS", "OPUS", "MP3"}


def _layouts(index: int, ext: str) -> list[tuple[int, int]]:
    """Two (channels, rate) pairs for case ``index``, rotated through the product, within the codec's limits."""
    product = list(itertools.product(CHANNELS, RATES))
    max_channels, rates = LIMITS.get(ext, (8, set(RATES)))
    fitting = [(c, r) for c, r in product if c <= max_channels and r in rates]
    return [fitting[(2 * index) % len(fitting)], fitting[(2 * index + 7) % len(fitting)]]


PARAMS = [
    pytest.param(case, channels, rate, id=f"{case.ext}-{case.encoding or '-'}-{case.bits or '-'}-{channels}ch-{rate}")
    for index, case in enumerate(CASES)
    for channels, rate in _layouts(index, case.ext)
]


def _input(channels: int, rate: int) -> torch.Tensor:
    """40 ms of tones at 0.8 of full scale, (channels, time) float32."""
    return torch.from_numpy(make_signal(rate // 25, channels, rate).astype(np.float32)).T.contiguous()


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory):
    """Write each (case, channels, rate) once with tympan.save; the checks below share the files."""
    folder = tmp_path_factory.mktemp("matrix")
    cache: dict[tuple[Case, int, int], pathlib.Path] = {}

    def write(case: Case, channels: int, rate: int) -> pathlib.Path:
        key = (case, channels, rate)
        if key not in cache:
            path = folder / f"{len(cache)}.{case.ext}"
            tympan.save(path, _input(channels, rate), rate, encoding=case.encoding, bits_per_sample=case.bits)
            cache[key] = path
        return cache[key]

    return write


def _tolerance(case: Case) -> float:
    """How far a decoded sample may sit from the saved one: one quantisation step plus libsndfile's
    2**(bits-1) - 1 versus 2**(bits-1) scaling (under a second step); float32 resolution for 32-bit PCM;
    half the widest mu-law/A-law segment step (1024/32768) for the companders; exact for float."""
    if case.info_encoding in {"ULAW", "ALAW"}:
        return 2.0**-5
    if case.info_encoding == "PCM_F":
        return 0.0
    return max(2.0 * 2.0 ** -(case.info_bits - 1), 2.0**-23)


@pytest.mark.parametrize(("case", "channels", "rate"), PARAMS)
def test_written_files_match_libsndfile_and_the_input(written, case, channels, rate) -> None:
    path = written(case, channels, rate)
    frames = rate // 25

    described = soundfile.info(path)
    assert (described.samplerate, described.channels, described.subtype) == (rate, channels, case.subtype)
    found = tympan.info(path)
    container = found.format
    assert found == AudioInfo(rate, described.frames, channels, case.info_bits, case.info_encoding, container)
    if case.info_encoding not in LOSSY:  # codecs may pad to their frame size
        assert found.num_frames == frames

    waveform, sample_rate = tympan.load(path)
    reference, _ = soundfile.read(path, dtype="float32", always_2d=True)
    assert sample_rate == rate
    # Identical, but for MP3: libmpg123's float output differs by an ulp between two opens of one file.
    same = 2.0**-23 if case.info_encoding == "MP3" else 0.0
    torch.testing.assert_close(waveform, torch.from_numpy(reference).T, rtol=0, atol=same)
    if case.info_encoding not in LOSSY:
        error = float((waveform - _input(channels, rate)).abs().max())
        assert error <= _tolerance(case), f"{error} > {_tolerance(case)}"


def _sox_formats() -> set[str]:
    if SOX is None:
        return set()
    usage = subprocess.run([SOX, "--help"], capture_output=True, text=True).stdout
    line = next((row for row in usage.splitlines() if row.startswith("AUDIO FILE FORMATS:")), "")
    return set(line.split(":", 1)[-1].split())


SOX_FORMATS = _sox_formats()
# soxi -e wording of each encoding; -t names an Ogg Vorbis file "vorbis".
SOX_ENCODINGS = {
    "PCM_S": "Signed Integer PCM",
    "PCM_U": "Unsigned Integer PCM",
    "PCM_F": "Floating Point PCM",
    "ULAW": "u-law",
    "ALAW": "A-law",
    "FLAC": "FLAC",
    "VORBIS": "Vorbis",
}
SOX_TYPES = {"ogg": "vorbis"}
# sox 14.4.2 reads float CAF and W64 through libsndfile with a wrong scale (samples doubled, or zero),
# for files soundfile writes itself too; their headers are still compared.
SOX_MISREADS = {("caf", "PCM_F"), ("w64", "PCM_F")}


def _sox_tolerance(case: Case) -> float:
    """sox decodes to 32-bit integers, then to float32 here; libsndfile decodes straight to float32.
    Integer PCM up to 24 bits and FLAC agree exactly; 32-bit PCM and float differ by float32 rounding
    (2**-24) at most; the companders by one step of sox's 14-bit (mu-law) / 13-bit (A-law) expansion;
    Vorbis by one 16-bit step, since sox asks libvorbis for 16-bit samples."""
    if case.info_encoding in {"PCM_S", "PCM_U", "FLAC"} and case.info_bits <= 24:
        return 0.0
    if case.info_encoding in {"ULAW", "ALAW"}:
        return 2.0**-12
    if case.info_encoding == "VORBIS":
        return 2.0**-15
    return 2.0**-24


#: The cases sox 14.4 reads: it has no RF64, Opus or MP3 support.
SOX_PARAMS = [p for p in PARAMS if p.values[0].ext in SOX_FORMATS and p.values[0].info_encoding not in {"OPUS", "MP3"}]


@pytest.mark.skipif(SOX is None or SOXI is None, reason="the sox binary is not installed")
@pytest.mark.parametrize(("case", "channels", "rate"), SOX_PARAMS)
def test_sox_reads_what_was_written(written, case, channels, rate) -> None:
    path = written(case, channels, rate)
    found = tympan.info(path)

    def soxi(flag: str) -> str:
        return subprocess.run([SOXI, flag, str(path)], capture_output=True, text=True, check=True).stdout.strip()

    assert int(soxi("-r")) == rate
    assert int(soxi("-c")) == channels
    assert int(soxi("-s")) == found.num_frames
    assert int(soxi("-b")) == found.bits_per_sample
    assert soxi("-e") == SOX_ENCODINGS[found.encoding]
    assert soxi("-t") == SOX_TYPES.get(found.format, found.format)

    if (found.format, found.encoding) in SOX_MISREADS:
        return
    decoded = subprocess.run([SOX, "-D", "-V1", str(path), "-t", "f32", "-"], capture_output=True, check=True).stdout
    theirs = np.frombuffer(decoded, np.float32).reshape(-1, channels)
    ours = tympan.load(path, channels_first=False)[0].numpy()
    assert theirs.shape == ours.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=_sox_tolerance(case))
