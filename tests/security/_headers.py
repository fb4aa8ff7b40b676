"""Crafted audio headers: absurd sample rates (0, NaN, 2147483647 Hz, a prime just under the limit) in WAV,
AIFF, AU, CAF, SPHERE and FLAC, and channel counts and sizes past sense, read by ``info``, ``load``,
``load(sample_rate=16000)``, ``stream`` and ``tympan convert --rate 16000``.

A rate no audio has (0, NaN, infinite, negative, above :data:`tympan.core.audio.MAX_SAMPLE_RATE`) must be an
:class:`~tympan.core.errors.AudioDecodeError`; any other header must be read, or refused with a typed error,
in bounded time and memory. Every file is built here from its format's layout, with a few frames of audio.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from _harness import Attack

FAMILY = "headers"
FRAMES = 400
ABSURD_RATES = {"zero": 0, "int-max": 2**31 - 1, "uint-max": 2**32 - 1, "just-over": 10_000_001}
ODD_RATES = {"prime-under": 9_999_991, "odd": 44_101, "one": 1}


def wav(rate: int, channels: int = 1, bits: int = 16, frames: int = FRAMES, tag: int = 1) -> bytes:
    block = channels * bits // 8
    data = bytes(frames * block)
    fmt = struct.pack("<HHIIHH", tag, channels, rate % 2**32, (rate * block) % 2**32, block % 2**16, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _extended(value: float) -> bytes:
    """``value`` as an IEEE 754 80-bit extended float, big-endian (AIFF's COMM sample rate)."""
    if math.isnan(value):
        return b"\x7f\xff\xc0" + bytes(7)
    if math.isinf(value):
        return (b"\xff\xff" if value < 0 else b"\x7f\xff") + b"\x80" + bytes(7)
    if value == 0:
        return bytes(10)
    sign = 0x8000 if value < 0 else 0
    mantissa, exponent = math.frexp(abs(value))
    return struct.pack(">HQ", sign | (exponent + 16382), int(mantissa * 2**64))


def aiff(rate: float, channels: int = 1, frames: int = FRAMES, raw_rate: bytes | None = None) -> bytes:
    comm = struct.pack(">hIh", channels, frames, 16) + (raw_rate if raw_rate is not None else _extended(rate))
    sound = struct.pack(">II", 0, 0) + bytes(frames * channels * 2)
    body = b"AIFF" + b"COMM" + struct.pack(">I", len(comm)) + comm + b"SSND" + struct.pack(">I", len(sound)) + sound
    return b"FORM" + struct.pack(">I", len(body)) + body


def au(rate: int, channels: int = 1, frames: int = FRAMES) -> bytes:
    return (
        b".snd"
        + struct.pack(">IIIII", 24, frames * 2 * channels, 3, rate % 2**32, channels)
        + bytes(frames * 2 * channels)
    )


def caf(rate: float, channels: int = 1, frames: int = FRAMES) -> bytes:
    desc = struct.pack(">d4sIIIII", rate, b"lpcm", 2, 2 * channels, 1, channels, 16)  # big-endian signed int
    data = struct.pack(">I", 0) + bytes(frames * 2 * channels)
    return (
        b"caff"
        + struct.pack(">HH", 1, 0)
        + b"desc"
        + struct.pack(">q", len(desc))
        + desc
        + b"data"
        + struct.pack(">q", len(data))
        + data
    )


def sphere(rate: str, channels: str = "1", frames: int = FRAMES) -> bytes:
    fields = (
        f"sample_count -i {frames}\nsample_rate -i {rate}\nchannel_count -i {channels}\n"
        "sample_n_bytes -i 2\nsample_byte_format -s2 01\nsample_coding -s3 pcm\nend_head\n"
    )
    header = ("NIST_1A\n   1024\n" + fields).encode().ljust(1024, b" ")
    return header + bytes(frames * 2)


def flac(rate: int) -> bytes:
    """A FLAC file with one verbatim frame of silence whose STREAMINFO declares ``rate`` (20 bits)."""
    import io

    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(FRAMES, "int16"), 8000, format="FLAC")
    data = bytearray(buffer.getvalue())
    # STREAMINFO starts at byte 8: sample rate in the 20 bits from byte 18
    packed = int.from_bytes(data[18:21], "big") & 0xF
    data[18:21] = ((rate % 2**20) << 4 | packed).to_bytes(3, "big")
    return bytes(data)


