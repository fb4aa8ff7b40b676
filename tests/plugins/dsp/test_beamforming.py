"""Beamforming against float64 numpy implementations written from the formulas (per-frequency loops with
np.linalg), their properties (Hermitian PSD, distortionless response, SI-SNR gain on a simulated array),
gradients, and the contract of the transforms."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._beamforming import (
    apply_beamforming,
    mvdr_weights_rtf,
    mvdr_weights_souden,
    psd,
    rtf_evd,
    rtf_power,
)
from tympan.plugins.dsp.transforms._beamforming import MVDR, PSD, RTFMVDR, SoudenMVDR
from tympan.plugins.losses.separation import si_snr

# Tolerance of every float64 comparison with the numpy references below: rtol 1e-9, atol 1e-11. The matrices are
# well conditioned (noise PSDs have a floor of the identity); measured relative differences are below 1e-14.
TIGHT = {"rtol": 1e-9, "atol": 1e-11}


# ---------------------------------------------------------------------------------------------------------------
# References: float64 numpy, one frequency (and frame) at a time.


def ref_psd(x: np.ndarray, mask: np.ndarray | None, normalize: bool, eps: float) -> np.ndarray:
    """``x`` (channel, freq, time), mask (freq, time): sum over frames of m * x x^H, per frequency."""
    channels, freqs, frames = x.shape
    out = np.zeros((freqs, channels, channels), dtype=np.complex128)
    for f in range(freqs):
        weights = np.ones(frames) if mask is None else mask[f].astype(np.float64)
        if mask is not None and normalize:
            weights = weights / (weights.sum() + eps)
        for t in range(frames):
            out[f] += weights[t] * np.outer(x[:, f, t], x[:, f, t].conj())
    return out


def ref_load(matrix: np.ndarray, diag_eps: float) -> np.ndarray:
    """Diagonal loading by diag_eps times the trace, plus 1e-8."""
    return matrix + (diag_eps * np.trace(matrix).real + 1e-8) * np.eye(matrix.shape[0])


def ref_souden(psd_s, psd_n, u, loading=True, diag_eps=1e-7, eps=1e-8) -> np.ndarray:
    """(freq, C, C) pair, reference vector u (C,): w = R_n^-1 R_s u / (tr(R_n^-1 R_s) + eps)."""
    out = []
    for r_s, r_n in zip(psd_s, psd_n, strict=True):
        ratio = np.linalg.inv(ref_load(r_n, diag_eps) if loading else r_n) @ r_s
        out.append(ratio @ u / (np.trace(ratio) + eps))
    return np.stack(out)


def ref_rtf_mvdr(rtf, psd_n, u, loading=True, diag_eps=1e-7, eps=1e-8) -> np.ndarray:
    """w = R_n^-1 h / (Re(h^H R_n^-1 h) + eps) * (conj(h) . u), per frequency; u None: no scaling."""
    out = []
    for h, r_n in zip(rtf, psd_n, strict=True):
        whitened = np.linalg.solve(ref_load(r_n, diag_eps) if loading else r_n, h)
        w = whitened / ((h.conj() @ whitened).real + eps)
        out.append(w if u is None else w * (h.conj() @ u))
    return np.stack(out)


def ref_rtf_power(psd_s, psd_n, u, n_iter, loading=True, diag_eps=1e-7) -> np.ndarray:
    """h = R_s (R_n^-1 R_s)^(n_iter - 1) u, per frequency."""
    out = []
    for r_s, r_n in zip(psd_s, psd_n, strict=True):
        phi = np.linalg.inv(ref_load(r_n, diag_eps) if loading else r_n) @ r_s
        out.append(r_s @ np.linalg.matrix_power(phi, n_iter - 1) @ u)
    return np.stack(out)


def ref_apply(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """y[f, t] = w[f]^H x[:, f, t]."""
    _, freqs, frames = x.shape
    return np.array([[np.vdot(w[f], x[:, f, t]) for t in range(frames)] for f in range(freqs)])


# ---------------------------------------------------------------------------------------------------------------
# Test data.


def _complex(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _psd_pair(rng: np.random.Generator, freqs: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """A low-rank speech PSD and a full-rank noise PSD (floor: the identity), (freq, C, C) each."""
    a = _complex(rng, freqs, channels, 2)
    b = _complex(rng, freqs, channels, channels)
    speech = a @ a.conj().transpose(0, 2, 1)
    noise = b @ b.conj().transpose(0, 2, 1) / channels + np.eye(channels)
    return speech, noise


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def _one_hot(channels: int, index: int) -> np.ndarray:
    u = np.zeros(channels)
    u[index] = 1.0
    return u


# ---------------------------------------------------------------------------------------------------------------
# psd


@pytest.mark.parametrize(("use_mask", "normalize"), [(False, True), (True, True), (True, False)])
def test_psd_matches_reference(use_mask, normalize) -> None:
    rng = np.random.default_rng(0)
    x = _complex(rng, 2, 3, 5, 7)  # (batch, channel, freq, time)
    mask = rng.uniform(size=(2, 5, 7)) if use_mask else None
    out = psd(_t(x), None if mask is None else _t(mask), normalize, eps=1e-10)
    assert out.shape == (2, 5, 3, 3) and out.dtype == torch.complex128
    for b in range(2):
        expected = ref_psd(x[b], None if mask is None else mask[b], normalize, 1e-10)
        np.testing.assert_allclose(out[b].numpy(), expected, **TIGHT)


def test_psd_is_hermitian_positive_semidefinite() -> None:
    # Tolerance: Hermitian to 1e-12 of the largest entry; eigenvalues >= -1e-12 of the largest.
    rng = np.random.default_rng(1)
    x = _t(_complex(rng, 4, 9, 6))  # fewer frames than channels: rank-deficient, eigenvalues touch 0
    out = psd(x, _t(rng.uniform(size=(9, 6))))
    scale = float(out.abs().max())
    assert float((out - out.mH).abs().max()) <= 1e-12 * scale
    assert float(torch.linalg.eigvalsh(out).min()) >= -1e-12 * scale


def test_psd_module_averages_multi_channel_masks() -> None:
    rng = np.random.default_rng(2)
    x = _t(_complex(rng, 3, 5, 8))
    masks = _t(rng.uniform(size=(3, 5, 8)))
    torch.testing.assert_close(PSD(multi_mask=True)(x, masks), psd(x, masks.mean(0), True, 1e-15), rtol=0, atol=0)
    torch.testing.assert_close(PSD(normalize=False)(x, masks[0]), psd(x, masks[0], False), rtol=0, atol=0)
    torch.testing.assert_close(PSD()(x), psd(x), rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------------------------
# MVDR weights and steering vectors


@pytest.mark.parametrize("loading", [True, False])
@pytest.mark.parametrize("reference", [0, 2, "one-hot", "soft"])
def test_souden_weights_match_reference(reference, loading) -> None:
    rng = np.random.default_rng(3)
    speech, noise = zip(*(_psd_pair(rng, 6, 4) for _ in range(2)), strict=True)
    speech, noise = np.stack(speech), np.stack(noise)  # (batch 2, freq 6, 4, 4)
    if isinstance(reference, int):
        refs, arg = [_one_hot(4, reference)] * 2, reference
    else:
        refs = [_one_hot(4, 1), _one_hot(4, 3)] if reference == "one-hot" else list(rng.dirichlet(np.ones(4), 2))
        arg = _t(np.stack(refs))
    out = mvdr_weights_souden(_t(speech), _t(noise), arg, diagonal_loading=loading, diag_eps=1e-3)
    assert out.shape == (2, 6, 4)
    for b in range(2):
        expected = ref_souden(speech[b], noise[b], refs[b], loading, diag_eps=1e-3)
        np.testing.assert_allclose(out[b].numpy(), expected, **TIGHT)


@pytest.mark.parametrize("loading", [True, False])
@pytest.mark.parametrize("reference", [None, 1, "one-hot", "soft"])
def test_rtf_weights_match_reference(reference, loading) -> None:
    rng = np.random.default_rng(4)
    rtf = _complex(rng, 2, 6, 4)
    noise = np.stack([_psd_pair(rng, 6, 4)[1] for _ in range(2)])
    if reference is None or isinstance(reference, int):
        refs = [None if reference is None else _one_hot(4, reference)] * 2
        arg = reference
    else:
        refs = [_one_hot(4, 2), _one_hot(4, 0)] if reference == "one-hot" else list(rng.dirichlet(np.ones(4), 2))
        arg = _t(np.stack(refs))
    out = mvdr_weights_rtf(_t(rtf), _t(noise), arg, diagonal_loading=loading, diag_eps=1e-3)
    for b in range(2):
        expected = ref_rtf_mvdr(rtf[b], noise[b], refs[b], loading, diag_eps=1e-3)
        np.testing.assert_allclose(out[b].numpy(), expected, **TIGHT)


@pytest.mark.parametrize("reference", [0, 3, "one-hot"])
def test_rtf_mvdr_is_distortionless(reference) -> None:
    # w^H h = h[ref] exactly when eps = 0 and no loading. Tolerance: 1e-12 relative to |h[ref]| ~ 1.
    rng = np.random.default_rng(5)
    rtf = _t(_complex(rng, 8, 4))
    noise = _t(_psd_pair(rng, 8, 4)[1])
    index = 1 if reference == "one-hot" else reference
    arg = _t(_one_hot(4, 1)) if reference == "one-hot" else reference
    w = mvdr_weights_rtf(rtf, noise, arg, diagonal_loading=False, eps=0.0)
    torch.testing.assert_close((w.conj() * rtf).sum(-1), rtf[:, index], rtol=0, atol=1e-12)


def test_souden_equals_rtf_mvdr_for_a_rank_one_speech_psd() -> None:
    # R_s = s h h^H makes Souden's weights R_n^-1 h conj(h_ref) / (h^H R_n^-1 h): the RTF-MVDR weights.
    rng = np.random.default_rng(6)
    h = _complex(rng, 5, 3)
    speech = 2.5 * h[:, :, None] * h[:, None, :].conj()
    noise = _psd_pair(rng, 5, 3)[1]
    souden = mvdr_weights_souden(_t(speech), _t(noise), 2, diagonal_loading=False, eps=0.0)
    rtf = mvdr_weights_rtf(_t(h), _t(noise), 2, diagonal_loading=False, eps=0.0)
    torch.testing.assert_close(souden, rtf, rtol=1e-10, atol=1e-12)


def test_rtf_evd_is_the_principal_eigenvector() -> None:
    # Compared with numpy's eigh up to the eigenvector's arbitrary phase: |v^H v_ref| = 1, and R v = lambda_max v.
    rng = np.random.default_rng(7)
    speech = np.stack([_psd_pair(rng, 6, 4)[0] for _ in range(2)])
    out = rtf_evd(_t(speech))
    assert out.shape == (2, 6, 4)
    values, vectors = np.linalg.eigh(speech)
    overlap = np.abs(np.einsum("bfc,bfc->bf", vectors[..., -1].conj(), out.numpy()))
    np.testing.assert_allclose(overlap, 1.0, rtol=0, atol=1e-12)
    residual = speech @ out.numpy()[..., None] - values[..., -1:, None] * out.numpy()[..., None]
    assert np.abs(residual).max() <= 1e-11 * np.abs(values).max()


@pytest.mark.parametrize("n_iter", [1, 2, 3, 5])
@pytest.mark.parametrize("reference", [0, "soft"])
def test_rtf_power_matches_reference(n_iter, reference) -> None:
    rng = np.random.default_rng(8 + n_iter)
    speech, noise = _psd_pair(rng, 6, 3)
    u = _one_hot(3, 0) if reference == 0 else rng.dirichlet(np.ones(3))
    arg = 0 if reference == 0 else _t(u)
    for loading in (True, False):
        out = rtf_power(_t(speech), _t(noise), arg, n_iter=n_iter, diagonal_loading=loading, diag_eps=1e-3)
        expected = ref_rtf_power(speech, noise, u, n_iter, loading, diag_eps=1e-3)
        np.testing.assert_allclose(out.numpy(), expected, **TIGHT)


def test_rtf_power_converges_to_the_steering_vector() -> None:
    # With a rank-one speech PSD s h h^H, every iterate is proportional to h. Tolerance 1e-10.
    rng = np.random.default_rng(9)
    h = _complex(rng, 4, 3)
    speech = h[:, :, None] * h[:, None, :].conj()
    noise = _psd_pair(rng, 4, 3)[1]
    out = rtf_power(_t(speech), _t(noise), 1, diagonal_loading=False).numpy()
    np.testing.assert_allclose(out / out[:, :1], h / h[:, :1], rtol=1e-10, atol=1e-10)


def test_apply_beamforming_matches_reference() -> None:
    rng = np.random.default_rng(10)
    x = _complex(rng, 2, 3, 5, 6)
    w = _complex(rng, 2, 5, 3)
    out = apply_beamforming(_t(w), _t(x))
    assert out.shape == (2, 5, 6)
    for b in range(2):
        np.testing.assert_allclose(out[b].numpy(), ref_apply(w[b], x[b]), **TIGHT)


def test_functions_reject_bad_inputs() -> None:
    speech, noise = (_t(m) for m in _psd_pair(np.random.default_rng(11), 4, 3))
    with pytest.raises(ValueError, match="n_iter"):
        rtf_power(speech, noise, 0, n_iter=0)
    with pytest.raises(ValueError, match="reference_channel"):
        mvdr_weights_souden(speech, noise, 3)
    with pytest.raises(ValueError, match="reference_channel"):
        mvdr_weights_souden(speech, noise, torch.ones(2))
    with pytest.raises(ValueError, match="same shape"):
        mvdr_weights_souden(speech, noise[:2], 0)
    with pytest.raises(ValueError, match="complex"):
        mvdr_weights_souden(speech.real, noise.real, 0)
    with pytest.raises(ValueError, match="rtf"):
        mvdr_weights_rtf(speech[..., 0][:2], noise, 0)
    with pytest.raises(ValueError, match="mask"):
        psd(torch.zeros(3, 4, 5, dtype=torch.cdouble), torch.zeros(4, 6))
    with pytest.raises(ValueError, match="specgram"):
        psd(torch.zeros(4, 5, dtype=torch.cdouble))
    with pytest.raises(ValueError, match="does not match"):
        apply_beamforming(torch.zeros(4, 2, dtype=torch.cdouble), torch.zeros(3, 4, 5, dtype=torch.cdouble))


# ---------------------------------------------------------------------------------------------------------------
# Gradients


def test_gradcheck() -> None:
    generator = torch.Generator().manual_seed(0)

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, dtype=torch.cdouble, generator=generator).requires_grad_()

    x = rand(2, 3, 4)
    mask = torch.rand(3, 4, dtype=torch.float64, generator=generator).requires_grad_()
    assert torch.autograd.gradcheck(psd, (x, mask))
    eye = 3 * torch.eye(2, dtype=torch.cdouble)
    speech, noise = rand(3, 2, 2), (rand(3, 2, 2) * 0.3 + eye).detach().requires_grad_()
    assert torch.autograd.gradcheck(lambda s, n: mvdr_weights_souden(s, n, 1), (speech, noise))
    soft = torch.tensor([0.3, 0.7], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda s, n: mvdr_weights_souden(s, n, soft, diag_eps=1e-2), (speech, noise))
    h = rand(3, 2)
    assert torch.autograd.gradcheck(lambda h, n: mvdr_weights_rtf(h, n, 0), (h, noise))
    assert torch.autograd.gradcheck(lambda h, n: mvdr_weights_rtf(h, n, None, False), (h, noise))
    assert torch.autograd.gradcheck(apply_beamforming, (rand(3, 2), rand(2, 3, 4)))


# ---------------------------------------------------------------------------------------------------------------
# A simulated array: a plane wave on a 4-microphone line array in white noise.


def _array_scene(seconds: float = 1.0, sample_rate: int = 16000, seed: int = 0):
    """Microphone signals (4, time), the reference microphone's clean image and the STFT settings."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    # A broadband source (noise with a syllable-like envelope), so that every frequency carries speech.
    source = rng.standard_normal(n) * (0.2 + np.abs(np.sin(2 * np.pi * 3.0 * t)))
    # Microphones 5 cm apart, source at 40 degrees: fractional delays applied as phase shifts of the spectrum.
    delays = np.arange(4) * 0.05 * np.cos(np.deg2rad(40.0)) / 343.0
    spectrum = np.fft.rfft(source)
    freqs = np.fft.rfftfreq(n, 1 / sample_rate)
    images = np.fft.irfft(spectrum[None, :] * np.exp(-2j * np.pi * freqs[None, :] * delays[:, None]), n)
    noise = rng.standard_normal((4, n)) * images.std()  # 0 dB per microphone, spatially white
    return torch.from_numpy(images), torch.from_numpy(noise), delays, sample_rate


