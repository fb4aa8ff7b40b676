"""SoX's compander: the envelope follower, the transfer function with soft knees, and ``compand`` itself.

The envelope is SoX's "leaky pump": ``v[n] = v[n-1] + (s[n] - v[n-1]) * (attack if s[n] > v[n-1] else
decay)``, ``s`` the rectified input. Which coefficient applies depends on the state, so the recursion is
not linear; :func:`follow_envelope` solves it without a loop over samples by iterating on the choices:
guess them, solve the linear recursion they make (:func:`first_order_recursion`, a parallel scan),
compare each input with the resulting envelope, repeat until no choice changes. A consistent
set of choices is the sequential solution (by induction along the signal), and wrong choices only move
later samples, so a few passes settle; the signal is taken in chunks to bound the worst case.

The transfer function maps the envelope's level to a gain: straight lines between the given points in
dB, their corners rounded by parabolas ``soft_knee_db`` wide, as SoX builds it.

Example:
    >>> import torch
    >>> v = follow_envelope(torch.tensor([[0.0, 1.0, 1.0, 0.0]], dtype=torch.float64), 0.5, 0.25, 0.0)
    >>> v.tolist()
    [[0.0, 0.5, 0.75, 0.5625]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch._higher_order_ops.scan import scan_op

from tympan.core.tracing import traced
from tympan.plugins.dsp.building_blocks import LONGEST, block_count
from tympan.plugins.sox.functional._fixed_point import fixed_point
from tympan.plugins.sox.functional._layout import joined

__all__ = [
    "TransferFunction",
    "band_compand",
    "compand",
    "first_order_recursion",
    "follow_envelope",
    "rate_coefficient",
]

#: Samples solved per chunk of :func:`follow_envelope` (the worst case is one pass per sample of a chunk).
CHUNK = 16384


def rate_coefficient(seconds: float, sample_rate: float) -> float:
    """SoX's per-sample smoothing coefficient for an attack or decay time: ``1 - exp(-1 / (rate * t))``, 1
    for times under a sample.

    Example:
        >>> round(rate_coefficient(0.01, 8000), 5), rate_coefficient(0.0, 8000)
        (0.01242, 1.0)
    """
    if seconds > 1.0 / sample_rate:
        return 1.0 - math.exp(-1.0 / (sample_rate * seconds))
    return 1.0


def first_order_recursion(factor: torch.Tensor, drive: torch.Tensor, start: torch.Tensor) -> torch.Tensor:
    """Solve ``v[n] = factor[n] v[n-1] + drive[n]`` along the last dimension from ``v[-1] = start``
    (``(...)``), by a parallel prefix scan: the steps ``v -> a v + b`` compose as ``(a2 a1, a2 b1 + b2)``,
    so ``log2(time)`` passes of elementwise products combine each step with all earlier ones. With
    ``factor`` in ``[0, 1]`` only shrinking products appear: stable at any length.

    Example:
        >>> first_order_recursion(torch.full((1, 3), 0.5), torch.ones(1, 3), torch.tensor([2.0])).tolist()
        [[2.0, 2.0, 2.0]]
    """
    a = factor
    b = torch.cat([drive[..., :1] + factor[..., :1] * start[..., None], drive[..., 1:]], -1)
    length = b.shape[-1]
    # Each pass combines a step with the one ``step`` earlier; the first ``step`` steps stay as they are.
    # Traced, the passes cover the longest signal, so one program serves every length: the earlier steps are
    # then the identity (a = 1, b = 0), shifted in, which gives the same numbers (a pass whose step reaches
    # the length changes nothing); run eagerly, only the later steps are computed.
    if traced():
        for step in (1 << k for k in range(_PASSES)):
            b = a * _delayed(b, step, 0.0) + b
            a = a * _delayed(a, step, 1.0)
        return b
    for step in (1 << k for k in range(max(length - 1, 0).bit_length())):
        a_tail, b_tail = a[..., step:], b[..., step:]
        b = torch.cat([b[..., :step], a_tail * b[..., :-step] + b_tail], -1)
        a = torch.cat([a[..., :step], a_tail * a[..., :-step]], -1)
    return b


#: Doubling passes of a traced :func:`first_order_recursion`: enough for :data:`LONGEST` steps.
_PASSES = (LONGEST - 1).bit_length()


def _delayed(x: torch.Tensor, step: int, fill: float) -> torch.Tensor:
    """``x`` delayed by ``step`` along the last dimension, ``fill`` shifted in, the length kept (a delay
    beyond the length pads only the length)."""
    length = x.shape[-1]
    return torch.nn.functional.pad(x, [torch.sym_min(step, length), 0], value=fill)[..., :length]


def follow_envelope(level: torch.Tensor, attack: float, decay: float, initial: float) -> torch.Tensor:
    """SoX's envelope of ``level`` (``(..., time)``, non-negative) with per-sample ``attack`` and ``decay``
    coefficients from ``initial`` (see the module docstring).

    Example:
        >>> [round(v, 12) for v in follow_envelope(torch.tensor([1.0, 0.0]), 1.0, 0.1, 0.0).tolist()]
        [1.0, 0.9]
    """
    level = level.double()
    length = level.shape[-1]
    if length == 0:
        return level.clone()
    state = torch.full(level.shape[:-1], float(initial), dtype=torch.float64, device=level.device)
    coefficients = torch.tensor([attack, decay], dtype=torch.float64, device=level.device)
    if not traced():  # chunk after chunk, the last one as long as what is left
        pieces = []
        for begin in range(0, length, CHUNK):
            chunk = level[..., begin : begin + CHUNK]
            rising = torch.zeros_like(chunk, dtype=torch.bool)
            envelope, _ = fixed_point(_envelope_pass, rising, chunk.shape[-1] + 1, chunk, state, coefficients)
            pieces.append(envelope)
            state = envelope[..., -1]
        return torch.cat(pieces, -1)
    count = block_count(length, CHUNK)  # a spare chunk: no dimension that follows the length is one
    # zeros after the end leave the envelope before it unchanged (the recursion is causal)
    chunks = torch.nn.functional.pad(level, [0, count * CHUNK - length]).unfold(-1, CHUNK, CHUNK)

    def next_chunk(state: torch.Tensor, chunk: torch.Tensor, coefficients: torch.Tensor) -> list[torch.Tensor]:
        rising = torch.zeros_like(chunk, dtype=torch.bool)
        envelope, _ = fixed_point(_envelope_pass, rising, CHUNK + 1, chunk, state, coefficients)
        return [envelope[..., -1].clone(), envelope]

    # chunk after chunk, each starting from the last envelope of the one before
    _, envelopes = scan_op(next_chunk, [state], [chunks.movedim(-2, 0)], (coefficients,))
    return joined(envelopes.movedim(0, -2), length)


def _envelope_pass(
    rising: torch.Tensor, chunk: torch.Tensor, start: torch.Tensor, coefficients: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """One pass of :func:`follow_envelope` on a chunk: the envelope the ``rising`` choices make (attack
    where true, else decay) from ``start``, and the choices it implies."""
    attack, decay = coefficients[0].expand_as(chunk), coefficients[1].expand_as(chunk)
    coefficient = torch.where(rising, attack, decay)
    envelope = first_order_recursion(1 - coefficient, coefficient * chunk, start)
    previous = torch.cat([start[..., None], envelope[..., :-1]], -1)
    return envelope, chunk > previous


@dataclass(frozen=True)
class TransferFunction:
    """SoX's compander transfer function: ``x``, ``y`` (natural log of input level and of gain) and the
    quadratic coefficients ``a``, ``b`` of each segment, in SoX's order (lines and rounded corners
    alternate); build with :meth:`parse`.

    Example:
        >>> t = TransferFunction.parse("6:-70,-60,-20", 0.0)  # -70 -> -70, -60 -> -20, 0 -> 0 dB
        >>> level = torch.tensor(10.0 ** (-40 / 20))
        >>> round(float(20 * torch.log10(level * t.gain(level))), 2)  # on the line from (-60, -20) to 0 dB
        -13.33
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    terminator: int

    @classmethod
    def parse(cls, points: str, gain_db: float) -> TransferFunction:
        """``[soft-knee-dB:]in-dB1[,out-dB1]{,in-dB2,out-dB2}`` and a gain, as SoX reads them (``-inf`` is
        the lowest level SoX holds). Raises ``ValueError`` on bad text or out-of-order points.

        Example:
            >>> TransferFunction.parse("-inf,-inf,-30,-30", 0.0).terminator > 0
            True
        """
        knee_text, _, values_text = points.rpartition(":")
        knee = max(_transfer_value(knee_text, allow_positive=True) if knee_text else 0.0, 0.01)
        texts = values_text.split(",")
        pairs = len(texts) % 2 == 0
        parsed: list[list[float]] = []
        index = 0
        while index < len(texts):
            x = _transfer_value(texts[index])
            if parsed and parsed[-1][0] > x:
                raise ValueError("transfer function input values must be strictly increasing")
            if parsed or pairs:
                if index + 1 >= len(texts):
                    raise ValueError("syntax error trying to read transfer function value")
                y = _transfer_value(texts[index + 1]) - x
                index += 2
            else:
                y = 0.0
                index += 1
            parsed.append([x, y])
        if not parsed or parsed[-1][0] != 0:
            parsed.append([0.0, 0.0])
        points_list = [[parsed[0][0] - 2 * knee, parsed[0][1]], *parsed]
        merged = _join_colinear(points_list)
        return cls._rounded(merged, knee, gain_db)

    @classmethod
    def _rounded(cls, points: list[list[float]], knee: float, gain_db: float) -> TransferFunction:
        scale = math.log(10) / 20
        size = 2 * len(points) + 2
        x, y, a, b = [0.0] * size, [0.0] * size, [0.0] * size, [0.0] * size
        for index, (px, py) in enumerate(points):
            x[2 * index], y[2 * index] = px * scale, (py + gain_db) * scale
        radius = knee * scale
        i = 4
        while i - 2 < size and x[i - 2] != 0:
            b[i - 4] = (y[i - 2] - y[i - 4]) / (x[i - 2] - x[i - 4])
            b[i - 2] = (y[i] - y[i - 2]) / (x[i] - x[i - 2])
            theta = math.atan2(y[i - 2] - y[i - 4], x[i - 2] - x[i - 4])
            reach = min(radius, math.hypot(x[i - 2] - x[i - 4], y[i - 2] - y[i - 4]))
            x[i - 3], y[i - 3] = x[i - 2] - reach * math.cos(theta), y[i - 2] - reach * math.sin(theta)
            theta = math.atan2(y[i] - y[i - 2], x[i] - x[i - 2])
            reach = min(radius, math.hypot(x[i] - x[i - 2], y[i] - y[i - 2]) / 2)
            end_x, end_y = x[i - 2] + reach * math.cos(theta), y[i - 2] + reach * math.sin(theta)
            centre_x = (x[i - 3] + x[i - 2] + end_x) / 3
            centre_y = (y[i - 3] + y[i - 2] + end_y) / 3
            x[i - 2], y[i - 2] = end_x, end_y
            in1, out1 = centre_x - x[i - 3], centre_y - y[i - 3]
            in2, out2 = x[i - 2] - x[i - 3], y[i - 2] - y[i - 3]
            a[i - 3] = (out2 / in2 - out1 / in1) / (in2 - in1)
            b[i - 3] = out1 / in1 - a[i - 3] * in1
            i += 2
        x[i - 3], y[i - 3] = 0.0, y[i - 2]
        return cls(tuple(x), tuple(y), tuple(a), tuple(b), i - 3)

    def gain(self, level: torch.Tensor) -> torch.Tensor:
        """The linear gain for the linear input ``level`` (the envelope), as SoX evaluates its segments.

        Example:
            >>> float(TransferFunction.parse("-60,-60", 6.0).gain(torch.tensor(0.5))) > 1.99
            True
        """
        x = torch.tensor(self.x, dtype=torch.float64, device=level.device)
        y = torch.tensor(self.y, dtype=torch.float64, device=level.device)
        a = torch.tensor(self.a, dtype=torch.float64, device=level.device)
        b = torch.tensor(self.b, dtype=torch.float64, device=level.device)
        minimum = math.exp(self.x[1])
        log_level = torch.log(level.double().clamp(min=1e-300))
        starts = x[2 : self.terminator + 1]
        segment = 1 + torch.searchsorted(starts.contiguous(), log_level.contiguous(), right=False)
        segment = segment.clamp(max=self.terminator)
        offset = log_level - x[segment]
        out = torch.exp(y[segment] + offset * (a[segment] * offset + b[segment]))
        return torch.where(level <= minimum, torch.full_like(out, math.exp(self.y[1])), out)


