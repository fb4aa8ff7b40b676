"""SoX effect chains against the ``sox`` program (and pysox's in-memory ``build_array`` when installed).

Cases, each interleaved with its peer in one process:

- ``gain -3 highpass 100 lowpass 7k`` over 60 s of 44.1 kHz stereo, file to file: ours loads the 16-bit
  WAV with :func:`tympan.load`, applies the chain and saves 16-bit PCM with :func:`tympan.save`; the peer
  is ``sox -D in.wav out.wav EFFECTS`` (``-D``: no dither, as ours). Target >= 2x.
- The chain ``gain -n speed 0.9 rate 16k pad 0 0.5 trim 0 3`` on 64 one-second 44.1 kHz mono clips: ours is
  one :class:`~tympan.plugins.sox.EffectChain` call on the ``(64, 1, 44100)`` batch in memory; the peers
  are the ``sox`` program run once per clip (files written beforehand) and pysox's
  ``Transformer.build_array`` per clip (when ``pip install sox`` has installed pysox; it is no dependency
  of tympan). Targets >= 20x and >= 3x.
- ``rate -h 16k`` on 1 x 60 s at 44.1 kHz, file to file as the first case; the check measures both sides'
  stop-band attenuation (the weakest of 12 two-second tones from 8.1 kHz to 21.6 kHz, one call each side)
  and passes when ours attenuates at least as much. Target >= 1x.
- ``tempo 1.1`` and ``pitch 200`` on 1 x 60 s at 44.1 kHz mono, file to file. Target >= 1x.
- On a CUDA device (when there is one): clips per second of the second case's chain at batch 256.

Each file-to-file check compares ours with SoX's output (the SNR, and the lengths, which must be equal).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from benchmarks.harness import Result, compare, measure

SEED_CHAIN = "gain -n speed 0.9 rate 16k pad 0 0.5 trim 0 3"
FILTER_CHAIN = "gain -3 highpass 100 lowpass 7k"


def _noisy_tone(channels: int, rate: int, seconds: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(int(rate * seconds)) / rate
    tones = torch.stack([0.3 * torch.sin(2 * torch.pi * (220 + 110 * c) * t) for c in range(channels)])
    return tones + 0.05 * torch.randn(channels, t.shape[0], generator=generator)


def _snr_db(ours: torch.Tensor, reference: torch.Tensor) -> float:
    noise = float(((ours.double() - reference.double()) ** 2).sum())
    return float("inf") if noise == 0 else round(10 * np.log10(float((reference.double() ** 2).sum()) / noise), 1)


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def _file_case(name: str, effects: str, channels: int, seconds: float, rounds: int, target: float | None) -> Result:
    """``effects`` file to file (16-bit WAV in and out), ours against the ``sox`` program."""
    import tympan
    from tympan.plugins.sox import EffectChain

    folder = Path(tempfile.mkdtemp(prefix="tympan-bench-sox-"))
    try:
        source, ours_path, sox_path = folder / "in.wav", folder / "ours.wav", folder / "sox.wav"
        tympan.save(source, _noisy_tone(channels, 44100, seconds, seed=channels), 44100, bits_per_sample=16)
        chain = EffectChain(effects, sample_rate=44100, channels=channels)

        def ours() -> None:
            waveform, _ = tympan.load(source)
            with torch.inference_mode():
                out = chain(waveform)
            tympan.save(ours_path, out, chain.output_sample_rate or 44100, bits_per_sample=16)

        def check() -> dict[str, Any]:
            (a, rate_a), (b, rate_b) = tympan.load(ours_path), tympan.load(sox_path)
            same = a.shape == b.shape and rate_a == rate_b
            return {"same_length_and_rate": same, "snr_db": _snr_db(a, b) if same else None, "ok": same}

        return compare(
            name,
            ours,
            lambda: _sox("-D", str(source), str(sox_path), *effects.split()),
            rounds=rounds,
            warmup=1,
            number=1,
            check=check,
            params={"effects": effects, "channels": channels, "seconds": seconds},
            target_ratio=target,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stopband_db(resample: Callable[[np.ndarray], np.ndarray]) -> float:
    """The weakest attenuation (dB) of 12 two-second tones from 8.1 kHz to 21.6 kHz (off the DFT bins)
    resampled 44.1k -> 16k, measured over the middle half of each tone."""
    t = np.arange(2 * 44100) / 44100
    frequencies = np.linspace(8100, 21600, 12) + 0.37
    signal = np.concatenate([0.5 * np.sin(2 * np.pi * f * t) for f in frequencies]).astype(np.float32)
    out = resample(signal).astype(np.float64)
    gains = []
    for index in range(frequencies.size):
        middle = out[index * 32000 + 8000 : index * 32000 + 24000]
        gains.append(float(20 * np.log10(np.sqrt(np.mean(middle**2) / 0.125) + 1e-30)))
    return round(-max(gains), 1)


def _rate_attenuation() -> dict[str, Any]:
    from tympan.plugins.sox import apply_effects
    from tympan.plugins.sox.parity import run_sox

    ours = _stopband_db(lambda x: apply_effects(torch.from_numpy(x)[None], 44100, "rate -h 16k")[0][0].numpy())
    sox = _stopband_db(lambda x: run_sox(x[None], 44100, "rate -h 16k")[0][0])
    return {"ours_stopband_db": ours, "sox_stopband_db": sox, "ok": ours >= sox}


def _batch_cases(clips: int, rounds: int, smoke: bool) -> list[Result]:
    """The seed chain on ``clips`` one-second clips: ours batched in memory, sox per clip, pysox per clip."""
    import tympan
    from tympan.plugins.sox import EffectChain

    batch = torch.stack([_noisy_tone(1, 44100, 1.0, seed=index) for index in range(clips)])
    chain = EffectChain(SEED_CHAIN, sample_rate=44100, channels=1)

    def ours() -> torch.Tensor:
        with torch.inference_mode():
            out: torch.Tensor = chain(batch)
        return out

    folder = Path(tempfile.mkdtemp(prefix="tympan-bench-sox-"))
    try:
        paths = [folder / f"clip{index}.wav" for index in range(clips)]
        for path, clip in zip(paths, batch, strict=True):
            tympan.save(path, clip, 44100, encoding="PCM_F")

        def per_clip() -> None:
            for path in paths:
                _sox("-D", str(path), "-e", "floating-point", str(path.with_suffix(".out.wav")), *SEED_CHAIN.split())

        def check() -> dict[str, Any]:
            out = ours()
            reference = tympan.load(paths[0].with_suffix(".out.wav"))[0]
            same = out[0].shape == reference.shape
            return {"same_length": same, "snr_db": _snr_db(out[0], reference) if same else None, "ok": same}

        params = {"effects": SEED_CHAIN, "clips": clips, "seconds": 1.0}
        results = [
            compare(
                f"seed chain, {clips} clips vs sox per clip",
                ours,
                per_clip,
                rounds=rounds,
                warmup=1,
                number=1,
                check=check,
                params=params,
                target_ratio=None if smoke else 20.0,
            )
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    pysox = _pysox_per_clip(batch)
    if pysox is not None:
        results.append(
            compare(
                f"seed chain, {clips} clips vs pysox build_array",
                ours,
                pysox,
                rounds=rounds,
                warmup=1,
                number=1,
                params=params,
                target_ratio=None if smoke else 3.0,
            )
        )
    return results


def _pysox_per_clip(batch: torch.Tensor) -> Callable[[], None] | None:
    """pysox's ``build_array`` over every clip, or None when pysox is not installed."""
    try:
        import sox  # type: ignore[import-untyped]
    except ImportError:
        return None
    transformer = sox.Transformer()
    transformer.set_globals(dither=False, verbosity=0)
    logging.getLogger("sox").disabled = True  # its warning about array output, once per clip
    transformer.gain(normalize=True)
    transformer.speed(0.9)
    transformer.rate(16000, quality="h")
    transformer.pad(0, 0.5)
    transformer.trim(0, 3)
    clips = [clip[0].numpy() for clip in batch]

    def run() -> None:
        for clip in clips:
            transformer.build_array(input_array=clip, sample_rate_in=44100)

    return run


