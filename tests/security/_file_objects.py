"""Crafted sources and destinations that are not plain paths: file objects that read short, fail with
``EIO``, refuse to seek or to write, pipes under ``/dev/fd``, strided or non-byte memoryviews, tensors on
the meta device, absurd frame windows, and the ``io:ffmpeg`` backend given the same.

A valid file behind an awkward reader must load as it would from bytes; everything else must end in a typed
error, without a stray ``AssertionError`` or a C library's noise.
"""

from __future__ import annotations

import errno
import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from _harness import Attack

FAMILY = "file_objects"


def _audio(format: str = "WAV", subtype: str = "PCM_16", frames: int = 4000) -> bytes:
    import numpy as np
    import soundfile

    buffer = io.BytesIO()
    noise = np.random.default_rng(frames).uniform(-0.5, 0.5, (frames, 2))
    soundfile.write(buffer, noise, 16000, format=format, subtype=subtype)
    return buffer.getvalue()


class ShortReads(io.RawIOBase):
    """A raw stream returning at most ``step`` bytes per read, as pipes and sockets do."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data, self._position, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data[self._position : self._position + min(self._step, len(buffer))]
        buffer[: len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._data)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position


class FailingReads(io.BytesIO):
    """A file whose reads past ``after`` bytes fail with ``EIO`` (a dying disk)."""

    def __init__(self, data: bytes, after: int) -> None:
        super().__init__(data)
        self._after = after

    def read(self, size: int | None = -1) -> bytes:
        if self.tell() + (size if size is not None and size >= 0 else 1) > self._after:
            raise OSError(errno.EIO, "Input/output error")
        return super().read(size)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Unseekable(io.BytesIO):
    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        raise io.UnsupportedOperation("seek")

    def tell(self) -> int:
        raise io.UnsupportedOperation("tell")


class ReadOnly(io.BytesIO):
    def writable(self) -> bool:
        return False

    def write(self, data: Any) -> int:
        raise io.UnsupportedOperation("not writable")


class BrokenWrites(io.BytesIO):
    """A destination whose writes fail with ``ENOSPC`` after ``after`` bytes (a full disk)."""

    def __init__(self, after: int) -> None:
        super().__init__()
        self._after = after

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self._after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)


def _pipe(data: bytes) -> str:
    """``/dev/fd/N`` of a pipe another thread fills with ``data``."""
    read_end, write_end = os.pipe()

    def fill() -> None:
        try:
            os.write(write_end, data)
        except OSError:
            pass
        finally:
            os.close(write_end)

    threading.Thread(target=fill, daemon=True).start()
    return f"/dev/fd/{read_end}"


def _load(make: Callable[[Path], Any], **options: Any) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        import tympan

        return tympan.load(make(scratch), **options)

    return run


def _info(make: Callable[[Path], Any], **options: Any) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        import tympan

        return tympan.info(make(scratch), **options)

    return run


def _stream(make: Callable[[Path], Any], chunk: Any = 1000, **options: Any) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        import tympan

        return [piece.shape for piece in tympan.stream(make(scratch), chunk, **options)]

    return run


def _same_as_bytes(make: Callable[[Path], Any], data: bytes, **options: Any) -> Callable[[Path], object]:
    """Load through the awkward reader and compare with the same bytes loaded directly."""

    def run(scratch: Path) -> object:
        import torch

        import tympan

        expected, _ = tympan.load(data, **options)
        got, _ = tympan.load(make(scratch), **options)
        if not torch.equal(got, expected):
            raise ValueError(f"read {tuple(got.shape)} differs from the bytes' {tuple(expected.shape)}")
        return got

    return run


def _save(
    make: Callable[[Path], Any], waveform: Callable[[], Any] | None = None, **options: Any
) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        import torch

        import tympan

        samples = waveform() if waveform else torch.zeros(1, 100)
        options.setdefault("format", "wav")
        return tympan.save(make(scratch), samples, options.pop("sample_rate", 16000), **options)

    return run


#: What an awkward source must do: be refused, load (as its bytes would), or either.
REFUSE, SUCCEED, EITHER, DEVICE = "refuse", "succeed", "either", "device"


def _cases() -> Iterator[tuple[str, Callable[[Path], object], str]]:
    """``(name, run, expectation)``."""
    import numpy as np
    import torch

    wav, flac, ogg = _audio(), _audio("FLAC"), _audio("OGG", "VORBIS")
    for label, data in (("wav", wav), ("flac", flac), ("ogg", ogg)):
        for step in (1, 7, 4096):
            yield (
                f"short-reads-{label}-{step}",
                _same_as_bytes(lambda s, d=data, n=step: ShortReads(d, n), data),
                SUCCEED,
            )
        buffered = lambda s, d=data: io.BufferedReader(ShortReads(d, 5))  # noqa: E731
        yield f"buffered-short-reads-{label}", _same_as_bytes(buffered, data), SUCCEED
        yield f"eio-header-{label}", _load(lambda s, d=data: FailingReads(d, 10)), REFUSE
        yield f"eio-middle-{label}", _load(lambda s, d=data: FailingReads(d, len(d) // 2)), REFUSE
        yield f"eio-info-{label}", _info(lambda s, d=data: FailingReads(d, 10)), REFUSE
        yield f"eio-stream-{label}", _stream(lambda s, d=data: FailingReads(d, len(d) // 2)), REFUSE
        yield f"unseekable-{label}", _load(lambda s, d=data: Unseekable(d)), EITHER
        yield f"pipe-{label}", _load(lambda s, d=data: _pipe(d)), SUCCEED
        yield f"pipe-info-{label}", _info(lambda s, d=data: _pipe(d)), SUCCEED
        yield f"memoryview-{label}", _same_as_bytes(lambda s, d=data: memoryview(d), data), SUCCEED
        yield f"bytearray-{label}", _same_as_bytes(lambda s, d=data: bytearray(d), data), SUCCEED
        yield f"strided-memoryview-{label}", _same_as_bytes(lambda s, d=data: _strided(d), data), SUCCEED
        yield f"numpy-buffer-{label}", _load(lambda s, d=data: np.frombuffer(d, np.uint8)), EITHER
        yield f"text-file-{label}", _load(lambda s, d=data: io.StringIO(d.decode("latin-1"))), REFUSE
        for backend in ("io:soundfile", "io:ffmpeg"):
            yield (
                f"{backend}-eio-{label}",
                _load(lambda s, d=data: FailingReads(d, len(d) // 2), backend=backend),
                REFUSE,
            )
            yield (
                f"{backend}-short-reads-{label}",
                _same_as_bytes(lambda s, d=data: ShortReads(d, 7), data, backend=backend),
                SUCCEED,
            )
            for offset in (2**62, 2**63 - 1, 2**63, 2**64):
                yield (
                    f"{backend}-offset-{offset}-{label}",
                    _load(lambda s, d=data: d, frame_offset=offset, backend=backend),
                    EITHER,
                )
            yield f"{backend}-frames-{label}", _load(lambda s, d=data: d, num_frames=2**63, backend=backend), EITHER
            yield f"{backend}-chunk-huge-{label}", _stream(lambda s, d=data: d, backend=backend), EITHER
    padded = wav + bytes(-len(wav) % 4)
    yield "cast-memoryview", _same_as_bytes(lambda s: memoryview(padded).cast("I"), padded), SUCCEED
    yield "io:wav-offset-huge", _load(lambda s: wav, frame_offset=2**64, backend="io:wav"), EITHER
    yield "io:wav-eio", _load(lambda s: FailingReads(wav, len(wav) // 2), backend="io:wav"), REFUSE
    yield "closed-file", _load(lambda s: _closed(s, wav)), REFUSE
    yield "directory", _load(lambda s: s), REFUSE
    yield "nothing", _load(lambda s: None), REFUSE
    yield "integer-source", _load(lambda s: 3), REFUSE
    yield "dev-zero", _info(lambda s: "/dev/zero"), DEVICE
    yield "dev-null", _load(lambda s: "/dev/null"), DEVICE
    yield "dev-urandom", _load(lambda s: "/dev/urandom"), DEVICE
    yield "frame-offset-float", _load(lambda s: wav, frame_offset=1.5), REFUSE
    yield "frame-offset-bool", _load(lambda s: wav, frame_offset=True), REFUSE
    yield "frame-offset-tensor", _load(lambda s: wav, frame_offset=torch.tensor([1, 2])), REFUSE
    yield "sample-rate-bool", _load(lambda s: wav, sample_rate=True), REFUSE
    yield "sample-rate-huge", _load(lambda s: wav, sample_rate=2**31), REFUSE
    yield "sample-rate-over", _load(lambda s: wav, sample_rate=10_000_001), REFUSE
    yield "channels-huge", _load(lambda s: wav, channels=2**62), REFUSE
    yield "channels-bool", _load(lambda s: wav, channels=True), REFUSE
    yield "chunk-bool", _stream(lambda s: wav, chunk=True), REFUSE
    # destinations
    yield "save-read-only-object", _save(lambda s: ReadOnly()), REFUSE
    yield "save-full-disk-object", _save(lambda s: BrokenWrites(40)), REFUSE
    yield "save-closed-object", _save(lambda s: _closed_writer()), REFUSE
    yield "save-text-object", _save(lambda s: io.StringIO()), REFUSE
    yield "save-unseekable-object", _save(lambda s: Unseekable()), EITHER
    yield "save-rate-2**31", _save(lambda s: io.BytesIO(), sample_rate=2**31), REFUSE
    yield "save-rate-over", _save(lambda s: io.BytesIO(), sample_rate=10_000_001), REFUSE
    yield "save-rate-bool", _save(lambda s: io.BytesIO(), sample_rate=True), REFUSE
    yield "save-rate-float", _save(lambda s: io.BytesIO(), sample_rate=16000.0), REFUSE
    yield "save-meta-tensor", _save(lambda s: io.BytesIO(), lambda: torch.zeros(1, 100, device="meta")), REFUSE
    yield "save-complex", _save(lambda s: io.BytesIO(), lambda: torch.zeros(1, 100, dtype=torch.complex64)), REFUSE
    yield "save-3d", _save(lambda s: io.BytesIO(), lambda: torch.zeros(1, 1, 100)), REFUSE
    yield "save-many-channels", _save(lambda s: io.BytesIO(), lambda: torch.zeros(70000, 1)), REFUSE
    yield "save-not-tensor", _save(lambda s: io.BytesIO(), lambda: [[0.0, 0.1]]), REFUSE
    yield "save-numpy", _save(lambda s: io.BytesIO(), lambda: np.zeros((1, 100), "float32")), REFUSE
    yield (
        "save-nan-flac",
        _save(lambda s: io.BytesIO(), lambda: torch.full((1, 10), float("nan")), format="flac"),
        REFUSE,
    )
    yield "save-bits-huge", _save(lambda s: io.BytesIO(), bits_per_sample=2**40), REFUSE
    yield "save-compression-nan", _save(lambda s: io.BytesIO(), format="flac", compression=float("nan")), REFUSE
    for backend in ("io:soundfile", "io:ffmpeg"):
        yield f"{backend}-save-read-only", _save(lambda s: ReadOnly(), backend=backend), REFUSE
        yield (
            f"{backend}-save-meta",
            _save(lambda s: io.BytesIO(), lambda: torch.zeros(1, 10, device="meta"), backend=backend),
            REFUSE,
        )
        yield f"{backend}-save-rate-2**31", _save(lambda s: io.BytesIO(), sample_rate=2**31, backend=backend), REFUSE


def _strided(data: bytes) -> memoryview:
    """``data`` as every other byte of a buffer twice its size (a strided, non-contiguous view)."""
    doubled = bytearray(2 * len(data))
    doubled[::2] = data
    return memoryview(bytes(doubled))[::2]


def _closed(scratch: Path, data: bytes) -> Any:
    path = scratch / "closed.wav"
    path.write_bytes(data)
    handle = path.open("rb")
    handle.close()
    return handle


def _closed_writer() -> io.BytesIO:
    handle = io.BytesIO()
    handle.close()
    return handle


def attacks() -> Iterator[Attack]:
    """Every awkward source and destination."""
    from tympan.core.errors import AudioDecodeError, UnsupportedFormatError

    for name, run, expected in _cases():
        if expected == DEVICE:  # a device read as a file: its bytes are no audio
            error = (AudioDecodeError, UnsupportedFormatError)
            yield Attack(FAMILY, name, run, error=error, system_errors=False)  # type: ignore[arg-type]
            continue
        yield Attack(FAMILY, name, run, refuse=expected == REFUSE, succeed=expected == SUCCEED)