def _stft(x: torch.Tensor) -> torch.Tensor:
    return torch.stft(x, 512, 128, window=torch.hann_window(512, dtype=x.dtype), return_complex=True)


def _istft(y: torch.Tensor, length: int) -> torch.Tensor:
    return torch.istft(y, 512, 128, window=torch.hann_window(512, dtype=torch.float64), length=length)


@pytest.mark.parametrize("solution", ["ref_channel", "stv_evd", "stv_power"])
def test_mvdr_improves_si_snr_on_a_simulated_array(solution) -> None:
    # Oracle ideal ratio masks from the clean and noise parts. Spatially white noise on 4 microphones allows about
    # 10 log10(4) = 6 dB of array gain; mask-estimated PSDs still hold some noise (measured gains: ref_channel
    # 4.4 dB, stv_evd 5.9 dB, stv_power 5.6 dB). Asserted: more than 3 dB over the reference microphone.
    images, noise, _, _ = _array_scene()
    mixture = _stft(images + noise)
    speech_power, noise_power = _stft(images).abs().square().mean(0), _stft(noise).abs().square().mean(0)
    mask_s = speech_power / (speech_power + noise_power)
    enhanced = _istft(MVDR(ref_channel=0, solution=solution)(mixture, mask_s, 1 - mask_s), images.shape[-1])
    before, after = si_snr(images[0] + noise[0], images[0]), si_snr(enhanced, images[0])
    assert float(after - before) > 3.0, (float(before), float(after))


