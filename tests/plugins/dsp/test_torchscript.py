"""TorchScript: every functional that ``torch.jit.script`` compiles in torchaudio compiles in tympan, and the
compiled functions give the eager functions' output."""

from __future__ import annotations

import warnings

import pytest
import torch
import torchaudio.functional as ta_functional

import tympan.functional as F

# A record type, not a function.
NOT_COMPILED = {"TokenSpan"}


def _scripted_by_torchaudio() -> list[str]:
    names = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in sorted(ta_functional.__all__):
            try:
                torch.jit.script(getattr(ta_functional, name))
            except Exception:  # torchaudio's functions that do not compile are not compared
                continue
            names.append(name)
    return names


TORCHAUDIO_SCRIPTED = _scripted_by_torchaudio()


def test_torchaudio_compiles_the_expected_set() -> None:
    # The comparison below is only meaningful if torchaudio's own functions compile here.
    assert len(TORCHAUDIO_SCRIPTED) >= 50 and {"lfilter", "biquad", "spectrogram", "resample"} <= set(
        TORCHAUDIO_SCRIPTED
    )


@pytest.mark.parametrize("name", [n for n in TORCHAUDIO_SCRIPTED if n not in NOT_COMPILED])
def test_functional_compiles_where_torchaudio_does(name) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(getattr(F, name))


def _wave() -> torch.Tensor:
    t = torch.arange(8000, dtype=torch.float64) / 8000
    noise = 0.05 * torch.randn(2, 8000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return 0.5 * torch.sin(2 * torch.pi * 440 * t) + noise


CALLS = {
    "lfilter": lambda f, x: f(
        x, torch.tensor([1.0, -1.8, 0.81], dtype=x.dtype), torch.tensor([0.01, 0.02, 0.01], dtype=x.dtype)
    ),
    "filtfilt": lambda f, x: f(x, torch.tensor([1.0, -0.5], dtype=x.dtype), torch.tensor([0.25, 0.25], dtype=x.dtype)),
    "lowpass_biquad": lambda f, x: f(x, 8000, 1000.0),
    "bass_biquad": lambda f, x: f(x, 8000, 6.0),
    "riaa_biquad": lambda f, x: f(x, 44100),
    "deemph_biquad": lambda f, x: f(x, 44100),
    "deemphasis": lambda f, x: f(x, 0.9),
    "dither": lambda f, x: f(x, "RPDF", False, torch.Generator().manual_seed(1)),
    "resample": lambda f, x: f(x, 8000, 6000),
    "spectrogram": lambda f, x: f(x, 0, torch.hann_window(256, dtype=x.dtype), 256, 64, 256, 2.0, False),
    "melscale_fbanks": lambda f, x: f(129, 0.0, 4000.0, 20, 8000, "slaney", "slaney"),
    "create_dct": lambda f, x: f(13, 40, "ortho"),
    "pitch_shift": lambda f, x: f(x.float(), 8000, 3),
    "vad": lambda f, x: f(torch.cat([torch.zeros(2, 4000, dtype=x.dtype), x], -1), 8000),
    "speed": lambda f, x: f(x, 8000, 1.25, torch.tensor([8000, 6000])),
}


#: The IIR filters: eagerly on the CPU a compiled loop over samples runs them, scripted the block recursion.
IIR_FILTERS = {"lfilter", "filtfilt", "lowpass_biquad", "bass_biquad", "riaa_biquad", "deemph_biquad"}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_compiled_function_gives_the_eager_output(name) -> None:
    # Tolerance: exact (the same operations run by the interpreter and by TorchScript), except for the IIR
    # filters: 1e-12 (float64 rounding of two exact methods on an output of peak about 1; observed 1e-14).
    call, x = CALLS[name], _wave()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = torch.jit.script(getattr(F, name))
    eager, scripted = call(getattr(F, name), x), call(compiled, x)
    torch.testing.assert_close(scripted, eager, rtol=0, atol=1e-12 if name in IIR_FILTERS else 0)
