"""Crafted ``tympan run`` invocations: outputs that are inputs (the same file, another spelling of it, a
link to it), outputs that are devices, inputs at many odd sample rates or an absurd one.

An output that would overwrite an input, or a destination that is not a regular file, is refused for that
file and every input stays byte for byte as it was; pipelines built per input rate are bounded in number and
size, so that many odd rates cost bounded memory.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from _harness import Attack
from _headers import wav
from _saves import _cli_outcome, device, fifo

FAMILY = "runs"
WAVEFORM = "steps:\n  - vol: {gain: 0.5}\n"
RESAMPLE = "steps:\n  - resample: {new_freq: 16000}\n"
FEATURES = "steps:\n  - mfcc: {n_mfcc: 13}\n"


def _take(folder: Path, name: str = "take.wav", rate: int = 16000, frames: int = 1600) -> Path:
    import torch

    import tympan

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        tympan.save(path, 0.25 * torch.ones(1, frames), rate)
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(config: str, inputs: Callable[[Path], list[Path]], outdir: Callable[[Path], Path]) -> Callable[[Path], object]:
    def run(scratch: Path) -> object:
        from click.testing import CliRunner

        from tympan.cli import cli

        pipe = scratch / "pipe.yaml"
        pipe.write_text(config)
        sources = inputs(scratch)
        (scratch / "digests.txt").write_text("\n".join(f"{p}\t{_digest(p)}" for p in sources if p.is_file()))
        result = CliRunner().invoke(cli, ["run", str(pipe), *map(str, sources), "-o", str(outdir(scratch))])
        return _cli_outcome(result)

    return run


def inputs_intact(scratch: Path) -> str | None:
    """Every input still holds the bytes it held before the run."""
    record = scratch / "digests.txt"
    if not record.exists():
        return None
    for line in record.read_text().splitlines():
        path, digest = line.split("\t")
        if not Path(path).is_file() or _digest(Path(path)) != digest:
            return f"clobbered: the input {Path(path).name} was overwritten"
    return None


def _device_intact(scratch: Path) -> str | None:
    import stat

    mode = os.lstat(scratch / "device.wav").st_mode
    if not (stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)):
        return "clobbered: the device became a regular file"
    return inputs_intact(scratch)


def _odd_rates(scratch: Path) -> list[Path]:
    paths = []
    for index, rate in enumerate((44101, 44111, 44119, 44123, 44129, 44131, 44159, 44171, 44179, 44189, 44201, 44203)):
        path = scratch / "in" / f"odd{index}.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(wav(rate, frames=2000))
        paths.append(path)
    return paths


def _pipeline_cache(scratch: Path) -> object:
    """Run a runner over many odd rates and check how many pipelines it keeps."""
    from tympan.core.errors import TympanError
    from tympan.pipeline.apply import FileRunner

    runner = FileRunner({"steps": [{"resample": {"new_freq": 16000}}]}, scratch / "out")
    for path in _odd_rates(scratch):
        result = runner.run(path)
        if not result.ok:
            raise TympanError(result.error or "")
    kept = len(getattr(runner, "_pipelines", {}))
    if kept > 8:
        raise MemoryError(f"the runner keeps {kept} pipelines, one per rate, without bound")
    return runner


def _succeeds(name: str, run: Callable[[Path], object]) -> Attack:
    """A run that must succeed, within 30 s, leaving its inputs intact."""
    return Attack(FAMILY, name, run, check=inputs_intact, refuse=False, succeed=True, seconds=30)


def attacks() -> Iterator[Attack]:
    """Every crafted run."""
    same_folder = _run(WAVEFORM, lambda s: [_take(s)], lambda s: s)
    yield Attack(FAMILY, "output-is-input", same_folder, check=inputs_intact)
    yield Attack(
        FAMILY,
        "output-is-input-relative",
        _run(WAVEFORM, lambda s: [_take(s)], lambda s: s / "." / ".." / s.name),
        check=inputs_intact,
    )
    yield Attack(
        FAMILY,
        "output-is-input-resampled",
        _run(RESAMPLE, lambda s: [_take(s, rate=8000)], lambda s: s),
        check=inputs_intact,
    )

    def linked_output(scratch: Path) -> Path:
        _take(scratch / "in")
        out = scratch / "out"
        out.mkdir(exist_ok=True)
        if not (out / "take.wav").is_symlink():
            (out / "take.wav").symlink_to(scratch / "in" / "take.wav")
        return out

    yield Attack(
        FAMILY, "output-links-to-input", _run(WAVEFORM, lambda s: [_take(s / "in")], linked_output), check=inputs_intact
    )

    def two_inputs(scratch: Path) -> list[Path]:
        return [_take(scratch / "a"), _take(scratch / "b")]

    yield Attack(FAMILY, "two-inputs-one-output", _run(WAVEFORM, two_inputs, lambda s: s / "a"), check=inputs_intact)
    yield Attack(
        FAMILY, "input-listed-twice", _run(WAVEFORM, lambda s: [_take(s), _take(s)], lambda s: s), check=inputs_intact
    )

    def device_output(scratch: Path) -> Path:
        device(scratch)
        return scratch

    def device_input(scratch: Path) -> list[Path]:
        (scratch / "in").mkdir(exist_ok=True)
        (scratch / "in" / "device.wav").write_bytes(wav(16000))
        return [scratch / "in" / "device.wav"]

    yield Attack(FAMILY, "output-is-device", _run(WAVEFORM, device_input, device_output), check=_device_intact)

    def fifo_output(scratch: Path) -> Path:
        out = scratch / "out"
        out.mkdir(exist_ok=True)
        fifo(out)
        (out / "fifo.wav").rename(out / "take.wav") if not (out / "take.wav").exists() else None
        return out

    yield Attack(
        FAMILY, "output-is-fifo", _run(WAVEFORM, lambda s: [_take(s / "in")], fifo_output), check=inputs_intact
    )
    yield Attack(
        FAMILY, "outdir-is-file", _run(WAVEFORM, lambda s: [_take(s)], lambda s: _take(s)), check=inputs_intact
    )
    yield _succeeds("features-next-to-input", _run(FEATURES, lambda s: [_take(s)], lambda s: s))
    yield _succeeds("many-odd-rates", _run(RESAMPLE, _odd_rates, lambda s: s / "out"))
    yield Attack(FAMILY, "pipeline-cache-bounded", _pipeline_cache, refuse=False, succeed=True, seconds=30)

    def absurd_rate(scratch: Path) -> list[Path]:
        path = scratch / "in" / "absurd.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(wav(9_999_991, frames=20000))
        return [path]

    yield _succeeds("prime-rate-resampled", _run(RESAMPLE, absurd_rate, lambda s: s / "out"))

    def huge_rate(scratch: Path) -> list[Path]:
        path = scratch / "in" / "huge.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(wav(2**31 - 1, frames=400))
        return [path]

    yield Attack(FAMILY, "absurd-rate-resampled", _run(RESAMPLE, huge_rate, lambda s: s / "out"), check=inputs_intact)
