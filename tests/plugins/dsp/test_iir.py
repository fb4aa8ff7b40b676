"""lfilter, filtfilt and sosfilt against scipy.signal, and their contract: batches, gradients, dtypes, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional import _iir
from tympan.plugins.dsp.functional._iir import filter_rows, filtfilt, lfilter, sosfilt
from tympan.plugins.dsp.functional._iir_loop import loop_rows
from tympan.plugins.dsp.transforms._filters import Filtfilt, LFilter, Sosfilt

#: A two-pole resonator with poles at radius 0.9999 (Q of several thousand): a slowly decaying response.
RESONATOR = (np.array([1.0, -2 * 0.9999 * np.cos(0.3), 0.9999**2]), np.array([1e-4, 0.0, 0.0]))
FILTERS = {
    "one_pole": (np.array([1.0, -0.95]), np.array([0.05])),
    "butter2": scipy.signal.butter(2, 0.1)[::-1],
    "cheby3_high": scipy.signal.cheby1(3, 1.0, 0.3, btype="high")[::-1],
    "fir_only": (np.array([1.0]), np.array([0.25, 0.5, 0.25])),
    "resonator": RESONATOR,
}


def _noise(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _relative_error(ours: torch.Tensor, reference: np.ndarray) -> float:
    return float(np.abs(ours.double().numpy() - reference).max() / np.abs(reference).max())


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("length", [1, 31, 1000, 100_003])
def test_float64_matches_scipy(name, length) -> None:
    # Tolerance: 1e-10 of the peak (float64 round-off through the block products).
    a, b = FILTERS[name]
    x = _noise(2, length)
    ours = lfilter(torch.from_numpy(x), torch.from_numpy(a), torch.from_numpy(b), clamp=False)
    assert _relative_error(ours, scipy.signal.lfilter(b, a, x)) < 1e-10


@pytest.mark.parametrize("name", list(FILTERS))
def test_float32_matches_scipy_float64(name) -> None:
    # Tolerance: 2e-5 of the peak (float32 round-off; scipy's own float32 lfilter is 6e-5 off on the resonator).
    a, b = FILTERS[name]
    x = _noise(2, 50_000)
    ours = lfilter(torch.from_numpy(x).float(), torch.from_numpy(a), torch.from_numpy(b), clamp=False)
    assert ours.dtype == torch.float32
    assert _relative_error(ours, scipy.signal.lfilter(b, a, x)) < 2e-5


def test_long_resonant_signal_is_exact() -> None:
    # 10 s at 44.1 kHz through the resonator: five levels of blocks; tolerance 1e-10 of the peak.
    a, b = RESONATOR
    x = _noise(441_000, seed=3)
    ours = lfilter(torch.from_numpy(x), torch.from_numpy(a), torch.from_numpy(b), clamp=False)
    assert _relative_error(ours, scipy.signal.lfilter(b, a, x)) < 1e-10


@pytest.mark.parametrize(("block", "scan_block"), [(2, 2), (3, 5), (7, 2), (64, 64)])
def test_every_block_layout_gives_the_same_output(block, scan_block) -> None:
    # A signal requiring grad takes the block recursion on the CPU too.
    a, b = FILTERS["cheby3_high"]
    x = torch.from_numpy(_noise(1, 3, 997)).requires_grad_()
    ours = filter_rows(x, torch.from_numpy(a)[None], torch.from_numpy(b)[None] / a[0], block, scan_block).detach()
    assert _relative_error(ours[0], scipy.signal.lfilter(b, a, x[0].detach().numpy())) < 1e-10


def _random_stable_filter(order: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Denominator with random poles (conjugate pairs and real ones) of radius up to 0.97, random numerator."""
    poles: list[complex] = []
    while len(poles) < order:
        if order - len(poles) >= 2 and rng.random() < 0.6:
            pole = rng.uniform(0.1, 0.97) * np.exp(1j * rng.uniform(0.0, np.pi))
            poles += [pole, np.conj(pole)]
        else:
            poles.append(rng.uniform(-0.97, 0.97))
    return np.real(np.poly(poles)), rng.standard_normal(rng.integers(1, order + 2))


