"""Mel spectrogram and MFCC against librosa, configured to compute torchaudio's defaults.

Both sides take the whole batch in one call: ours a ``(batch, samples)`` float32 tensor, librosa the same
array as numpy (librosa maps over leading dimensions). librosa is set to what torchaudio computes by
default: periodic Hann window, ``center=True`` with reflect padding, power 2, HTK mel scale without
filter-bank normalization; MFCC is ``power_to_db(top_db=80)`` of that followed by an orthonormal DCT-II.
The check records the largest absolute and relative (to the peak of librosa's output) differences from
librosa applied to each item on its own: ``power_to_db`` floors at ``top_db`` below the peak of the whole
array it is given, while tympan, batch-consistent, floors each item at its own peak. The timed librosa
call does the same work either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import librosa
import numpy as np
import torch

from benchmarks.harness import Result, compare

SAMPLE_RATE = 16000
N_FFT = 400
HOP_LENGTH = 160
N_MELS = 80
N_MFCC = 40

#: ``(batch, seconds, speed-up aimed for)`` of each case; smoke cases are small and carry no target.
CASES = ((1, 10.0, 2.5), (16, 10.0, 2.0))
SMOKE_CASES = ((1, 1.0, None), (2, 1.0, None))

#: Agreement required with librosa, everywhere: ``|ours - librosa| <= RTOL * |librosa| + PEAK_TOL * peak``
#: where ``peak`` is the largest ``|librosa|`` of the batch (float32 FFTs differ by rounding only).
RTOL, PEAK_TOL = 1e-4, 1e-5


def librosa_mel_spectrogram(audio: np.ndarray) -> np.ndarray:
    """torchaudio's default mel spectrogram, computed by librosa."""
    return librosa.feature.melspectrogram(
        y=audio,
        sr=SAMPLE_RATE,
        n_fft=N_FFT,
        hop_length=HOP_LENGTH,
        win_length=N_FFT,
        window="hann",
        center=True,
        pad_mode="reflect",
        power=2.0,
        n_mels=N_MELS,
        fmin=0.0,
        fmax=SAMPLE_RATE / 2,
        htk=True,
        norm=None,
    )


def librosa_mfcc(audio: np.ndarray) -> np.ndarray:
    """torchaudio's default MFCC (``log_mels=False``, DCT-II ortho), computed by librosa."""
    log_mel = librosa.power_to_db(librosa_mel_spectrogram(audio), ref=1.0, amin=1e-10, top_db=80.0)
    return librosa.feature.mfcc(S=log_mel, n_mfcc=N_MFCC, dct_type=2, norm="ortho")


def agreement(ours: torch.Tensor, reference: np.ndarray) -> dict[str, Any]:
    """Largest absolute and peak-relative differences, and whether every element is within tolerance."""
    expected = torch.from_numpy(np.ascontiguousarray(reference)).to(torch.float64)
    actual = ours.detach().to(torch.float64)
    if actual.shape != expected.shape:
        return {"ok": False, "shape": f"{tuple(actual.shape)} vs {tuple(expected.shape)}"}
    error = (actual - expected).abs()
    peak = expected.abs().max().item()
    return {
        "ok": bool((error <= RTOL * expected.abs() + PEAK_TOL * peak).all()),
        "max_abs_err": error.max().item(),
        "max_rel_err": error.max().item() / peak if peak else float("inf"),
    }


def _case(
    name: str,
    ours: Callable[[torch.Tensor], torch.Tensor],
    peer: Callable[[np.ndarray], np.ndarray],
    batch: int,
    seconds: float,
    target: float | None,
    rounds: int,
) -> Result:
    audio = torch.randn(batch, int(seconds * SAMPLE_RATE), generator=torch.Generator().manual_seed(batch))
    array = audio.numpy()

    with torch.inference_mode():
        return compare(
            name,
            lambda: ours(audio),
            lambda: peer(array),
            rounds=rounds,
            warmup=2,
            check=lambda: agreement(ours(audio), np.stack([peer(item) for item in array])),
            params={"batch": batch, "seconds": seconds},
            target_ratio=target,
        )


def run(smoke: bool = False) -> list[Result]:
    """Every case of both features; ``smoke`` uses short audio and few rounds."""
    import tympan.transforms as T

    mel = T.MelSpectrogram(sample_rate=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS)
    mfcc = T.MFCC(
        sample_rate=SAMPLE_RATE,
        n_mfcc=N_MFCC,
        melkwargs={"n_fft": N_FFT, "hop_length": HOP_LENGTH, "n_mels": N_MELS},
    )
    features = (("mel_spectrogram", mel, librosa_mel_spectrogram), ("mfcc", mfcc, librosa_mfcc))
    rounds = 3 if smoke else 20
    return [
        _case(f"{name} vs librosa", ours, peer, batch, seconds, target, rounds)
        for name, ours, peer in features
        for batch, seconds, target in (SMOKE_CASES if smoke else CASES)
    ]