def _transfer_value(text: str, allow_positive: bool = False) -> float:
    text = text.strip()
    if text == "-inf":
        return -20 * math.log10(2.0**31)
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"syntax error trying to read transfer function value {text!r}") from None
    if value > 0 and not allow_positive:
        raise ValueError("transfer function values are relative to maximum volume so can't exceed 0dB")
    return value


def _join_colinear(points: list[list[float]]) -> list[list[float]]:
    """Drop the middle of any three successive points on one line (exactly, as SoX tests it)."""
    merged = [list(p) for p in points]
    index = 2
    while index < len(merged):
        (x0, y0), (x1, y1), (x2, y2) = merged[index - 2], merged[index - 1], merged[index]
        if (y1 - y0) * (x2 - x1) == (y2 - y1) * (x1 - x0):
            del merged[index - 1]
        else:
            index += 1
    return merged


def band_compand(
    band: torch.Tensor,
    attacks: list[float],
    decays: list[float],
    transfer: TransferFunction,
    initial: float,
    delay: int,
) -> torch.Tensor:
    """One band of SoX ``mcompand`` on ``(..., channels, time)``: as :func:`compand`, but the samples the
    look-ahead never reaches (the last ``delay`` interleaved ones) leave unscaled, and nothing is clipped.

    Example:
        >>> t = TransferFunction.parse("-70,-70,0,-10", 0.0)
        >>> band_compand(torch.full((1, 4), 0.5), [1.0], [1.0], t, 1.0, 1)[0, -1].item()
        0.5
    """
    x = band.double()
    channels, length = x.shape[-2], x.shape[-1]
    gains = _gains(x, attacks, decays, transfer, initial)
    flat_samples = x.transpose(-1, -2).flatten(-2)
    flat_gains = gains.transpose(-1, -2).flatten(-2)
    shift = min(delay, flat_samples.shape[-1])
    applied = torch.cat([flat_gains[..., shift:], torch.ones_like(flat_gains[..., :shift])], -1)
    return (flat_samples * applied).unflatten(-1, (length, channels)).transpose(-1, -2)