@pytest.mark.parametrize("order", range(1, 13))
def test_random_stable_filters_of_any_order_match_scipy(order) -> None:
    # Tolerance: 1e-9 of the peak in float64 (observed: below 1e-13), 1e-6 in float32.
    rng = np.random.default_rng(order)
    x = _noise(2, 3000, seed=order)
    for _ in range(3):
        a, b = _random_stable_filter(order, rng)
        reference = scipy.signal.lfilter(b, a, x)
        ours = lfilter(torch.from_numpy(x), torch.from_numpy(a), torch.from_numpy(b), clamp=False)
        assert _relative_error(ours, reference) < 1e-9
        single = lfilter(torch.from_numpy(x).float(), torch.from_numpy(a), torch.from_numpy(b), clamp=False)
        assert _relative_error(single, reference) < 1e-6


@pytest.mark.parametrize("btype", ["highpass", "lowpass"])
@pytest.mark.parametrize("cutoff", [0.1, 0.3])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_ninth_order_butterworth_is_as_accurate_as_scipy(btype, cutoff, dtype) -> None:
    # The true output is the filter designed as second-order sections; scipy's own lfilter of (b, a) is off
    # by up to 2e-10 of the peak here, the coefficients' own conditioning. Tolerance: four times scipy's
    # error, and 1e-12 (float64) or 2e-7 (float32, a few units of its rounding) above it.
    b, a = scipy.signal.butter(9, cutoff, btype)
    x = _noise(2, 20_000, seed=9)
    true = scipy.signal.sosfilt(scipy.signal.butter(9, cutoff, btype, output="sos"), x)
    scipy_error = _relative_error(torch.from_numpy(scipy.signal.lfilter(b, a, x)), true)
    ours = lfilter(torch.from_numpy(x).to(dtype), torch.from_numpy(a), torch.from_numpy(b), clamp=False)
    floor = 1e-12 if dtype == torch.float64 else 2e-7
    assert _relative_error(ours, true) < 4 * scipy_error + floor
    module = LFilter(a.tolist(), b.tolist(), clamp=False)
    assert _relative_error(module(torch.from_numpy(x).to(dtype)), true) < 4 * scipy_error + floor


def test_high_order_gradients_reach_the_coefficients() -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 40, generator=generator, dtype=torch.float64, requires_grad=True)
    a = torch.tensor([1.0, -1.2, 0.9, -0.3, 0.05], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.3, 0.2, 0.1, 0.05], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *t: lfilter(*t, clamp=False), (x, a, b))


def test_coefficients_are_normalised_and_padded() -> None:
    x = _noise(500)
    ours = lfilter(torch.from_numpy(x), torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64), torch.tensor([1.0]))
    reference = np.clip(scipy.signal.lfilter([1.0], [2.0, -1.0, 0.5], x), -1, 1)
    np.testing.assert_allclose(ours.numpy(), reference, rtol=1e-12, atol=1e-12)


def test_clamp() -> None:
    x = torch.full((100,), 0.9, dtype=torch.float64)
    a, b = torch.tensor([1.0, -0.5], dtype=torch.float64), torch.tensor([1.0, 0.0], dtype=torch.float64)
    assert lfilter(x, a, b).max() == 1.0
    assert lfilter(x, a, b, clamp=False).max() == pytest.approx(1.8)


def test_batched_coefficients_filter_their_own_channel() -> None:
    names = ["one_pole", "butter2", "resonator"]
    a = torch.from_numpy(np.stack([np.pad(FILTERS[n][0], (0, 3 - len(FILTERS[n][0]))) for n in names]))
    b = torch.from_numpy(np.stack([np.pad(FILTERS[n][1], (0, 3 - len(FILTERS[n][1]))) for n in names]))
    x = _noise(2, 3, 2000)
    ours = lfilter(torch.from_numpy(x), a, b, clamp=False, batching=True)
    assert ours.shape == (2, 3, 2000)
    for i, name in enumerate(names):
        reference = scipy.signal.lfilter(FILTERS[name][1], FILTERS[name][0], x[:, i])
        np.testing.assert_allclose(ours[:, i].numpy(), reference, rtol=1e-10, atol=1e-12)
    every = lfilter(torch.from_numpy(x), a, b, clamp=False, batching=False)
    assert every.shape == (2, 3, 3, 2000)  # (batch, channel, filter, time)
    reference = scipy.signal.lfilter(FILTERS["resonator"][1], FILTERS["resonator"][0], x[:, 0])
    np.testing.assert_allclose(every[:, 0, 2].numpy(), reference, rtol=1e-10, atol=1e-12)