def test_rtf_mvdr_with_the_true_steering_vector_reaches_the_array_gain() -> None:
    # The true RTF exp(-2j pi f tau) with the noise-only PSD, and Souden's weights from the clean-image and noise
    # PSDs, reach the array gain of about 6 dB (measured 6.1 dB each; > 5.5 dB asserted).
    images, noise, delays, sample_rate = _array_scene(seed=1)
    mixture, noise_spec = _stft(images + noise), _stft(noise)
    freqs = torch.linspace(0, sample_rate / 2, mixture.shape[-2], dtype=torch.float64)
    rtf = torch.exp(-2j * torch.pi * freqs[:, None] * torch.from_numpy(delays)[None, :])
    enhanced = _istft(RTFMVDR()(mixture, rtf, psd(noise_spec), 0), images.shape[-1])
    gain = si_snr(enhanced, images[0]) - si_snr(images[0] + noise[0], images[0])
    assert float(gain) > 5.5, float(gain)
    souden = SoudenMVDR()(mixture, psd(_stft(images)), psd(noise_spec), 0)
    gain = si_snr(_istft(souden, images.shape[-1]), images[0]) - si_snr(images[0] + noise[0], images[0])
    assert float(gain) > 5.5, float(gain)


# ---------------------------------------------------------------------------------------------------------------
# Transforms


