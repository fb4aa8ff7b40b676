"""Parity with the ``sox`` program: the cases the tests compare, the runner, and the measures.

Each :class:`ParityCase` is a chain applied by the ``sox`` binary (file to file, 32-bit float output) and
by :func:`~tympan.plugins.sox.apply_effects` to the same test signal (a chirp with noise, or a gated tone
burst for the dynamics and silence effects), given as float or 16-bit PCM, mono or stereo, at 8, 16 or
44.1 kHz. An ``"exact"`` case must match within ``tolerance`` (max abs error; 1e-4, torchaudio's bound);
an ``"snr"`` case must have SoX's length exactly and an SNR of at least ``tolerance`` dB; a
``"statistics"`` case (noise, dither) compares mean, RMS and spectrum (``tolerance`` is the largest
difference allowed between the band energies, in dB). :func:`measure` runs one case;
``python -m tympan.plugins.sox.parity docs/sox-parity.md`` writes the table of every case into the docs.

Example:
    >>> case = ParityCase("gain -3", 8000, 1, "float")
    >>> case.label
    'gain -3 (8000 Hz, 1 ch, float)'
"""

from __future__ import annotations

import itertools
import math
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

__all__ = ["CASES", "Measured", "ParityCase", "measure", "run_sox", "sox_available", "test_signal"]


@dataclass(frozen=True)
class ParityCase:
    """One comparison: ``effects`` at ``rate`` Hz on ``channels`` channels of ``encoding`` input.

    ``kind`` is ``"exact"``, ``"snr"`` or ``"statistics"`` (see the module docstring); ``signal`` picks the
    test signal: ``"chirp"`` or ``"bursts"`` (tone bursts between silences).

    Example:
        >>> ParityCase("rate 16k", 44100, 2, "int16", "snr", 50.0).kind
        'snr'
    """

    effects: str
    rate: int
    channels: int
    encoding: str
    kind: str = "exact"
    tolerance: float = 1e-4
    signal: str = "chirp"
    seconds: float = 0.5

    @property
    def label(self) -> str:
        """A short description of the case."""
        return f"{self.effects} ({self.rate} Hz, {self.channels} ch, {self.encoding})"


@dataclass(frozen=True)
class Measured:
    """What a comparison found: the lengths, the worst absolute error, the SNR (dB), and whether it passed.

    Example:
        >>> Measured(100, 100, 1e-8, 150.0, True).passed
        True
    """

    length: int
    reference_length: int
    max_error: float
    snr_db: float
    passed: bool


def sox_available() -> bool:
    """Whether the ``sox`` program is on the path.

    Example:
        >>> isinstance(sox_available(), bool)
        True
    """
    return shutil.which("sox") is not None