def test_batch_equals_items() -> None:
    a, b = (torch.from_numpy(c) for c in FILTERS["butter2"])
    x = torch.from_numpy(_noise(2, 3, 4000))
    together = lfilter(x, a, b, clamp=False)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(together[i, j], lfilter(x[i, j], a, b, clamp=False), rtol=1e-10, atol=1e-12)


def test_gradients_wrt_input_and_coefficients() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 150, generator=generator, dtype=torch.float64, requires_grad=True)
    a = torch.tensor([1.0, -1.2, 0.5], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([0.3, 0.2, 0.1], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *t: lfilter(*t, clamp=False), (x, a, b))
    assert torch.autograd.gradcheck(lambda *t: filtfilt(*t, clamp=False), (x, a, b), fast_mode=True)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("name", ["resonator", "cheby3_high"])
def test_kept_matrices_give_the_rebuilt_output_at_every_length(name, dtype) -> None:
    # The matrices (and the third-order filter's sections) kept per coefficients, for coefficients without
    # grad, against those rebuilt at each call for coefficients requiring grad: exact. The signal requires
    # grad, so that the block recursion runs on the CPU. Lengths of whole 32-sample blocks share one first
    # level and need 1, 3 and 2 scan levels, so the kept levels grow, then serve a shorter signal; 1e-10 of
    # the peak from scipy in float64, 2e-5 in float32.
    a, b = FILTERS[name]
    for length in (160, 32_000, 3_200):
        x = _noise(2, length, seed=length)
        signal = torch.from_numpy(x).to(dtype).requires_grad_()
        kept = lfilter(signal, torch.from_numpy(a), torch.from_numpy(b), clamp=False).detach()
        rebuilt = lfilter(signal, torch.from_numpy(a).requires_grad_(), torch.from_numpy(b), clamp=False)
        assert torch.equal(kept, rebuilt.detach())
        tolerance = 1e-10 if dtype == torch.float64 else 2e-5
        assert _relative_error(kept, scipy.signal.lfilter(b, a, x)) < tolerance


def _layouts(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
    """``x`` ``(5, T)`` filtered in each layout the filter rows take: five rows, one filter on each of five
    channels, three filters on every channel, and a non-contiguous signal."""
    rows = torch.stack([a, 0.5 * a, a]), torch.stack([b, b, 2 * b])
    return {
        "rows": lfilter(x, a, b, clamp=False),
        "batching": lfilter(x, a.expand(5, -1), b.expand(5, -1), clamp=False, batching=True),
        "every": lfilter(x, *rows, clamp=False, batching=False),
        "strided": lfilter(x.t().contiguous().t(), a, b, clamp=False),
    }


@pytest.mark.parametrize("name", ["one_pole", "butter2", "resonator", "cheby3_high"])
def test_the_compiled_loop_gives_the_block_recursion_output_in_every_layout(name, monkeypatch) -> None:
    # Eagerly on the CPU a compiled loop filters; with a signal requiring grad the block recursion does. Both
    # float64, 1e-12 of the peak apart (observed 1e-15), and 1e-10 from scipy.
    a, b = (torch.from_numpy(c) for c in FILTERS[name])
    x = torch.from_numpy(_noise(5, 3001, seed=6))
    calls = []
    monkeypatch.setattr(_iir, "loop_rows", lambda *args: calls.append(args) or loop_rows(*args))
    looped = _layouts(x, a, b)
    assert len(calls) >= 4
    calls.clear()
    recursed = _layouts(x.clone().requires_grad_(), a, b)
    assert not calls
    for layout, out in looped.items():
        assert out.shape == recursed[layout].shape
        assert _relative_error(out, recursed[layout].detach().numpy()) < 1e-12
    assert _relative_error(looped["rows"], scipy.signal.lfilter(b.numpy(), a.numpy(), x.numpy())) < 1e-10
    assert _relative_error(looped["every"][:, 1], scipy.signal.lfilter(b.numpy(), 0.5 * a.numpy(), x.numpy())) < 1e-10


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:`torch.jit.trace` is deprecated")
def test_jit_traced_lfilter_filters_other_signals() -> None:
    # torch.jit.trace records tensor operations: a traced call runs the block recursion, never the compiled
    # loop (whose output the trace would hold as a constant). 1e-10 of the peak from scipy.
    a, b = FILTERS["butter2"]
    a_t, b_t = torch.from_numpy(a), torch.from_numpy(b)
    traced = torch.jit.trace(lambda x: lfilter(x, a_t, b_t, clamp=False), torch.from_numpy(_noise(2, 640)))
    x = _noise(2, 640, seed=1)
    assert _relative_error(traced(torch.from_numpy(x)), scipy.signal.lfilter(b, a, x)) < 1e-10


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:`torch.jit.trace` is deprecated")
def test_jit_traced_lfilter_filters_by_the_coefficients_it_is_given() -> None:
    # Traced with the coefficients among its inputs, the recursion's matrices are built from them at each call
    # (none is kept by value as a constant of the trace). 1e-10 of the peak from scipy.
    x = _noise(2, 640)
    args = (torch.from_numpy(x), *(torch.from_numpy(c) for c in FILTERS["butter2"]))
    traced = torch.jit.trace(lambda x, a, b: lfilter(x, a, b, clamp=False), args, check_trace=False)
    a, b = FILTERS["resonator"]
    assert (
        _relative_error(traced(args[0], torch.from_numpy(a), torch.from_numpy(b)), scipy.signal.lfilter(b, a, x))
        < 1e-10
    )


def test_matrices_kept_in_inference_mode_serve_gradients() -> None:
    # Coefficients no other test uses: their matrices are first made under inference mode.
    a = torch.tensor([1.0, -0.7, 0.3], dtype=torch.float64)
    b = torch.tensor([0.4, 0.1, 0.2], dtype=torch.float64)
    x = torch.randn(2, 100, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    with torch.inference_mode():
        lfilter(x, a, b, clamp=False)
    assert torch.autograd.gradcheck(lambda t: lfilter(t, a, b, clamp=False), (x.requires_grad_(),))


@pytest.mark.gpu
def test_cuda_lfilter_matches_scipy() -> None:
    # Float32 on the device, kept matrices and rebuilt ones: 2e-5 of the peak from scipy's float64 output.
    a, b = FILTERS["butter2"]
    x = _noise(2, 100_000, seed=5)
    on_device = torch.from_numpy(x).float().cuda()
    for a_t in (torch.from_numpy(a).cuda(), torch.from_numpy(a).cuda().requires_grad_()):
        ours = lfilter(on_device, a_t, torch.from_numpy(b).cuda(), clamp=False).detach()
        assert ours.device.type == "cuda"
        assert _relative_error(ours.cpu(), scipy.signal.lfilter(b, a, x)) < 2e-5


def test_filtfilt_is_forward_then_backward() -> None:
    a, b = FILTERS["butter2"]
    x = _noise(3, 5000)
    reference = scipy.signal.lfilter(b, a, scipy.signal.lfilter(b, a, x)[..., ::-1])[..., ::-1]
    ours = filtfilt(torch.from_numpy(x), torch.from_numpy(a), torch.from_numpy(b), clamp=False)
    assert _relative_error(ours, reference) < 1e-10
    module = Filtfilt(a.tolist(), b.tolist(), clamp=False)
    torch.testing.assert_close(module(torch.from_numpy(x)), ours, rtol=1e-12, atol=1e-12)


def test_sosfilt_matches_scipy_on_a_high_order_filter() -> None:
    sos = scipy.signal.butter(10, [0.05, 0.2], btype="band", output="sos")
    x = _noise(2, 30_000)
    reference = scipy.signal.sosfilt(sos, x)
    ours = sosfilt(torch.from_numpy(x), torch.from_numpy(sos))
    assert _relative_error(ours, reference) < 1e-10
    assert _relative_error(Sosfilt(sos.tolist())(torch.from_numpy(x)), reference) < 1e-10
    assert _relative_error(sosfilt(torch.from_numpy(x).float(), torch.from_numpy(sos)), reference) < 1e-4


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32(dtype) -> None:
    a, b = (torch.from_numpy(c) for c in FILTERS["butter2"])
    x = torch.from_numpy(_noise(2, 1000) * 0.2).to(dtype)
    out = lfilter(x, a, b)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), lfilter(x.float(), a, b), rtol=1e-2, atol=1e-2)


def test_silence_and_empty_input() -> None:
    a, b = (torch.from_numpy(c) for c in FILTERS["resonator"])
    assert torch.equal(lfilter(torch.zeros(2, 5000), a, b), torch.zeros(2, 5000))
    assert lfilter(torch.zeros(2, 0), a, b).shape == (2, 0)


def test_module_matches_functional_and_scripts() -> None:
    a, b = FILTERS["cheby3_high"]
    module = LFilter(a.tolist(), b.tolist())
    x = torch.from_numpy(_noise(2, 3000) * 0.1).float()
    torch.testing.assert_close(module(x), lfilter(x, torch.from_numpy(a), torch.from_numpy(b)))
    torch.testing.assert_close(torch.jit.script(module)(x), module(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: LFilter([1.0, -1.0], [1.0]), "a_coeffs"),
        (lambda: LFilter([0.0, 0.5], [1.0]), "a_coeffs"),
        (lambda: LFilter([1.0, -2.5, 1.0], [1.0]), "a_coeffs"),
        (lambda: LFilter([1.0], []), "b_coeffs"),
        (lambda: Filtfilt([1.0, float("nan")], [1.0]), "a_coeffs"),
        (lambda: Sosfilt([[1.0, 0.0, 0.0, 1.0, 0.0, 1.0]]), "sos"),
        (lambda: Sosfilt([[1.0, 0.0, 0.0, 1.0]]), "sos"),
    ],
)
def test_bad_coefficients_raise_at_construction(make, field) -> None:
    with pytest.raises(InvalidParameterError, match=field):
        make()


