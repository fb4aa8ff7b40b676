"""Kaldi features against kaldi-native-fbank and torchaudio.compliance.kaldi, and pitch accuracy.

Cases (each interleaved in one process, ratio = peer time / our time):

- 80-bin fbank of 1 x 10 s and 1 x 1000 s against kaldi-native-fbank's fastest Python path (a float32
  numpy array into ``OnlineFbank.accept_waveform``, then every frame read back with ``get_frame``);
- 16 x 10 s in one batched call against kaldi-native-fbank looped over the utterances, and against
  torchaudio.compliance.kaldi.fbank looped over them; beside it, torch's FFT of the same frames alone against
  torchaudio looped, untargeted: its ratio bounds what any fbank built on that FFT can reach;
- pitch plus Kaldi's post-processing of 1 x 10 s against kaldi-native-fbank's
  ``compute_and_process_kaldi_pitch``;
- with a CUDA device, 32 x 10 s batched on it against torchaudio.compliance.kaldi.fbank looped on it.

The checks record the largest difference from the peer's features. Pitch accuracy on synthetic voiced
signals with known F0 (gross errors: more than 20% off; mean absolute error in cents on the other voiced
frames) is recorded beside librosa.pyin and tympan's ``dsp:pyin`` as a separate, untimed case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kaldi_native_fbank as knf
import numpy as np
import torch
import torchaudio.compliance.kaldi as ta_kaldi

from benchmarks.harness import Result, compare, measure

RATE = 16000
MEL_BINS = 80


def _speech(batch: int, seconds: float, seed: int = 0) -> np.ndarray:
    """Harmonic glides with pauses and noise at int16 scale, float32 ``(batch, samples)``."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE * seconds)) / RATE
    items = []
    for item in range(batch):
        f0 = 120.0 + 60.0 * np.sin(2 * np.pi * 0.5 * t + item)
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        gate = np.sin(2 * np.pi * 0.8 * t + item) > -0.2
        voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
        items.append(3000.0 * gate * voiced + 100.0 * rng.standard_normal(t.size))
    return np.stack(items).astype(np.float32)


def _knf_fbank(samples: np.ndarray) -> np.ndarray:
    options = knf.FbankOptions()
    options.frame_opts.dither = 0.0
    options.mel_opts.num_bins = MEL_BINS
    options.energy_floor = 1.0
    extractor = knf.OnlineFbank(options)
    extractor.accept_waveform(RATE, samples)
    extractor.input_finished()
    return np.stack([extractor.get_frame(i) for i in range(extractor.num_frames_ready)])


def _difference(ours: torch.Tensor, reference: np.ndarray) -> dict[str, Any]:
    """Agreement of log mel energies: ok when 99.9% are within rtol 1e-4 / atol 1e-4 and all within 0.01.

    Both sides compute float32 FFTs with different algorithms; on bins some 40 dB below their frame's
    loudest (the pauses and the high bands of these signals) that rounding reaches 1e-3 in the log.
    """
    actual = ours.detach().cpu().double().numpy()
    if actual.shape != reference.shape:
        return {"ok": False, "shape": f"{actual.shape} vs {reference.shape}"}
    error = np.abs(actual - reference)
    within = float(np.mean(error <= 1e-4 + 1e-4 * np.abs(reference)))
    return {
        "ok": within >= 0.999 and float(error.max()) <= 0.01,
        "within_1e-4": within,
        "max_abs_err": float(error.max()),
    }