def _operations(name: str, suffix: str, data: bytes) -> Iterator[tuple[str, Callable[[Path], object]]]:
    def path(scratch: Path) -> Path:
        target = scratch / f"{name}{suffix}"
        target.write_bytes(data)
        return target

    def info(scratch: Path) -> object:
        import tympan

        return tympan.info(path(scratch))

    def load(scratch: Path) -> object:
        import tympan

        return tympan.load(path(scratch))

    def load_bytes(scratch: Path) -> object:
        import tympan

        return tympan.load(data)

    def resampled(scratch: Path) -> object:
        import tympan

        return tympan.load(path(scratch), sample_rate=16000)

    def streamed(scratch: Path) -> object:
        import tympan

        return list(tympan.stream(path(scratch), 100))

    def convert(scratch: Path) -> object:
        from click.testing import CliRunner

        from tympan.cli import cli
        from tympan.core.errors import AudioDecodeError

        result = CliRunner().invoke(cli, ["convert", str(path(scratch)), str(scratch / "out.wav"), "--rate", "16000"])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        if result.exit_code != 0:
            raise AudioDecodeError(name, result.output.strip().splitlines()[-1] if result.output.strip() else "")
        return result

    yield from (
        ("info", info),
        ("load", load),
        ("load-bytes", load_bytes),
        ("resampled", resampled),
        ("stream", streamed),
        ("convert", convert),
    )


def _cases() -> Iterator[tuple[str, str, bytes, bool]]:
    """``(name, suffix, data, absurd)``: absurd headers must be refused."""
    for label, rate in ABSURD_RATES.items():
        yield f"wav-rate-{label}", ".wav", wav(rate), True
        yield f"au-rate-{label}", ".au", au(rate), True
    for label, rate in ODD_RATES.items():
        frames = 8 if rate == 1 else FRAMES  # at 1 Hz, 16 kHz gets 16000 samples per frame
        yield f"wav-rate-{label}", ".wav", wav(rate, frames=frames), False
        yield f"au-rate-{label}", ".au", au(rate, frames=frames), False
        yield f"aiff-rate-{label}", ".aiff", aiff(rate, frames=frames), False
        yield f"caf-rate-{label}", ".caf", caf(rate, frames=frames), False
    for label, value in {
        "zero": 0.0,
        "nan": math.nan,
        "inf": math.inf,
        "negative": -16000.0,
        "tiny": 1e-10,
        "int-max": 2**31 - 1,
        "2**26": 2.0**26,
        "huge": 1e300,
        "negative-zero": -0.0,
    }.items():
        yield f"aiff-rate-{label}", ".aiff", aiff(value), True
        yield f"caf-rate-{label}", ".caf", caf(value), True
    yield "aiff-rate-denormal", ".aiff", aiff(0, raw_rate=b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), True
    yield "aiff-rate-unnormal", ".aiff", aiff(0, raw_rate=b"\x40\x0e\x00\x00\x00\x00\x00\x00\x00\x00"), True
    for label, rate in {"zero": "0", "negative": "-8000", "huge": "99999999999", "int-max": str(2**31 - 1)}.items():
        yield f"sphere-rate-{label}", ".sph", sphere(rate), True
    yield "sphere-rate-prime-under", ".sph", sphere("9999991"), False
    yield "flac-rate-zero", ".flac", flac(0), True
    yield "flac-rate-max", ".flac", flac(2**20 - 1), False
    yield "wav-channels-zero", ".wav", wav(16000, channels=0), True
    yield "wav-channels-65535", ".wav", wav(16000, channels=65535, frames=1), True
    yield "wav-bits-zero", ".wav", wav(16000, bits=0), True
    yield "wav-rate-int-max-stereo-float", ".wav", wav(2**31 - 1, channels=2, bits=32, tag=3), True
    yield "aiff-channels-zero", ".aiff", aiff(16000, channels=0), True
    yield "au-channels-zero", ".au", au(16000, channels=0), True
    yield "caf-channels-zero", ".caf", caf(16000, channels=0), True


def attacks() -> Iterator[Attack]:
    """Every crafted header through every reading operation."""
    from tympan.core.errors import AudioDecodeError, TympanError

    for name, suffix, data, absurd in _cases():
        for operation, run in _operations(name, suffix, data):
            error = AudioDecodeError if absurd else TympanError
            yield Attack(FAMILY, f"{name}-{operation}", run, refuse=absurd, error=error, seconds=10.0)