def test_bad_functional_arguments_raise_typed_errors() -> None:
    x = torch.zeros(3, 100)
    with pytest.raises(InvalidParameterError, match="a0"):
        lfilter(x, torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]))
    with pytest.raises(InvalidParameterError, match="num_filters"):
        lfilter(x, torch.ones(2, 2), torch.ones(2, 2))
    with pytest.raises(InvalidParameterError, match="sos"):
        sosfilt(x, torch.ones(2, 5))


def test_forward_mode_gradients_reach_the_coefficients_whatever_is_kept() -> None:
    # Matrices kept for plain coefficients must not serve dual (forward-mode) or functorch-wrapped ones: the
    # tangent is checked against central differences (step 1e-6 in float64, agreement within 1e-7).
    from torch.autograd import forward_ad

    x = torch.randn(2, 300, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    a = torch.tensor([1.0, -0.5, 0.2], dtype=torch.float64)
    b = torch.tensor([0.3, 0.2, 0.1], dtype=torch.float64)
    direction = torch.tensor([0.0, 0.01, -0.02], dtype=torch.float64)
    lfilter(x, a, b, clamp=False)  # the matrices of (a, b) are kept now
    with forward_ad.dual_level():
        tangent = forward_ad.unpack_dual(lfilter(x, forward_ad.make_dual(a, direction), b, clamp=False)).tangent
    step = 1e-6
    expected = lfilter(x, a + step * direction, b, clamp=False) - lfilter(x, a - step * direction, b, clamp=False)
    expected = expected / (2 * step)
    assert tangent is not None
    torch.testing.assert_close(tangent, expected, rtol=0, atol=1e-7)
    jacobian = torch.func.jacfwd(lambda coefficients: lfilter(x, coefficients, b, clamp=False))(a)
    torch.testing.assert_close(jacobian @ direction, expected, rtol=0, atol=1e-7)
