"""IIR filtering with no loop over samples: ``lfilter``, ``filtfilt`` and ``sosfilt``.

The filter ``B(z) / A(z)`` of order ``N`` runs as a state-space recurrence (transposed direct form II, the
form ``scipy.signal.lfilter`` uses): ``s[n] = F s[n-1] + g x[n]``, ``y[n] = s0[n-1] + b0 x[n]``. The signal
is cut into blocks of ``L`` samples and solved block-recursively, exactly (no truncated impulse response):

1. Matrix products over all blocks at once give each block's zero-state output (a Toeplitz matrix of the
   first ``L`` impulse-response samples) and its zero-state final state.
2. The true final states obey ``c[j] = F^L c[j-1] + z[j]``: a recurrence over blocks with the same shape,
   solved the same way one level up (blocks of blocks), until the ends fit in one block; then each level
   adds the response to its incoming state (``c[j-1]`` through the powers of ``F``).

Every step is a batched matrix product over all channels and blocks, so the work is ``O(T L)`` per channel,
the Python loop runs over a fixed number of levels (enough for 2**31 samples), and autograd gives gradients
with respect to the input and the coefficients (every matrix is built from the coefficients with
differentiable torch ops). The block layout does not depend on the length (see :mod:`._blocks`), so
``torch.export`` traces one program that is right for every length.

The matrices depend on the coefficients and the block lengths alone. Run eagerly with coefficients that do
not require grad, they are built once per coefficients (by value), block lengths, dtype and device and kept
(the 64 most recently used, each with the levels the longest signal so far needed), so a call runs only
the products over the signal; traced (``torch.compile``, ``torch.export``, ``torch.jit.trace``), scripted or
differentiated through the coefficients, they are built at each call from the coefficients, so a function
traced by ``torch.jit.trace`` with the coefficients among its inputs filters by those it is given.

Run eagerly on the CPU with nothing differentiated, the recursion runs instead as a compiled loop over the
samples (:mod:`._iir_loop`), which reads the signal once and is several times faster on one core; autograd,
tracing, TorchScript and GPUs take the block recursion.

Conditioning: a denominator of order up to two is exact to float rounding this way. A higher one with
clustered poles (a ``butter(9)`` as ``(b, a)``) would make ``F^L`` lose every digit to cancellation, so such
filters run as the numerator's FIR followed by a cascade of second-order all-pole sections, each solved as
above (see :mod:`._cascade`): as accurate as ``scipy.signal.lfilter`` for any stable filter of any order.

Example:
    >>> import torch
    >>> x = torch.tensor([1.0, 0.0, 0.0, 0.0])
    >>> lfilter(x, torch.tensor([1.0, -0.5]), torch.tensor([1.0, 0.0])).tolist()
    [1.0, 0.5, 0.25, 0.125]
"""

from __future__ import annotations

import functools
import threading
from typing import NamedTuple

import torch
import torch.nn.functional as nnf

from tympan.core.errors import InvalidParameterError
from tympan.core.threads import intra_op_threads
from tympan.core.tracing import traced
from tympan.plugins.dsp.functional._blocks import (
    block_count,
    block_length,
    cut,
    pieces,
    readable,
    scan_depth,
    shifted,
)
from tympan.plugins.dsp.functional._cascade import fir_rows, pole_sections
from tympan.plugins.dsp.functional._iir_loop import loop_rows
from tympan.plugins.dsp.functional._precision import as_dtype, working_dtype

__all__ = [
    "lfilter",
    "filtfilt",
    "sosfilt",
    "filter_rows",
    "filter_waveform",
    "normalized_coefficients",
    "default_block_lengths",
]


def default_block_lengths(on_gpu: bool) -> tuple[int, int]:
    """Samples per first-level block and blocks per block above it: ``(32, 16)``, or ``(128, 64)`` on a GPU.

    The first-level product costs ``2 * (block + order)`` flops a sample; on a GPU flops are cheap and each
    level's small kernels are not, so it uses fewer, longer levels.

    Example:
        >>> default_block_lengths(on_gpu=False)
        (32, 16)
    """
    return (128, 64) if on_gpu else (32, 16)