def test_mvdr_matches_the_reference_pipeline() -> None:
    # Complex64 input is computed in complex128: equal to the float64 reference to complex64 rounding (atol 1e-5).
    rng = np.random.default_rng(12)
    x = _complex(rng, 3, 5, 20)
    mask_s = rng.uniform(size=(5, 20))
    expected_w = ref_souden(
        ref_psd(x, mask_s, True, 1e-15), ref_psd(x, 1 - mask_s, True, 1e-15), _one_hot(3, 1), diag_eps=1e-7
    )
    expected = ref_apply(expected_w, x)
    np.testing.assert_allclose(MVDR(ref_channel=1)(_t(x), _t(mask_s)).numpy(), expected, **TIGHT)
    single = MVDR(ref_channel=1)(_t(x).to(torch.complex64), _t(mask_s).float())
    assert single.dtype == torch.complex64
    np.testing.assert_allclose(single.numpy(), expected, rtol=0, atol=1e-5 * np.abs(expected).max())
    stv = MVDR(ref_channel=1, solution="stv_power")(_t(x), _t(mask_s), _t(1 - mask_s))
    r_s, r_n = ref_psd(x, mask_s, True, 1e-15), ref_psd(x, 1 - mask_s, True, 1e-15)
    h = ref_rtf_power(r_s, r_n, _one_hot(3, 1), 3)
    np.testing.assert_allclose(stv.numpy(), ref_apply(ref_rtf_mvdr(h, r_n, _one_hot(3, 1)), x), **TIGHT)