def _fbank_cases(smoke: bool, rounds: int) -> list[Result]:
    from tympan.plugins.kaldi.features import Fbank

    fbank = Fbank(num_mel_bins=MEL_BINS)
    results = []
    singles = ((1.0, None),) if smoke else ((10.0, 3.0), (1000.0, 3.0))
    for seconds, target in singles:
        samples = _speech(1, seconds)[0]
        audio = torch.from_numpy(samples)
        results.append(
            compare(
                f"fbank {MEL_BINS} bins vs kaldi-native-fbank",
                lambda audio=audio: fbank(audio),
                lambda samples=samples: _knf_fbank(samples),
                rounds=rounds if seconds < 100 else max(rounds // 4, 3),
                check=lambda audio=audio, samples=samples: _difference(fbank(audio), _knf_fbank(samples)),
                params={"batch": 1, "seconds": seconds},
                target_ratio=target,
            )
        )
    batch, seconds = (2, 1.0) if smoke else (16, 10.0)
    samples = _speech(batch, seconds, seed=1)
    audio = torch.from_numpy(samples)
    results.append(
        compare(
            f"fbank {MEL_BINS} bins batched vs kaldi-native-fbank looped",
            lambda: fbank(audio),
            lambda: [_knf_fbank(item) for item in samples],
            rounds=rounds,
            check=lambda: _difference(fbank(audio), np.stack([_knf_fbank(item) for item in samples])),
            params={"batch": batch, "seconds": seconds},
            target_ratio=None if smoke else 5.0,
        )
    )

    def torchaudio_looped() -> list[torch.Tensor]:
        return [ta_kaldi.fbank(item[None], num_mel_bins=MEL_BINS) for item in audio]

    results.append(
        compare(
            f"fbank {MEL_BINS} bins batched vs torchaudio.compliance.kaldi looped",
            lambda: fbank(audio),
            torchaudio_looped,
            rounds=rounds,
            check=lambda: _difference(fbank(audio), torch.stack(torchaudio_looped()).numpy()),
            params={"batch": batch, "seconds": seconds},
            target_ratio=None if smoke else 10.0,
        )
    )
    results.append(_fft_bound(audio, torchaudio_looped, rounds))
    return results


def _fft_bound(audio: torch.Tensor, torchaudio_looped: Callable[[], list[torch.Tensor]], rounds: int) -> Result:
    """torch's FFT of the same frames alone against torchaudio looped: the most any fbank built on it can gain.

    The frames are the 25 ms windows every 10 ms, zero-padded to 512 samples, that both fbanks transform.
    """
    frames = torch.nn.functional.pad(audio.unfold(-1, 400, 160), (0, 112)).contiguous()

    def check() -> dict[str, Any]:
        spectra, reference = torch.fft.rfft(frames), torchaudio_looped()
        same_frames = spectra.shape[:2] == (len(reference), reference[0].shape[0])
        return {"ok": same_frames, "frames": tuple(spectra.shape[:2]), "bins": spectra.shape[-1]}

    return compare(
        "torch.fft.rfft alone of the same frames vs torchaudio.compliance.kaldi looped (bound on any fbank)",
        lambda: torch.fft.rfft(frames),
        torchaudio_looped,
        rounds=rounds,
        check=check,
        params={"batch": audio.shape[0], "seconds": audio.shape[-1] / RATE},
    )


def _gpu_case(smoke: bool, rounds: int) -> Result:
    from tympan.plugins.kaldi.features import Fbank

    batch, seconds = (2, 1.0) if smoke else (32, 10.0)
    audio = torch.from_numpy(_speech(batch, seconds, seed=2)).cuda()
    module = Fbank(num_mel_bins=MEL_BINS).cuda()

    def ours() -> torch.Tensor:
        out = module(audio)
        torch.cuda.synchronize()
        return out

    def peer() -> list[torch.Tensor]:
        out = [ta_kaldi.fbank(item[None], num_mel_bins=MEL_BINS) for item in audio]
        torch.cuda.synchronize()
        return out

    return compare(
        f"fbank {MEL_BINS} bins batched on CUDA vs torchaudio.compliance.kaldi looped on CUDA",
        ours,
        peer,
        rounds=rounds,
        check=lambda: _difference(ours().cpu(), torch.stack(peer()).cpu().numpy()),
        params={"batch": batch, "seconds": seconds, "device": torch.cuda.get_device_name()},
        target_ratio=None if smoke else 20.0,
    )


def _pitch_case(smoke: bool, rounds: int) -> Result:
    import tympan.plugins.kaldi.functional as kaldi

    seconds = 1.0 if smoke else 10.0
    samples = _speech(1, seconds, seed=3)[0]
    audio = torch.from_numpy(samples)
    quiet = {"delta_pitch_noise_stddev": 0.0}
    processing = knf.ProcessPitchOptions()
    processing.delta_pitch_noise_stddev = 0.0
    extraction = knf.PitchExtractionOptions()

    def ours() -> torch.Tensor:
        return kaldi.process_pitch(kaldi.pitch(audio), **quiet)

    def peer() -> np.ndarray:
        return knf.compute_and_process_kaldi_pitch(extraction, processing, samples)

    def check() -> dict[str, Any]:
        actual, expected = ours().numpy(), peer()
        if actual.shape != expected.shape:
            return {"ok": False, "shape": f"{actual.shape} vs {expected.shape}"}
        error = np.abs(actual - expected)
        return {"ok": bool(np.mean(error > 1e-3) <= 0.01), "max_abs_err": float(error.max())}

    return compare(
        "pitch + process_pitch vs kaldi-native-fbank compute_and_process_kaldi_pitch",
        ours,
        peer,
        rounds=max(rounds // 2, 3),
        check=check,
        params={"batch": 1, "seconds": seconds},
        target_ratio=None if smoke else 1.0,
    )


def pitch_accuracy(smoke: bool) -> dict[str, Any]:
    """Gross error rate and mean absolute error (cents) on voiced frames of synthetic signals with known F0.

    Each signal is five harmonics gliding sinusoidally through its F0 range, with noise 26 dB down; every
    frame is voiced. A frame is a gross error when its estimate is missing or more than 20% off; the cents
    error is averaged over the others. Each estimator's frames are compared with the F0 at their centres.
    """
    import librosa

    import tympan.plugins.kaldi.functional as kaldi
    from tympan.plugins.dsp.functional import pyin

    seconds = 1.0 if smoke else 4.0
    hop = 160
    errors: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"kaldi:pitch": [], "librosa.pyin": [], "dsp:pyin": []}
    for seed, (low, high) in enumerate(((90.0, 150.0), (150.0, 260.0), (220.0, 350.0))):
        t = np.arange(int(RATE * seconds)) / RATE
        f0 = low + (high - low) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.4 * t + seed))
        phase = 2 * np.pi * np.cumsum(f0) / RATE
        noise = np.random.default_rng(seed).standard_normal(t.size)
        signal = (sum(np.sin(k * phase) / k for k in range(1, 6)) + 0.05 * noise).astype(np.float32)
        ours = kaldi.pitch(torch.from_numpy(signal), snip_edges=False)[:, 1].numpy()
        centres = np.arange(len(ours)) * hop + hop // 2
        errors["kaldi:pitch"].append((ours, f0[np.clip(centres, 0, len(f0) - 1)]))
        lib, _, _ = librosa.pyin(signal, fmin=50.0, fmax=400.0, sr=RATE, frame_length=1024, hop_length=hop)
        tym, _, _ = pyin(
            torch.from_numpy(signal).double(), RATE, f_min=50.0, f_max=400.0, frame_length=1024, hop_length=hop
        )
        for name, estimate in (("librosa.pyin", lib), ("dsp:pyin", tym.numpy())):
            centres = np.arange(len(estimate)) * hop
            errors[name].append((estimate, f0[np.clip(centres, 0, len(f0) - 1)]))
    facts: dict[str, Any] = {"ok": True}
    for name, parts in errors.items():
        estimate = np.concatenate([p for p, _ in parts]).astype(np.float64)
        truth = np.concatenate([t for _, t in parts])
        voiced = np.isfinite(estimate) & (estimate > 0)
        gross = ~voiced | (np.abs(np.where(voiced, estimate, 0.0) / truth - 1.0) > 0.2)
        cents = 1200.0 * np.abs(np.log2(estimate[~gross] / truth[~gross]))
        facts[f"{name} gross error %"] = round(100.0 * float(gross.mean()), 2)
        facts[f"{name} MAE cents"] = round(float(cents.mean()), 2) if cents.size else None
    return facts


def run(smoke: bool = False) -> list[Result]:
    """Every fbank and pitch case, then :func:`run_gpu`; ``smoke`` uses short audio and few rounds."""
    rounds = 3 if smoke else 15
    with torch.inference_mode():
        results = _fbank_cases(smoke, rounds)
        results.append(_pitch_case(smoke, rounds))
        accuracy = measure("pitch accuracy on synthetic voiced signals (untimed facts)", lambda: None, rounds=1)
        accuracy.check = pitch_accuracy(smoke)
        results.append(accuracy)
    return results + run_gpu(smoke)


def run_gpu(smoke: bool = False) -> list[Result]:
    """Batched fbank on a CUDA device against torchaudio looped on it (none without a device)."""
    if not torch.cuda.is_available():
        return []
    with torch.inference_mode():
        return [_gpu_case(smoke, 3 if smoke else 15)]