def _gpu_throughput(clips: int) -> Result | None:
    """Clips per second of the seed chain on a CUDA device at batch ``clips`` (None without one)."""
    if not torch.cuda.is_available():
        return None
    from tympan.plugins.sox import EffectChain

    chain = EffectChain(SEED_CHAIN, sample_rate=44100, channels=1).cuda()
    batch = torch.randn(clips, 1, 44100, device="cuda") * 0.1

    def run() -> None:
        with torch.inference_mode():
            chain(batch)
        torch.cuda.synchronize()

    result = measure(f"seed chain on {torch.cuda.get_device_name()}, batch {clips}", run, rounds=10)
    if result.ours_s:
        result.params["clips_per_second"] = round(clips / result.ours_s)
    return result


def run(smoke: bool = False) -> list[Result]:
    """Every case; ``smoke``: short signals, few rounds, no targets."""
    seconds, rounds, clips = (2.0, 2, 4) if smoke else (60.0, 5, 64)
    equal = None if smoke else 1.0
    results = [
        _file_case(f"{FILTER_CHAIN}, {seconds:g} s stereo vs sox", FILTER_CHAIN, 2, seconds, rounds, equal and 2.0),
        *_batch_cases(clips, rounds, smoke),
    ]
    rate = _file_case(f"rate -h 16k, {seconds:g} s vs sox", "rate -h 16k", 1, seconds, rounds, equal)
    checked = _rate_attenuation()
    rate.check = {**rate.check, **checked, "ok": bool(rate.check.get("ok")) and checked["ok"]}
    results.append(rate)
    for effects in ("tempo 1.1", "pitch 200"):
        results.append(_file_case(f"{effects}, {seconds:g} s vs sox", effects, 1, seconds, rounds, equal))
    return results + run_gpu(smoke)


def run_gpu(smoke: bool = False) -> list[Result]:
    """The seed chain's throughput on a CUDA device (none without one)."""
    gpu = _gpu_throughput(16 if smoke else 256)
    return [] if gpu is None else [gpu]
