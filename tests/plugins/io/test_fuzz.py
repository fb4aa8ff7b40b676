"""Fuzzing the readers: mutated WAV, FLAC, Ogg and MP3 files raise only tympan's errors, and never hang.

Small valid seeds are written with soundfile, then mutated deterministically (byte flips, truncations,
inserted and deleted bytes, header fields overwritten with edge values). Each mutant goes through
``load``, ``info`` and ``stream`` as dispatched and through ``io:ffmpeg`` itself, and WAV-family mutants
also through ``io:wav`` itself (strictly and with ``strict=False``). Any exception other than a
:class:`~tympan.core.errors.TympanError` is a failure, and so is a case running past its time limit:
Python code is interrupted by ``SIGALRM``, and a hang inside a C library is ended by :mod:`faulthandler`,
which prints every thread's stack.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import random
import signal
import sys
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import soundfile

from tympan.core.errors import TympanError
from tympan.plugins.io import api
from tympan.plugins.io.ffmpeg_backend import FfmpegBackend
from tympan.plugins.io.wav_backend import WavBackend

SEED = 20261124
MUTANTS_PER_SEED = 250
#: Per case: SIGALRM interrupts Python code after this long; faulthandler ends the process after 10x.
CASE_SECONDS = 2.0
# (name, major, subtype, channels, frames)
SEEDS = [
    pytest.param("wav-pcm16", "WAV", "PCM_16", 2, 300, id="wav-pcm16"),
    pytest.param("wavex-pcm24", "WAVEX", "PCM_24", 3, 200, id="wavex-pcm24"),
    pytest.param("rf64-float", "RF64", "FLOAT", 1, 300, id="rf64-float"),
    pytest.param("w64-u8", "W64", "PCM_U8", 2, 300, id="w64-u8"),
    pytest.param("wav-ulaw", "WAV", "ULAW", 1, 400, id="wav-ulaw"),
    pytest.param("flac", "FLAC", "PCM_16", 2, 400, id="flac"),
    pytest.param("ogg", "OGG", "VORBIS", 1, 400, id="ogg"),
    pytest.param("mp3", "MP3", "MPEG_LAYER_III", 1, 1152, id="mp3"),
]
WAV_FAMILY = {"WAV", "WAVEX", "RF64", "W64"}
FFMPEG = FfmpegBackend()
# Values a header field is overwritten with: zero, ones, sign bits, streaming placeholders, huge sizes.
EDGE_VALUES = (0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF0000, 0x7FFFFFFF, 0x80000000)
EDGE_VALUES += (0xFFFFFFFE, 0xFFFFFFFF, 1 << 32, 1 << 62, (1 << 64) - 1)


def _seed(major: str, subtype: str, channels: int, frames: int) -> bytes:
    noise = np.random.default_rng(frames + channels).uniform(-0.9, 0.9, (frames, channels))
    buffer = io.BytesIO()
    soundfile.write(buffer, noise, 16000, format=major, subtype=subtype)
    return buffer.getvalue()


def _overwrite(data: bytearray, rng: random.Random) -> None:
    """Overwrite a field (2, 4 or 8 bytes, either byte order), mostly in the header, with an edge value."""
    width = rng.choice((2, 4, 4, 8))
    limit = min(len(data), 96) if rng.random() < 0.8 else len(data)
    if limit < width:
        return
    offset = rng.randrange(0, limit - width + 1, 2 if rng.random() < 0.7 else 1)
    value = rng.choice(EDGE_VALUES) % (1 << (8 * width))
    data[offset : offset + width] = value.to_bytes(width, rng.choice(("little", "big")))


def _mutate(seed: bytes, rng: random.Random) -> bytes:
    data = bytearray(seed)
    for _ in range(rng.choice((1, 1, 2, 3))):
        kind = rng.randrange(5)
        position = rng.randrange(len(data) + 1)
        if kind == 0 and data:  # flip bits of a few bytes
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif kind == 1:  # truncate, half the time inside the header
            del data[position if rng.random() < 0.5 else rng.randrange(min(len(data), 128) + 1) :]
        elif kind == 2:
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == 3:
            del data[position : position + rng.randint(1, 16)]
        else:
            _overwrite(data, rng)
    return bytes(data)


def _mutants(name: str, seed: bytes) -> Iterator[bytes]:
    rng = random.Random(f"{SEED}-{name}")
    for _ in range(MUTANTS_PER_SEED):
        yield _mutate(seed, rng)


class CaseTimeoutError(Exception):
    """A case ran past :data:`CASE_SECONDS`."""


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    def interrupt(signum: int, frame: object) -> None:
        raise CaseTimeoutError(f"a case ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    faulthandler.dump_traceback_later(10 * seconds, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _calls(data: bytes, wav_family: bool) -> list[tuple[str, Callable[[], object]]]:
    calls: list[tuple[str, Callable[[], object]]] = [
        ("load", lambda: api.load(data)),
        ("load window", lambda: api.load(data, frame_offset=50, num_frames=100, normalize=False)),
        ("info", lambda: api.info(data)),
        ("stream", lambda: list(api.stream(data, 97))),
        ("io:ffmpeg load", lambda: FFMPEG.load(data)),
        ("io:ffmpeg load window", lambda: FFMPEG.load(data, frame_offset=50, num_frames=100, strict=False)),
        ("io:ffmpeg info", lambda: FFMPEG.info(data)),
        ("io:ffmpeg stream", lambda: list(FFMPEG.stream(io.BytesIO(data), 97))),
    ]
    if wav_family:
        wav = WavBackend()
        calls += [
            ("io:wav can_read", lambda: wav.can_read(data)),
            ("io:wav load", lambda: wav.load(data, channels_first=False)),
            ("io:wav info", lambda: wav.info(data)),
            ("io:wav stream", lambda: list(wav.stream(io.BytesIO(data), 64, frame_offset=10, normalize=False))),
            ("io:wav load strict=False", lambda: wav.load(data, strict=False)),
        ]
    return calls


def _escapes(data: bytes, wav_family: bool) -> list[str]:
    """Each call on ``data`` that raised anything but a TympanError, or ran too long."""
    problems = []
    for label, call in _calls(data, wav_family):
        try:
            with _time_limit(CASE_SECONDS), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call()
        except TympanError:
            pass
        except Exception as error:  # anything else is what the fuzzer looks for
            problems.append(f"{label}: {type(error).__name__}: {error}")
    return problems


@pytest.mark.parametrize(("name", "major", "subtype", "channels", "frames"), SEEDS)
def test_mutated_files_raise_only_typed_errors(name, major, subtype, channels, frames, record_property) -> None:
    seed = _seed(major, subtype, channels, frames)
    assert not _escapes(seed, major in WAV_FAMILY), "the unmutated seed must read cleanly"
    failures: dict[str, list[str]] = {}
    tried = 0
    for data in _mutants(name, seed):
        tried += 1
        problems = _escapes(data, major in WAV_FAMILY)
        if problems:
            failures[data.hex()] = problems
    record_property("inputs", tried)
    print(f"{name}: {tried} mutants, {len(failures)} with escapes")
    assert not failures, "\n".join(f"{len(p)} escape(s) for {h[:200]}...: {p}" for h, p in list(failures.items())[:5])
