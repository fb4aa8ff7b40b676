"""The two resamplers of Kaldi's pitch tracker: the signal's, and the NCCF's onto log-spaced lags.

Both use Kaldi's windowed sinc ``h(t) = 2 f_c sinc(2 f_c t) * hann(t)`` with ``num_zeros`` zero crossings
each side. :func:`linear_resample` is ``LinearResample`` on whole signals (zeros outside them), one strided
convolution per output phase; :func:`arbitrary_resample_matrix` is ``ArbitraryResample`` as a matrix that
maps uniformly sampled values to arbitrary sample points.

Example:
    >>> import torch
    >>> out = linear_resample(torch.ones(1, 1600), 16000, 4000, cutoff=1000.0, num_zeros=1)
    >>> out.shape, round(float(out[0, 200]), 3)
    (torch.Size([1, 400]), 0.815)
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["arbitrary_resample_matrix", "linear_resample", "num_resampled"]


def _filter(t: np.ndarray, cutoff: float, num_zeros: int) -> np.ndarray:
    """Kaldi's windowed sinc at offsets ``t`` (seconds), in float64."""
    inside = np.abs(t) < num_zeros / (2.0 * cutoff)
    window = np.where(inside, 0.5 * (1.0 + np.cos(2.0 * math.pi * cutoff / num_zeros * t)), 0.0)
    safe = np.where(t == 0, 1.0, t)
    sinc = np.where(t == 0, 2.0 * cutoff, np.sin(2.0 * math.pi * cutoff * safe) / (math.pi * safe))
    return sinc * window


def num_resampled(num_samples: int, rate_in: int, rate_out: int, cutoff: float, num_zeros: int, flush: bool) -> int:
    """Output samples ``LinearResample`` gives for ``num_samples`` inputs (``flush``: the input has ended).

    Without ``flush`` the outputs whose filter reaches past the input are held back.

    Example:
        >>> num_resampled(16000, 16000, 4000, 1000.0, 1, True), num_resampled(16000, 16000, 4000, 1000.0, 1, False)
        (4000, 3998)
    """
    tick_freq = rate_in * rate_out // math.gcd(rate_in, rate_out)
    ticks = num_samples * (tick_freq // rate_in)
    if not flush:
        ticks -= math.floor(float(np.float32(num_zeros / (2.0 * cutoff))) * tick_freq)
    per_output = tick_freq // rate_out
    return max((ticks + per_output - 1) // per_output, 0)  # the outputs before tick ``ticks``, as a formula


def linear_resample(
    waveform: torch.Tensor, rate_in: int, rate_out: int, cutoff: float, num_zeros: int, num_outputs: int | None = None
) -> torch.Tensor:
    """Kaldi's ``LinearResample`` of ``(batch, time)`` signals, flushed: ``(batch, num_outputs)``.

    Output ``k`` (at time ``k / rate_out``) is the filtered sum of the inputs within the filter's support,
    samples outside the signal counting as zero. ``num_outputs`` defaults to the flushed count.
    """
    batch, time = waveform.shape
    if num_outputs is None:
        num_outputs = num_resampled(time, rate_in, rate_out, cutoff, num_zeros, flush=True)
    output = waveform.new_zeros((batch, num_outputs))
    if num_outputs == 0:
        return output
    base = math.gcd(rate_in, rate_out)
    in_unit, out_unit = rate_in // base, rate_out // base
    width = num_zeros / (2.0 * cutoff)
    for phase in range(min(out_unit, num_outputs)):
        t_out = phase / rate_out
        first = math.ceil((t_out - width) * rate_in)
        last = math.floor((t_out + width) * rate_in)
        taps = np.arange(first, last + 1)
        weights = _filter(taps / rate_in - t_out, cutoff, num_zeros) / rate_in
        count = (num_outputs - phase + out_unit - 1) // out_unit
        output[:, phase::out_unit] = _phase_outputs(
            waveform, first, torch.as_tensor(weights).to(waveform), in_unit, count
        )
    return output


def _phase_outputs(waveform: torch.Tensor, first: int, weights: torch.Tensor, in_unit: int, count: int) -> torch.Tensor:
    """``count`` outputs of one phase: output ``u`` is ``weights`` times the inputs from ``first + u * in_unit`` on.

    With the signal seen as rows of ``in_unit`` samples from ``first``, tap ``r * in_unit + c`` of output
    ``u`` is row ``u + r``, column ``c``: the outputs are a few matrix-vector products, one per ``r``, on
    strided views of the signal (no copy of it per tap or per output; a batch's rows are copied into one matrix).
    """
    time = waveform.shape[-1]
    rows = count + (len(weights) - 1) // in_unit
    left = max(-first, 0)
    # zeros on either side (a negative right pad cuts the end): the padded signal ends with the last row
    padded = torch.nn.functional.pad(waveform, [left, first + rows * in_unit - time])
    units = padded[:, first + left :].unfold(-1, in_unit, in_unit)
    total = _rows_times(units[:, :count, : min(in_unit, len(weights))], weights[:in_unit])
    for r in range(1, rows - count + 1):
        part = weights[r * in_unit : (r + 1) * in_unit]
        total += _rows_times(units[:, r : r + count, : len(part)], part)
    return total


def _rows_times(rows: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``rows`` ``(batch, count, taps)`` times ``weights``: one matrix-vector product over all the rows, so that
    each item's outputs are those of the same product on that item alone, whatever the batch."""
    batch, count, taps = rows.shape
    return (rows.reshape(batch * count, taps) @ weights).view(batch, count)


def arbitrary_resample_matrix(
    num_samples_in: int, rate_in: float, cutoff: float, sample_points: np.ndarray, num_zeros: int
) -> np.ndarray:
    """Kaldi's ``ArbitraryResample`` as a float64 ``(len(sample_points), num_samples_in)`` array.

    Row ``i`` interpolates values sampled at ``j / rate_in`` (``j < num_samples_in``) at time
    ``sample_points[i]``; the filter's support is cut to the available samples (float32 arithmetic for the
    index bounds, as Kaldi).

    Example:
        >>> m = arbitrary_resample_matrix(10, 4000.0, 2000.0, np.array([0.0005], dtype=np.float32), 5)
        >>> m.shape, round(float(m[0, 2]), 3)
        ((1, 10), 1.0)
    """
    points = np.asarray(sample_points, dtype=np.float32)
    width = np.float32(num_zeros / (2.0 * cutoff))
    rate = np.float32(rate_in)
    first = np.maximum(np.ceil(rate * (points - width)).astype(np.int64), 0)
    last = np.minimum(np.floor(rate * (points + width)).astype(np.int64), num_samples_in - 1)
    columns = np.arange(num_samples_in)
    inside = (columns >= first[:, None]) & (columns <= last[:, None])
    delta = (points[:, None] - (columns[None, :] / rate).astype(np.float32)).astype(np.float64)
    matrix: np.ndarray = np.where(inside, _filter(delta, float(cutoff), num_zeros) / float(rate), 0.0)
    return matrix