@pytest.mark.parametrize("solution", ["ref_channel", "stv_evd", "stv_power"])
def test_online_mvdr_equals_offline_on_the_whole_stream(solution) -> None:
    # After chunks 1..k the running PSDs are those of frames up to chunk k, so chunk k comes out as the offline
    # beamformer over the frames so far would filter it. Tolerance: float64, rtol 1e-9, atol 1e-11.
    rng = np.random.default_rng(13)
    x = _t(_complex(rng, 2, 3, 9, 30))
    mask = _t(rng.uniform(size=(2, 9, 30)))
    online, offline = MVDR(solution=solution, online=True), MVDR(solution=solution)
    scripted = torch.jit.script(MVDR(solution=solution, online=True))
    for stop in (10, 25, 30):
        start = {10: 0, 25: 10, 30: 25}[stop]
        expected = offline(x[..., :stop], mask[..., :stop])[..., start:stop]
        torch.testing.assert_close(online(x[..., start:stop], mask[..., start:stop]), expected, **TIGHT)
        torch.testing.assert_close(scripted(x[..., start:stop], mask[..., start:stop]), expected, **TIGHT)
    online.reset()
    torch.testing.assert_close(online(x[..., 25:], mask[..., 25:]), offline(x[..., 25:], mask[..., 25:]), **TIGHT)