def _powers(matrix: torch.Tensor, count: int) -> torch.Tensor:
    """``matrix ** k`` for ``k = 0 .. count``: ``(F, count + 1, N, N)`` from ``(F, N, N)``, by doubling."""
    filters, order = matrix.shape[0], matrix.shape[-1]
    eye = torch.eye(order, dtype=matrix.dtype, device=matrix.device).expand(filters, 1, order, order)
    powers = torch.cat([eye, matrix.unsqueeze(1)], 1)
    while powers.shape[1] < count + 1:
        step = torch.matmul(powers[:, -1], matrix)
        powers = torch.cat([powers, torch.matmul(powers, step.unsqueeze(1))], 1)
    return powers[:, : count + 1]


def _lower_toeplitz_index(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(i - k).clamp(min=0)`` and the mask ``i >= k`` over a ``size x size`` grid (``i`` rows, ``k`` columns)."""
    steps = torch.arange(size)
    lag = steps[:, None] - steps[None, :]
    return lag.clamp(min=0), lag >= 0


def _first_level(
    a: torch.Tensor, b: torch.Tensor, size: int, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(toeplitz, final, observe, F^size)`` of blocks of ``size`` samples; ``a``, ``b`` as in :func:`_recursion_rows`.

    ``toeplitz`` ``(F, size, size)`` maps a block to its zero-state output, ``final`` ``(F, size, N)`` to its
    zero-state final state, ``observe`` ``(F, N, size)`` the incoming state to the output: built in float64
    on the CPU (a few dozen tiny ops, too small to launch kernels for), then moved to ``device`` and
    ``dtype``. ``F^size`` stays in float64 on the CPU.
    """
    filters, order = a.shape[0], a.shape[1] - 1
    # transposed direct form II: s[n] = F s[n-1] + g x[n], y[n] = s0[n-1] + b0 x[n]
    shift = torch.diag(torch.ones(order - 1, dtype=a.dtype), 1)[:, 1:]
    transition = torch.cat([-a[:, 1:, None], shift.expand(filters, order, order - 1)], -1)
    drive = b[:, 1:] - a[:, 1:] * b[:, :1]
    powers = _powers(transition, size)
    driven = torch.matmul(powers, drive[:, None, :, None]).squeeze(-1)  # F^k g, (F, size + 1, N)
    impulse = torch.cat([b[:, :1], driven[:, : size - 1, 0]], 1)  # h[0 .. size - 1]
    lag, causal = _lower_toeplitz_index(size)
    toeplitz = (impulse[:, lag] * causal.to(a.dtype)).transpose(1, 2)  # [k, i] = h[i - k]
    final = driven[:, :size].flip(1)  # [k, n] = (F^(size - 1 - k) g)[n]
    observe = powers[:, :size, 0, :].transpose(1, 2)  # [n, i] = (F^i)[0, n]
    return (
        toeplitz.to(device=device, dtype=dtype),
        final.to(device=device, dtype=dtype),
        observe.to(device=device, dtype=dtype),
        powers[:, size],
    )


def _scan_level(transition: torch.Tensor, block: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(mixing, carry, transition ** block)`` of a scan level over blocks of ``block`` (see :func:`_scan_states`).

    ``mixing`` ``(F, block * N, block * N)`` maps a block of ends to its zero-state states, ``carry``
    ``(F, N, block * N)`` the incoming state to them; in ``transition``'s dtype, on its device.
    """
    filters, order = transition.shape[0], transition.shape[-1]
    powers = _powers(transition, block)
    lag, causal = _lower_toeplitz_index(block)
    # mixing[(k, m), (i, n)] = (transition ** (i - k))[n, m] for i >= k
    mixing = powers[:, lag] * causal[None, :, :, None, None].to(powers.dtype)
    mixing = mixing.permute(0, 2, 4, 1, 3).reshape(filters, block * order, block * order)
    # carry[m, (i, n)] = (transition ** (i + 1))[n, m]
    carry = powers[:, 1:].permute(0, 3, 1, 2).reshape(filters, order, block * order)
    return mixing, carry, powers[:, block]


def _level_counts(count: int, block: int, depth: int) -> list[int]:
    """The items each scan level solves, from ``count`` ends of first-level blocks: at least ``depth`` levels,
    and more until a level's items all lie in its first block of ``block``."""
    counts = [count]
    while len(counts) < depth or count > block:
        count = block_count(count, block)
        counts.append(count)
    return counts


def _scan_states(
    ends: torch.Tensor, levels: list[tuple[torch.Tensor, torch.Tensor]], counts: list[int], block: int
) -> torch.Tensor:
    """Solve ``c[j] = transition @ c[j-1] + ends[j]`` (``c[-1] = 0``) along dim 2 of ``(F, R, M, N)``.

    Each level cuts the sequence into blocks of ``block`` (laid out as :mod:`._blocks` describes) and
    recurses on the blocks' final states; level ``i`` solves ``counts[i]`` items (:func:`_level_counts`) with
    the matrices ``levels[i]`` of :func:`_scan_level`, in ``ends``' dtype on its device.
    """
    zero_states: list[torch.Tensor] = []
    inputs = ends
    for index in range(len(counts)):
        mixing = levels[index][0]
        filters, rows, count, order = inputs.shape
        blocks = block_count(count, block)
        inputs = nnf.pad(inputs, (0, 0, 0, blocks * block - count))
        flat = pieces(inputs.flatten(2), block * order).flatten(1, 2)
        zero_state = torch.matmul(flat, mixing).reshape(filters, rows, blocks, block, order)
        zero_states.append(zero_state)
        inputs = zero_state[:, :, :, block - 1]
    states = inputs
    for index in range(len(counts) - 1, -1, -1):
        zero_state, carry = zero_states[index], levels[index][1]
        filters, rows, blocks, size, order = zero_state.shape
        incoming = shifted(states, 2).reshape(filters, rows * blocks, order)
        flat = zero_state.reshape(filters, rows * blocks, size * order)
        states = torch.baddbmm(flat, incoming, carry).reshape(filters, rows, blocks, size, order).flatten(2, 3)
        states = cut(states, counts[index], 2)
    return states


class _Matrices(NamedTuple):
    """The matrices of one block recursion, in the input's dtype on its device (see :func:`_first_level`)."""

    toeplitz: torch.Tensor
    final: torch.Tensor
    observe: torch.Tensor
    levels: list[tuple[torch.Tensor, torch.Tensor]]


def _add_levels(
    levels: list[tuple[torch.Tensor, torch.Tensor]],
    transition: torch.Tensor,
    scan_block: int,
    depth: int,
    dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """Append scan levels to ``levels`` until it holds ``depth``, the first added over ``transition`` (float64,
    on the CPU), each moved to ``device`` and ``dtype``; returns the transition of the level after them."""
    while len(levels) < depth:
        mixing, carry, transition = _scan_level(transition, scan_block)
        levels.append((mixing.to(device=device, dtype=dtype), carry.to(device=device, dtype=dtype)))
    return transition


def _recursion_matrices(
    a: torch.Tensor, b: torch.Tensor, size: int, scan_block: int, depth: int, dtype: torch.dtype, device: torch.device
) -> _Matrices:
    """The matrices of a block recursion with ``depth`` scan levels, in ``dtype`` on ``device``, built now from
    ``a`` and ``b`` (differentiably)."""
    toeplitz, final, observe, transition = _first_level(a, b, size, dtype, device)
    levels: list[tuple[torch.Tensor, torch.Tensor]] = []
    _add_levels(levels, transition, scan_block, depth, dtype, device)
    return _Matrices(toeplitz, final, observe, levels)


class _RecursionPlan:
    """The matrices of one block recursion in one dtype on one device, built once: the first level's when
    made, the scan levels as longer signals need them (their count grows with the length)."""

    def __init__(
        self, a: torch.Tensor, b: torch.Tensor, size: int, scan_block: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        self.toeplitz, self.final, self.observe, self._transition = _first_level(a, b, size, dtype, device)
        self.levels: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._scan_block, self._dtype, self._device = scan_block, dtype, device
        self._lock = threading.Lock()

    def matrices(self, depth: int) -> _Matrices:
        """The first level's matrices and those of ``depth`` scan levels (the missing ones built now)."""
        with self._lock, torch.inference_mode(False), torch.no_grad():
            self._transition = _add_levels(
                self.levels, self._transition, self._scan_block, depth, self._dtype, self._device
            )
            return _Matrices(self.toeplitz, self.final, self.observe, self.levels[:depth])


@functools.lru_cache(maxsize=64)
def _recursion_plan(
    coefficients: bytes, filters: int, size: int, scan_block: int, dtype: torch.dtype, device: torch.device
) -> _RecursionPlan:
    """The plan of the recursion whose float64 ``a`` and ``b`` (``(F, W)`` each) are ``coefficients``, one after
    the other; the 64 most recently used are kept."""
    with torch.inference_mode(False), torch.no_grad():
        ab = torch.frombuffer(bytearray(coefficients), dtype=torch.float64).reshape(2, filters, -1)
        return _RecursionPlan(ab[0], ab[1], size, scan_block, dtype, device)


def _planned_matrices(
    x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, size: int, scan_block: int, depth: int
) -> _Matrices:
    """:func:`_recursion_matrices` for ``x``, from the cached plan of ``a`` and ``b`` when their values may be
    read and nothing differentiates through them (:func:`~._blocks.readable`)."""
    if not readable(a, b):
        return _recursion_matrices(a, b, size, scan_block, depth, x.dtype, x.device)
    coefficients = torch.stack([a, b]).numpy().tobytes()
    return _recursion_plan(coefficients, a.shape[0], size, scan_block, x.dtype, x.device).matrices(depth)


@functools.lru_cache(maxsize=64)
def _sections_of(coefficients: bytes, filters: int) -> torch.Tensor:
    """:func:`~._cascade.pole_sections` of the float64 ``a`` (``(F, N + 1)``) that is ``coefficients``; the 64
    most recently used are kept."""
    with torch.inference_mode(False), torch.no_grad():
        return pole_sections(torch.frombuffer(bytearray(coefficients), dtype=torch.float64).reshape(filters, -1))


def _kept_sections(a: torch.Tensor) -> torch.Tensor:
    """:func:`~._cascade.pole_sections` of ``a``, kept per value when it may be read and nothing differentiates
    through it (:func:`~._blocks.readable`)."""
    if not readable(a):
        return pole_sections(a)
    return _sections_of(a.contiguous().numpy().tobytes(), a.shape[0])


def filter_rows(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, block: int = 0, scan_block: int = 0) -> torch.Tensor:
    """Filter ``x`` of shape ``(F, R, T)``: row ``r`` of group ``f`` by ``b[f] / a[f]`` (``a0 = 1``).

    ``a`` is ``(F, N + 1)`` and ``b`` ``(F, M + 1)``; the coefficients are cast to ``x``'s dtype and device,
    and ``F`` may be 1 for one filter over every row. A denominator of order up to two runs as one block
    recursion; a higher one as the numerator's FIR and a cascade of second-order all-pole sections (see
    :mod:`._cascade`), computed in float64. ``block`` and ``scan_block`` set the block lengths of the first
    level and of the levels above it (0: :func:`default_block_lengths`); the compiled loop that runs eagerly
    on the CPU when nothing is differentiated has none (see the module). The recursion's matrices (and a
    cascade's sections) are built once per coefficients, block lengths, dtype and device and kept (the 64
    most recently used), except when the coefficients require grad or the call is traced or scripted.

    Example:
        >>> import torch
        >>> a, b = torch.tensor([[1.0, -0.5]]), torch.tensor([[2.0]])
        >>> filter_rows(torch.tensor([[[1.0, 0.0, 0.0]]]), a, b).tolist()
        [[[2.0, 1.0, 0.5]]]
    """
    # The coefficients are brought to the CPU in float64, where the recursion's matrices are built.
    exact, host = torch.float64, torch.device("cpu")
    a = a.to(device=host, dtype=exact)
    b = b.to(device=host, dtype=exact)
    if a.shape[1] <= 3:
        width = max(a.shape[1], b.shape[1])
        return _recursion_rows(
            x, nnf.pad(a, (0, width - a.shape[1])), nnf.pad(b, (0, width - b.shape[1])), block, scan_block
        )
    # Rounding in the FIR output is amplified by the poles (by 1 / |A| near them), so the cascade runs in
    # float64 whatever the input's precision.
    sections = pole_sections(a) if torch.jit.is_scripting() else _kept_sections(a)
    out = fir_rows(x.to(exact), b)
    unit = torch.zeros(a.shape[0], 3, dtype=exact)
    unit[:, 0] = 1.0
    for index in range(sections.shape[1]):
        out = _recursion_rows(out, sections[:, index], unit, block, scan_block)
    return out.to(x.dtype)


def _runs_as_loop(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether :func:`~._iir_loop.loop_rows` filters ``x``: on the CPU in float32 or float64, where its values may
    be read (:func:`~._blocks.readable`: eagerly, nothing differentiated). There it is several times faster than the
    block recursion at any batch size and length (``benchmarks/bench_filters.py``)."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and readable(x, a, b)


def _recursion_rows(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, block: int, scan_block: int) -> torch.Tensor:
    """:func:`filter_rows` by one block recursion; ``a`` and ``b`` are float64 on the CPU, of one width."""
    time, order = x.shape[-1], a.shape[-1] - 1
    if order == 0 or time == 0:
        return x * b[:, :1, None].to(device=x.device, dtype=x.dtype)
    # TorchScript leaves the body of ``if not torch.jit.is_scripting()`` uncompiled only when that is the whole
    # condition.
    if not torch.jit.is_scripting():
        if _runs_as_loop(x, a, b):
            return loop_rows(x, nnf.pad(a, (0, 2 - order)), nnf.pad(b, (0, 2 - order)))
        with intra_op_threads(x):  # the block recursion's matrix products split over torch's threads
            return _block_recursion(x, a, b, block, scan_block)
    return _block_recursion(x, a, b, block, scan_block)


def _block_recursion(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, block: int, scan_block: int) -> torch.Tensor:
    """:func:`_recursion_rows` by the block recursion, on the intra-op threads it is given."""
    filters, rows, time = x.shape
    order = a.shape[-1] - 1
    default_block, default_scan_block = default_block_lengths(x.is_cuda)
    block = block if block > 0 else default_block
    scan_block = scan_block if scan_block > 0 else default_scan_block
    # On an accelerator a last block is padded rather than the length's divisor taken (the plans are kept per
    # block length, and a GPU's are large); on the CPU a divisor saves copying the signal.
    size = block_length(time, order, block) if x.device.type == "cpu" else max(block, order)
    # Traced, the same block layout for every length (see ._blocks): zero-padded to whole blocks, then cut.
    blocks = block_count(time, size)
    counts = _level_counts(blocks, scan_block, scan_depth(size, scan_block))
    if torch.jit.is_scripting():
        matrices = _recursion_matrices(a, b, size, scan_block, len(counts), x.dtype, x.device)
    else:
        matrices = _planned_matrices(x, a, b, size, scan_block, len(counts))
    padded = nnf.pad(x, (0, blocks * size - time)) if traced() or blocks * size != time else x
    blocks_in = pieces(padded, size).flatten(1, 2)
    ends = torch.matmul(blocks_in, matrices.final).reshape(filters, rows, blocks, order)
    states = _scan_states(ends, matrices.levels, counts, scan_block)
    incoming = shifted(states, 2).reshape(filters, rows * blocks, order)
    # in place: the product's backward needs its inputs, not its output
    out = torch.matmul(blocks_in, matrices.toeplitz).baddbmm_(incoming, matrices.observe)
    return cut(out.reshape(filters, rows, blocks, size).flatten(2), time, 2)


def _count(shape: list[int]) -> int:
    """The number of items in a batch of ``shape`` (known even when the last dimension is empty)."""
    count = 1
    for size in shape:
        count *= size
    return count


def filter_waveform(waveform: torch.Tensor, a: torch.Tensor, b: torch.Tensor, clamp: bool) -> torch.Tensor:
    """Filter every channel of ``(..., time)`` by one filter ``b / a`` (``(1, N + 1)``, ``a0 = 1``).

    Half-precision input is computed in float32 and returned in its own dtype; ``clamp`` limits the output
    to ``[-1, 1]``. This is the TorchScript-able path the filter modules run.

    Example:
        >>> import torch
        >>> a, b = torch.tensor([[1.0, -0.5]]), torch.tensor([[1.0, 0.0]])
        >>> filter_waveform(torch.tensor([[4.0, 0.0]]), a, b, clamp=True).tolist()
        [[1.0, 1.0]]
    """
    x = waveform.to(working_dtype(waveform.dtype))
    out = filter_rows(x.reshape(1, _count(x.shape[:-1]), x.shape[-1]), a, b).reshape(x.shape)
    if clamp:
        out = out.clamp(-1.0, 1.0)
    return as_dtype(out, waveform.dtype)


def normalized_coefficients(a_coeffs: torch.Tensor, b_coeffs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(a, b)`` as ``(F, N + 1)`` and ``(F, M + 1)`` rows divided by ``a0``.

    Example:
        >>> a, b = normalized_coefficients(torch.tensor([2.0, 1.0]), torch.tensor([1.0]))
        >>> a.tolist(), b.tolist()
        ([[1.0, 0.5]], [[0.5]])
    """
    a = torch.atleast_2d(a_coeffs)
    b = torch.atleast_2d(b_coeffs)
    if a.dim() != 2 or b.dim() != 2 or a.shape[0] != b.shape[0]:
        raise InvalidParameterError(
            "dsp:lfilter",
            [
                "a_coeffs, b_coeffs: expected shapes (n_order + 1,) or (num_filters, n_order + 1) with the same "
                f"number of filters (got {list(a_coeffs.shape)} and {list(b_coeffs.shape)})"
            ],
        )
    if bool((a[:, 0] == 0).any()):
        raise InvalidParameterError("dsp:lfilter", ["a_coeffs: the leading coefficient a0 must not be zero"])
    return a / a[:, :1], b / a[:, :1]


def lfilter(
    waveform: torch.Tensor,
    a_coeffs: torch.Tensor,
    b_coeffs: torch.Tensor,
    clamp: bool = True,
    batching: bool = True,
) -> torch.Tensor:
    """Filter ``waveform`` by the difference equation ``a * y = b * x``, as ``torchaudio.functional.lfilter``.

    ``a_coeffs`` and ``b_coeffs`` hold ``[a0, a1, ...]`` and ``[b0, b1, ...]`` (``(n_order + 1,)``) or one
    filter per row (``(num_filters, n_order + 1)``). With several filters and ``batching`` true, filter
    ``i`` runs on ``waveform[..., i, :]``; otherwise every filter runs on every channel and the output is
    ``(..., num_filters, time)``. ``clamp`` limits the output to ``[-1, 1]``. Initial state is zero; the
    result matches ``scipy.signal.lfilter(b, a, x)``. Differentiable with respect to the waveform and both
    coefficient tensors; half-precision input is computed in float32.

    Example:
        >>> import torch
        >>> x = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]])
        >>> lfilter(x, torch.tensor([1.0, -0.5]), torch.tensor([1.0, 1.0])).tolist()
        [[0.5, 0.75, 0.375], [0.0, 0.5, 0.75]]
    """
    dtype = working_dtype(waveform.dtype)
    x = waveform.to(dtype)
    a, b = normalized_coefficients(a_coeffs.to(x.device), b_coeffs.to(x.device))
    if a_coeffs.dim() == 1:
        return filter_waveform(waveform, a, b, clamp)
    if batching:
        if x.dim() < 2 or x.shape[-2] != a.shape[0]:
            raise InvalidParameterError(
                "dsp:lfilter",
                [f"waveform: with batching, dim -2 must equal num_filters ({a.shape[0]}); got {list(x.shape)}"],
            )
        rows = x.reshape(_count(x.shape[:-2]), a.shape[0], x.shape[-1]).transpose(0, 1)
        out = filter_rows(rows, a, b).transpose(0, 1).reshape(x.shape)
    else:
        rows = x.reshape(1, _count(x.shape[:-1]), x.shape[-1]).expand(a.shape[0], -1, -1)
        shape = list(x.shape[:-1])
        shape.extend([a.shape[0], x.shape[-1]])
        out = filter_rows(rows, a, b).transpose(0, 1).reshape(shape)
    if clamp:
        out = out.clamp(-1.0, 1.0)
    return as_dtype(out, waveform.dtype)


def filtfilt(
    waveform: torch.Tensor, a_coeffs: torch.Tensor, b_coeffs: torch.Tensor, clamp: bool = True
) -> torch.Tensor:
    """Zero-phase filtering, as ``torchaudio.functional.filtfilt``: ``lfilter`` forward, then backward in time.

    Both passes start from a zero state (no edge padding, unlike ``scipy.signal.filtfilt``'s default);
    ``clamp`` applies to the final output only. Coefficient shapes follow :func:`lfilter` with batching.

    Example:
        >>> import torch
        >>> x = torch.zeros(61, dtype=torch.float64)
        >>> x[30] = 1.0
        >>> y = filtfilt(x, torch.tensor([1.0, -0.5]), torch.tensor([0.5, 0.0]))
        >>> torch.allclose(y, y.flip(-1), atol=1e-8)
        True
    """
    forward = lfilter(waveform, a_coeffs, b_coeffs, clamp=False, batching=True)
    return lfilter(forward.flip(-1), a_coeffs, b_coeffs, clamp=clamp, batching=True).flip(-1)


def sosfilt(waveform: torch.Tensor, sos: torch.Tensor) -> torch.Tensor:
    """A cascade of second-order sections, as ``scipy.signal.sosfilt(sos, waveform)`` (zero initial state).

    ``sos`` is ``(n_sections, 6)``, each row ``[b0, b1, b2, a0, a1, a2]``; the output is not clamped.

    Example:
        >>> import torch
        >>> sos = torch.tensor([[1.0, 0.0, 0.0, 1.0, -0.5, 0.0], [2.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
        >>> sosfilt(torch.tensor([1.0, 0.0, 0.0]), sos).tolist()
        [2.0, 1.0, 0.5]
    """
    if sos.dim() != 2 or sos.shape[1] != 6 or sos.shape[0] == 0:
        raise InvalidParameterError("dsp:sosfilt", [f"sos: expected shape (n_sections, 6), got {list(sos.shape)}"])
    out = waveform
    for section in sos.unbind(0):
        out = lfilter(out, section[3:], section[:3], clamp=False)
    return out