def _gains(
    x: torch.Tensor, attacks: list[float], decays: list[float], transfer: TransferFunction, initial: float
) -> torch.Tensor:
    """The transfer function's gain along the envelope of each channel (or of the loudest, for one pair)."""
    rectified = x.abs()
    if len(attacks) == 1:
        envelope = follow_envelope(rectified.amax(-2), attacks[0], decays[0], initial).unsqueeze(-2)
        return transfer.gain(envelope.expand_as(x))
    channels = x.shape[-2]
    envelope = torch.stack(
        [follow_envelope(rectified[..., c, :], attacks[c], decays[c], initial) for c in range(channels)], -2
    )
    return transfer.gain(envelope)


def compand(
    waveform: torch.Tensor,
    attacks: list[float],
    decays: list[float],
    transfer: TransferFunction,
    initial: float,
    delay: int,
) -> torch.Tensor:
    """SoX ``compand`` on ``(..., channels, time)`` with per-sample ``attacks``/``decays`` (one pair: the
    channels share one envelope of their loudest; else one pair per channel), envelopes starting at
    ``initial`` and the gain applied ``delay`` interleaved samples late (SoX's look-ahead). Clipped.

    Example:
        >>> t = TransferFunction.parse("-70,-70,0,-10", 0.0)
        >>> compand(torch.full((1, 4), 0.5), [1.0], [1.0], t, 1.0, 0).shape
        torch.Size([1, 4])
    """
    x = waveform.double()
    channels, length = x.shape[-2], x.shape[-1]
    gains = _gains(x, attacks, decays, transfer, initial)
    if delay == 0:
        return (x * gains).clamp(-1.0, 1.0).to(waveform.dtype)
    flat_samples = x.transpose(-1, -2).flatten(-2)  # interleaved, as SoX buffers the delay
    flat_gains = gains.transpose(-1, -2).flatten(-2)
    total = flat_samples.shape[-1]
    shift = min(delay, total)
    final = gains[..., -1]  # each channel's last gain, for the samples SoX drains from its buffer
    tail = final.repeat([1] * (final.dim() - 1) + [-(-shift // channels)])[..., :shift]
    applied = torch.cat([flat_gains[..., shift:], tail], -1)
    out = (flat_samples * applied).clamp(-1.0, 1.0)
    return out.unflatten(-1, (length, channels)).transpose(-1, -2).to(waveform.dtype)