def test_mvdr_multi_mask_and_default_noise_mask() -> None:
    rng = np.random.default_rng(14)
    x = _t(_complex(rng, 3, 5, 12))
    masks = _t(rng.uniform(size=(3, 5, 12)))
    torch.testing.assert_close(
        MVDR(multi_mask=True)(x, masks), MVDR()(x, masks.mean(0), 1 - masks.mean(0)), rtol=0, atol=1e-14
    )
    with pytest.raises(ValueError, match="reference_channel"):
        MVDR(ref_channel=3)(x, masks[0])
    with pytest.raises(ValueError, match="complex"):
        MVDR()(x.real, masks[0])


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (MVDR, {"solution": "delay_and_sum"}),
        (MVDR, {"ref_channel": -1}),
        (MVDR, {"diag_eps": -1e-3}),
        (MVDR, {"online": "sometimes"}),
        (PSD, {"eps": -1.0}),
        (PSD, {"multi_mask": "both"}),
    ],
)
def test_modules_reject_bad_params(cls, params) -> None:
    with pytest.raises(InvalidParameterError, match=cls.qualified_name):
        cls(**params)


MODULES = [
    PSD(),
    PSD(normalize=False),
    MVDR(),
    MVDR(solution="stv_evd", multi_mask=True),
    MVDR(solution="stv_power", diag_eps=1e-3),
    SoudenMVDR(),
    RTFMVDR(),
]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: f"{type(m).__name__}")
def test_module_contract(module) -> None:
    # Batch items, pickling and TorchScript: the same arithmetic, compared at 1e-5 of the output's scale (as
    # check_component); silence (every input zero) gives finite output.
    module.eval()
    inputs = module.example_input(3)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    out = module(*inputs)
    scale = float(out.abs().max())
    for i in range(3):
        torch.testing.assert_close(module(*(t[i] for t in inputs)), out[i], rtol=0, atol=1e-5 * scale)
    torch.testing.assert_close(pickle.loads(pickle.dumps(module))(*inputs), out, rtol=0, atol=0)
    torch.testing.assert_close(torch.jit.script(module)(*inputs), out, rtol=0, atol=1e-5 * scale)
    assert torch.isfinite(torch.view_as_real(module(*(torch.zeros_like(t) for t in inputs)))).all()
    assert torch.isfinite(torch.view_as_real(module(torch.zeros_like(inputs[0]), *inputs[1:]))).all()