def test_signal(kind: str, rate: int, channels: int, seconds: float, seed: int = 0) -> np.ndarray:
    """A deterministic test signal ``(channels, time)`` in ``[-0.95, 0.95]``, float32 values.

    ``"chirp"``: a logarithmic sweep from 50 Hz to 0.45 of the rate plus white noise, each channel its own
    phase and amplitude; ``"bursts"``: 1 kHz-ish tone bursts of rising level separated by near-silence.

    Example:
        >>> test_signal("chirp", 8000, 2, 0.1).shape
        (2, 800)
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate * seconds)) / rate
    if kind == "bursts":
        envelope = np.zeros_like(t)
        period = seconds / 4
        for index in range(4):
            start = index * period + period * 0.3
            envelope[(t >= start) & (t < start + period * 0.5)] = 0.1 + 0.25 * index
        tone = np.stack([np.sin(2 * np.pi * (700 + 150 * c) * t + c) for c in range(channels)])
        signal = envelope * tone + 1e-4 * rng.standard_normal((channels, t.size))
    else:
        top = 0.45 * rate
        growth = np.log(top / 50.0) / seconds
        phase = 2 * np.pi * 50.0 * (np.exp(growth * t) - 1) / growth
        amplitude = rng.uniform(0.4, 0.7, size=(channels, 1))
        offsets = rng.uniform(0, 2 * np.pi, size=(channels, 1))
        signal = amplitude * np.sin(phase + offsets) + 0.05 * rng.standard_normal((channels, t.size))
    return np.clip(signal, -0.95, 0.95).astype(np.float32)


def _quantised(signal: np.ndarray, encoding: str) -> np.ndarray:
    if encoding == "int16":
        return (np.round(signal * 32768.0).clip(-32768, 32767) / 32768.0).astype(np.float32)
    return signal


def run_sox(
    signal: np.ndarray, rate: int, effects: str, encoding: str = "float", folder: Path | None = None
) -> tuple[np.ndarray, int]:
    """``signal`` ``(channels, time)`` through ``sox -D -R in.wav -e floating-point -b 32 out.wav EFFECTS``
    (``-R``: SoX's noise from its fixed seed, so that a noise case gives the same measurement every run); the
    input file holds ``encoding`` samples (``"float"`` 32-bit or ``"int16"``). Returns the output and its rate.

    Example:
        >>> out, rate = run_sox(np.zeros((1, 80), np.float32), 8000, "pad 0 10s")  # doctest: +SKIP
    """
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        source, target = Path(tmp) / "in.wav", Path(tmp) / "out.wav"
        subtype = "PCM_16" if encoding == "int16" else "FLOAT"
        sf.write(source, signal.T, rate, subtype=subtype)
        command = ["sox", "-D", "-R", "-V1", str(source), "-e", "floating-point", "-b", "32", str(target)]
        subprocess.run([*command, *shlex.split(effects)], check=True, capture_output=True)
        out, out_rate = sf.read(target, dtype="float64", always_2d=True)
    return out.T, int(out_rate)


def _snr(ours: np.ndarray, reference: np.ndarray) -> float:
    noise = float(np.sum((ours - reference) ** 2))
    power = float(np.sum(reference**2))
    if noise == 0.0:
        return math.inf
    return 10 * math.log10(max(power, 1e-30) / noise)


def _band_energies(signal: np.ndarray, bands: int = 16) -> np.ndarray:
    spectrum = np.abs(np.fft.rfft(signal, axis=-1)) ** 2
    edges = np.linspace(0, spectrum.shape[-1], bands + 1).astype(int)
    energies = np.array([spectrum[..., a:b].sum() for a, b in itertools.pairwise(edges)])
    return 10 * np.log10(energies + 1e-20)


def measure(case: ParityCase) -> Measured:
    """Run ``case`` through the ``sox`` program and through this plugin, and compare.

    Example:
        >>> measure(ParityCase("gain -3", 8000, 1, "float")).passed  # doctest: +SKIP
        True
    """
    from tympan.plugins.sox import apply_effects

    signal = _quantised(test_signal(case.signal, case.rate, case.channels, case.seconds), case.encoding)
    if case.kind == "report":
        return _compare_report(signal, case)
    with tempfile.TemporaryDirectory() as folder:
        effects = case.effects
        if "{profile}" in effects or case.kind == "profile":
            sox_profile, our_profile = Path(folder) / "sox.prof", Path(folder) / "ours.prof"
            noise = signal[:, : signal.shape[-1] // 4]
            run_sox(noise, case.rate, f"noiseprof {sox_profile}", case.encoding)
            apply_effects(torch.from_numpy(noise), case.rate, f"noiseprof {our_profile}")
            if case.kind == "profile":
                return _compare_profiles(sox_profile, our_profile, case.tolerance)
            effects = effects.replace("{profile}", str(sox_profile))
        reference, _ = run_sox(signal, case.rate, effects, case.encoding)
        ours, _ = apply_effects(torch.from_numpy(signal), case.rate, effects)
    output = ours.double().numpy()
    length, reference_length = output.shape[-1], reference.shape[-1]
    if output.shape != reference.shape:
        return Measured(length, reference_length, math.inf, -math.inf, False)
    error = float(np.abs(output - reference).max()) if output.size else 0.0
    snr = _snr(output, reference)
    if case.kind == "exact":
        passed = error <= case.tolerance
    elif case.kind == "snr":
        passed = snr >= case.tolerance
    else:
        gap = float(np.abs(_band_energies(output) - _band_energies(reference)).max())
        rms = (float(np.sqrt(np.mean(output**2))), float(np.sqrt(np.mean(reference**2))))
        passed = gap <= case.tolerance and abs(rms[0] - rms[1]) <= 0.1 * max(rms[1], 1e-12)
        error = gap
    return Measured(length, reference_length, error, snr, passed)


def _compare_report(signal: np.ndarray, case: ParityCase) -> Measured:
    """An analysis effect's report (``stat``, ``stats``) against the one the sox program prints: the
    number of lines that differ."""
    from tympan.plugins.sox import EffectChain

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.wav"
        sf.write(source, signal.T, case.rate, subtype="PCM_16" if case.encoding == "int16" else "FLOAT")
        printed = subprocess.run(
            ["sox", "-V1", str(source), "-n", *shlex.split(case.effects)], check=True, capture_output=True, text=True
        ).stderr
    chain = EffectChain(case.effects, case.rate, channels=case.channels)
    chain(torch.from_numpy(signal))
    ours = chain.measurements[0][1]["text"]
    differing = sum(a != b for a, b in itertools.zip_longest(printed.splitlines(), ours.splitlines()))
    return Measured(
        len(ours.splitlines()),
        len(printed.splitlines()),
        float(differing),
        math.inf if not differing else -math.inf,
        differing <= case.tolerance,
    )


def _compare_profiles(reference_path: Path, our_path: Path, tolerance: float) -> Measured:
    """Two noise profiles (text files) compared value by value: the worst difference of mean log power."""
    from tympan.plugins.sox.functional._noise import parse_profile

    reference = np.array(parse_profile(reference_path))
    ours = np.array(parse_profile(our_path))
    if reference.shape != ours.shape:
        return Measured(ours.shape[-1], reference.shape[-1], math.inf, -math.inf, False)
    error = float(np.abs(reference - ours).max())
    return Measured(ours.shape[-1], reference.shape[-1], error, _snr(ours, reference), error <= tolerance)


def _case(effects: str, combos: str, kind: str = "exact", tolerance: float = 1e-4, **extra: object) -> list[ParityCase]:
    """Cases of ``effects`` for each ``rate/channels/encoding`` combo in ``combos`` (``"16k1f 44k2i"``)."""
    rates = {"8k": 8000, "16k": 16000, "44k": 44100, "48k": 48000}
    cases = []
    for combo in combos.split():
        rate, channels, encoding = combo[:-2], int(combo[-2]), combo[-1]
        cases.append(
            ParityCase(
                effects, rates[rate], channels, "float" if encoding == "f" else "int16", kind, tolerance, **extra
            )  # type: ignore[arg-type]
        )
    return cases


#: Every case the tests compare (and the docs' table lists).
CASES: list[ParityCase] = [
    *_case("allpass 700 2q", "16k1f 44k2i"),
    *_case("allpass -1 1.2k", "8k2f"),
    *_case("band 2k 300h", "16k2i"),
    *_case("band -n 1200 1.5o", "44k1f"),
    *_case("bandpass -c 1500 200h", "8k1f 44k2i"),
    *_case("bandpass 3k 1.5q", "16k2f"),
    *_case("bandreject 1k 0.5o", "16k1i 44k2f"),
    *_case("bass 6", "16k2f"),
    *_case("bass -5 200 0.8s", "44k1i"),
    *_case("treble -6 4k 1q", "44k2f"),
    *_case("treble 4 2500", "8k1i"),
    *_case("equalizer 1200 1.5q 4", "16k1f"),
    *_case("equalizer 900 2o -8", "44k2i"),
    *_case("highpass 2k 2o", "16k2f"),
    *_case("highpass -1 500", "8k1i"),
    *_case("lowpass 1000", "44k2f 8k1i"),
    *_case("lowpass -1 300", "16k1f"),
    *_case("gain -3 highpass 100 lowpass 7k", "44k2i"),
    *_case("biquad 0.2 0.3 0.2 1 -0.5 0.1", "16k2i"),
    *_case("deemph", "44k2f"),
    *_case("riaa", "48k1i"),
    *_case("gain -3", "8k1f"),
    *_case("gain -n -2", "44k2i"),
    *_case("gain -en", "16k2f"),
    *_case("gain -e", "44k2f"),
    *_case("gain -B", "16k2i"),
    *_case("gain -bn", "44k2f"),
    *_case("gain -l 6", "8k2f"),
    *_case("gain -h -3 bass 6 gain -r", "16k1f"),
    *_case("norm -1", "16k2f 8k1i"),
    *_case("vol -6dB", "16k1f"),
    *_case("vol 2 amplitude 0.1", "44k2f"),
    *_case("vol 0.3 power", "8k2i"),
    *_case("dcshift 0.2 0.05", "16k2f"),
    *_case("contrast 30", "44k1i"),
    *_case("overdrive 10 30", "16k2f"),
    *_case("pad 0.1@0.2 0.1", "16k2f 8k1i"),
    *_case("trim 0.1 0.2", "44k2i"),
    *_case("trim -0.3", "16k1f"),
    *_case("trim 0.05 =0.2 0.3", "8k2f"),
    *_case("reverse", "16k2i"),
    *_case("repeat 2", "8k1f"),
    *_case("fade q 0.1 0.4 0.2", "44k2f"),
    *_case("fade t 0.2", "16k1i"),
    *_case("fade h 0.1 -0.1 0.2", "8k2f"),
    *_case("fade l 0.2 0 0.1", "16k2f"),
    *_case("fade p 0.1 0.7", "8k1f"),
    *_case("delay 0.01 0.02", "44k2f"),
    *_case("channels 1", "44k2f"),
    *_case("channels 3", "16k1i"),
    *_case("remix 2 1", "16k2f"),
    *_case("remix 1v0.3,2v0.5", "8k2i"),
    *_case("remix -m 1,2 2i6", "44k2f"),
    *_case("remix -a -p 1-2", "16k2f"),
    *_case("swap", "44k2i"),
    *_case("oops", "16k2f"),
    *_case("upsample 3", "8k1f", "snr", 80.0),
    *_case("downsample 2", "16k2f", "snr", 80.0),
    *_case("rate 16k", "44k2f", "snr", 60.0),
    *_case("rate -v 22050", "16k1i", "snr", 60.0),
    *_case("rate -m 8k", "44k1f", "snr", 55.0),
    *_case("rate -l 8000", "16k1f", "snr", 45.0),
    *_case("rate -q 11025", "44k2f"),
    *_case("rate -s 16k", "48k2i", "snr", 65.0),
    *_case("rate -b 90 16k", "44k1f", "snr", 60.0),
    *_case("rate -a 22050", "44k1f", "snr", 60.0),
    *_case("rate -M 16k", "44k1f", "snr", 18.0),
    *_case("rate -M 16k", "44k1f", "snr", 32.0, signal="bursts"),
    *_case("rate -I 16k", "44k2f", "snr", 24.0),
    *_case("rate -M 48k", "16k1i", "snr", 34.0),
    *_case("rate -p 30 -v 44100", "48k2f", "snr", 9.0),
    *_case("rate -p 30 -v 44100", "48k2f", "snr", 36.0, signal="bursts"),
    *_case("rate -m -p 80 22050", "16k1f", "snr", 13.0),
    *_case("speed 1.1", "44k2f", "snr", 60.0),
    *_case("speed 0.8", "16k1i", "snr", 60.0),
    *_case("speed 300c", "8k1f", "snr", 60.0),
    *_case("gain -n speed 0.9 rate 16k pad 0 0.5 trim 0 3", "44k2f", "snr", 60.0),
    *_case("echo 0.8 0.9 10 0.5", "16k1f"),
    *_case("echo 0.6 0.8 20 0.4 35 0.3", "44k2i"),
    *_case("echos 0.8 0.7 10 0.4 25 0.3", "16k2f 8k1i"),
    *_case("chorus 0.7 0.9 55 0.4 0.25 2 -t", "44k2f"),
    *_case("chorus 0.6 0.9 50 0.4 0.25 2 -t 60 0.32 0.4 2.3 -t 40 0.3 0.3 1.3 -s", "16k1f"),
    *_case("chorus 0.5 0.8 30 0.5 1 3 -s", "8k2i"),
    *_case("flanger", "16k2f"),
    *_case("flanger 1 3 60 50 2 tri 40 quad", "44k2i"),
    *_case("phaser 0.6 0.8 4 0.8 1.5 -t", "16k1f"),
    *_case("phaser 0.5 0.9 2.5 0.7 0.3", "44k2i"),
    *_case("tremolo 5", "16k2f"),
    *_case("tremolo 12 80", "44k1i"),
    *_case("synth sine 440", "16k1f"),
    *_case("synth 0.3 square 300 sine 500", "16k2f"),
    *_case("synth sine fmod 20", "44k2i"),
    *_case("synth 0.4 sawtooth 200:2000 triangle 100+500", "16k2f"),
    *_case("synth 0.4 trapezium 300/3000 exp 200-900", "8k2f"),
    *_case("synth sine amod 100 0 25", "8k1f"),
    *_case("synth square mix 300 10 20 30", "44k1i"),
    *_case("synth 0.2 sine 440 rate 16k", "8k1f", "snr", 60.0),
    *_case("synth whitenoise", "16k1f", "statistics", 3.0, seconds=2.0),
    *_case("synth tpdfnoise", "8k2f", "statistics", 3.0, seconds=2.0),
    *_case("synth pinknoise", "44k1f", "statistics", 3.0, seconds=2.0),
    *_case("synth brownnoise", "16k1f", "statistics", 3.0, seconds=2.0),
    *_case("dither -p 8", "16k1f", "statistics", 3.0, seconds=2.0),
    *_case("dither -S -p 8", "44k2f", "statistics", 3.0, seconds=2.0),
    *_case("dither -s -p 8", "44k1f", "statistics", 3.0, seconds=2.0),
    *_case("dither -f lipshitz -p 8", "44k1f", "statistics", 3.0, seconds=2.0),
    *_case("dither -f gesemann -p 8", "48k1f", "statistics", 3.0, seconds=2.0),
    *_case("dither -s -p 8", "16k1f", "statistics", 3.0, seconds=2.0),
    *_case("fir 0.1 0.2 0.4 0.2 0.1", "16k1f"),
    *_case("fir 0.5 0.3 -0.2 0.1", "8k2i"),
    *_case("hilbert", "16k1f"),
    *_case("hilbert -n 101", "44k2i"),
    *_case("sinc 3k", "16k1f"),
    *_case("sinc -4k", "44k2f"),
    *_case("sinc 500-3k", "16k2i"),
    *_case("sinc 3k-500", "8k1f"),
    *_case("sinc -a 80 -t 500 2k", "44k1f"),
    *_case("sinc -b 6 -n 201 -2k", "8k1f"),
    *_case("sinc -M -3k", "16k1f"),
    *_case("sinc -I 1k", "16k2f"),
    *_case("sinc -p 70 1k-5k", "44k1i"),
    *_case("loudness", "44k2f"),
    *_case("loudness -5 55", "16k1i"),
    *_case("earwax", "44k2f"),
    *_case("compand 0.3,1 6:-70,-60,-20 -15 -90 0.2", "16k1f", "snr", 80.0, signal="bursts"),
    *_case("compand 0.02,0.2 -60,-60,-30,-15,0,-5", "44k2i", "snr", 80.0, signal="bursts"),
    *_case("compand 0.01,0.1,0.05,0.3 3:-50,-40,-20,-10 0 -20 0.05", "16k2f", "snr", 80.0),
    *_case("compand 0,0 -inf,-inf,-30,-30,-20,-40", "8k1f", "snr", 80.0),
    *_case(
        'mcompand "0.005,0.1 -47,-40,-34,-34,-17,-33" 1600 "0.003,0.05 -47,-40,-34,-34,-15,-33"',
        "16k1f",
        "snr",
        80.0,
        signal="bursts",
    ),
    *_case(
        'mcompand "0.01,0.2 6:-60,-40,-30,-20 -3 -10" 1000 "0.003,0.05 -60,-30,-20,-10" 4000 "0.001,0.02 -50,-20"',
        "44k2i",
        "snr",
        80.0,
    ),
    *_case("reverb", "16k1f", "snr", 80.0),
    *_case("reverb -w 80 30 60 40 20 3", "16k2i", "snr", 80.0),
    *_case("reverb 30 70 20 0 10 -2", "8k2f", "snr", 80.0),
    *_case("reverb 50 50 30 50", "44k2f", "snr", 80.0),
    *_case("noiseprof", "16k1f 44k2i", "profile", 1e-4, seconds=1.0),
    *_case("noisered {profile} 0.3", "16k1f", "snr", 40.0, seconds=1.0),
    *_case("noisered {profile}", "44k2i", "snr", 40.0, seconds=1.0),
    *_case("noisered {profile} 0.8", "8k1f", "snr", 40.0, seconds=1.0),
    *_case("silence 1 0.01 1%", "16k1f", signal="bursts", seconds=1.0),
    *_case("silence 1 50 2% 1 0.02 2%", "16k2f", signal="bursts", seconds=1.0),
    *_case("silence 1 0.005 -40d -1 0.03 -40d", "44k2i", signal="bursts", seconds=1.0),
    *_case("silence -l 1 0.005 1% -1 0.02 1%", "8k1f", signal="bursts", seconds=1.0),
    *_case("silence 2 0.01 5% 2 0.02 5%", "16k1f", signal="bursts", seconds=1.0),
    *_case("splice 0.2", "16k1f", seconds=1.0),
    *_case("splice -t 0.1,0.01,0.02 0.3", "44k2i", seconds=1.0),
    *_case("splice -q 0.25,0.02", "8k2f", seconds=1.0),
    *_case("vad", "16k1f", "snr", 80.0, signal="bursts", seconds=1.0),
    *_case("vad -t 5 -p 0.05", "16k2i", "snr", 80.0, signal="bursts", seconds=1.0),
    *_case("tempo 1.1", "44k2f", "snr", 80.0, seconds=1.0),
    *_case("tempo 0.8", "16k1i", "snr", 80.0, seconds=1.0),
    *_case("tempo -q 1.3", "16k2f", "snr", 80.0, seconds=1.0),
    *_case("tempo -s 0.9", "8k1f", "snr", 80.0, seconds=1.0),
    *_case("tempo -m 1.5 40 10 8", "16k1f", "snr", 80.0, seconds=1.0),
    *_case("tempo -l 1.2", "16k1f", "snr", 80.0, seconds=1.0),
    *_case("pitch 200", "44k1f", "snr", 60.0, seconds=1.0),
    *_case("pitch -300", "16k2i", "snr", 60.0, seconds=1.0),
    *_case("pitch -q 100", "16k1f", "snr", 60.0, seconds=1.0),
    *_case("stretch 1.5", "16k1f", "snr", 80.0, seconds=1.0),
    *_case("stretch 0.7", "44k2i", "snr", 80.0, seconds=1.0),
    *_case("stretch 2 30 lin 0.6 0.3", "8k1f", "snr", 80.0, seconds=1.0),
    *_case("bend 0.1,300,0.3", "16k1f", "snr", 40.0, seconds=1.0),
    *_case("bend -f 50 -o 8 0,-200,0.2 0.1,400,0.2", "44k2f", "snr", 25.0, seconds=1.0),
    *_case("stats", "16k1f 44k2i", "report", 0.0),
    *_case("stats -w 0.02", "8k3f", "report", 0.0),
    *_case("stat", "16k2f 8k1i", "report", 0.0),
    *_case("stat -rms", "44k1f", "report", 0.0),
    *_case("stat -s 2 -v", "16k1f", "report", 0.0),
]


def _table(path: Path) -> None:
    """Write the parity table of :data:`CASES` (effect, options tried, worst error) to ``path``."""
    from tympan.core.files import atomic_write

    worst: dict[tuple[str, str], tuple[list[str], float, float, bool]] = {}
    for case in CASES:
        found = measure(case)
        name = case.effects.split()[0] if "speed 0.9 rate" not in case.effects else "chain"
        key = (name, case.kind)
        tried, max_error, snr, passed = worst.get(key, ([], 0.0, math.inf, True))
        tried.append(
            f"`{case.effects}` ({case.rate // 1000 if case.rate % 1000 == 0 else case.rate / 1000} kHz, "
            f"{case.channels} ch, {case.encoding})"
        )
        worst[key] = (tried, max(max_error, found.max_error), min(snr, found.snr_db), passed and found.passed)
    lines = [
        "# SoX parity table",
        "",
        "Every case the parity tests run (`tests/plugins/sox/test_parity.py`), compared with the `sox` program",
        "(SoX v14.4.2, 32-bit float output) and grouped by effect: the worst max abs error and the worst SNR",
        "over the cases of each effect. Exact cases must stay within a max abs error of 1e-4; resampling and",
        "time-stretching cases must have SoX's length exactly and the SNR their case states; noise and dither",
        "compare band energies (dB) and RMS; analysis reports count the lines that differ from SoX's.",
        "Generated, not written by hand:",
        "",
        "```console",
        "$ OMP_NUM_THREADS=1 python -m tympan.plugins.sox.parity docs/sox-parity.md",
        "```",
        "",
        "| effect | options tried | criterion | worst max abs error | worst SNR (dB) | passed |",
        "|---|---|---|---|---|---|",
    ]
    criteria = {
        "exact": "max abs error <= 1e-4",
        "snr": "SNR and exact length",
        "statistics": "band energies",
        "profile": "profile values",
        "report": "report lines that differ",
    }
    for (name, kind), (tried, max_error, snr, passed) in sorted(worst.items()):
        shown_snr = "exact" if snr == math.inf else f"{snr:.1f}"
        lines.append(
            f"| {name} | {'<br>'.join(tried)} | {criteria[kind]} | {max_error:.2g} | {shown_snr} | "
            f"{'yes' if passed else 'NO'} |"
        )
    with atomic_write(path) as handle:
        handle.write(("\n".join(lines) + "\n").encode())


if __name__ == "__main__":  # pragma: no cover - the docs' table generator
    _table(Path(sys.argv[1]))
