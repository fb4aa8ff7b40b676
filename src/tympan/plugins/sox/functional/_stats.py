"""SoX's analysis effects: ``stats`` (levels, RMS, peaks, crest and flat factors, bit depth per channel) and
``stat`` (amplitudes, deltas, a rough frequency, over the interleaved samples), with SoX's text reports.

Samples are taken on SoX's 32-bit integer grid (``round(x * 2**31)``, clipped), where it measures them.

Example:
    >>> import torch
    >>> x = torch.tensor([[0.5, -0.25, 0.5, 0.0]])
    >>> stats(x, 8000)["overall"]["Max level"], round(stat(x, 8000)["Maximum amplitude"], 6)
    (0.5, 0.5)
"""

from __future__ import annotations

import math
from typing import Any

import torch

from tympan.plugins.dsp.building_blocks import linear_recurrence

__all__ = [
    "STAT_FIELDS",
    "STATS_FIELDS",
    "format_stat",
    "format_stats",
    "sigfigs3",
    "stat",
    "stat_numbers",
    "stats",
    "stats_numbers",
    "stats_values",
]

#: The numbers ``stats`` reports for each channel, in its order.
STATS_FIELDS = (
    "DC offset",
    "Min level",
    "Max level",
    "Pk lev dB",
    "RMS lev dB",
    "RMS Pk dB",
    "RMS Tr dB",
    "Crest factor",
    "Flat factor",
    "Pk count",
    "Bit-depth",
    "Num samples",
    "Length s",
)
#: The numbers ``stat`` reports, in its order.
STAT_FIELDS = (
    "Samples read",
    "Length (seconds)",
    "Scaled by",
    "Maximum amplitude",
    "Minimum amplitude",
    "Midline amplitude",
    "Mean    norm",
    "Mean    amplitude",
    "RMS     amplitude",
    "Maximum delta",
    "Minimum delta",
    "Mean    delta",
    "RMS     delta",
    "Rough   frequency",
    "Volume adjustment",
)


def _integers(waveform: torch.Tensor) -> torch.Tensor:
    return torch.round(waveform.double() * 2.0**31).clamp(-(2.0**31), 2.0**31 - 1)


def _decibels(value: float) -> float:
    return 20 * math.log10(value) if value > 0 else -math.inf


def _channel_numbers(waveform: torch.Tensor, rate: float, time_constant: float) -> dict[str, torch.Tensor]:
    """The sums of each channel of ``(..., channels, time)`` in SoX's units (samples on the integer grid, as
    fractions of full scale), each ``(..., channels)``; ``"samples"`` is the integer grid itself."""
    samples = _integers(waveform)
    d = samples / 2.0**31
    count = d.shape[-1]
    low, high = d.amin(-1), d.amax(-1)
    square = d.square()
    mult = math.exp(-1 / time_constant / rate)
    tc_samples = int(5 * time_constant * rate + 0.5)
    smoothed = linear_recurrence((1 - mult) * square, torch.tensor(mult, dtype=torch.float64))
    tracked = torch.arange(count, device=d.device) >= tc_samples
    mean_square = square.mean(-1)
    ones = torch.ones_like(mean_square)
    counts = ones * count
    # Past one window SoX tracks the smoothed power; at exactly one window it keeps its initial values; below,
    # it falls back to the mean.
    rms_peak = torch.where(
        counts > tc_samples,
        torch.where(tracked, smoothed, -math.inf).amax(-1),
        torch.where(counts == tc_samples, 0.0 * ones, mean_square),
    )
    rms_trough = torch.where(
        counts > tc_samples,
        torch.where(tracked, smoothed, math.inf).amin(-1),
        torch.where(counts == tc_samples, 2.0 * ones, mean_square),
    )
    at_low, at_high = d == low[..., None], d == high[..., None]
    return {
        "sum": d.sum(-1),
        "power": square.sum(-1),
        "Min level": low,
        "Max level": high,
        "rms_peak": rms_peak,
        "rms_trough": rms_trough,
        "Pk count": (at_low.sum(-1) + at_high.sum(-1)).double(),
        "runs": _runs_squared_sum(at_low) + _runs_squared_sum(at_high),
        "samples": samples,
    }


def stats_values(channel: dict[str, Any], rate: float) -> dict[str, Any]:
    """One channel's report from its raw sums (:func:`stats`' per-channel entries).

    Example:
        >>> values = stats(torch.tensor([[0.5, -0.5], [0.5, 0.0]]), 8000)["channels"][0]
        >>> values["Pk lev dB"] < -6.0, values["Crest factor"]
        (True, 1.0)
    """
    count = channel["count"]
    peak = max(-channel["Min level"], channel["Max level"])
    rms = math.sqrt(channel["power"] / count) if count else 0.0
    effective, depth = _bit_depth(channel["samples"], channel["Min level"], channel["Max level"])
    flat = channel["runs"] / channel["Pk count"] if channel["Pk count"] else 0.0
    return {
        "DC offset": channel["sum"] / count,
        "Min level": channel["Min level"],
        "Max level": channel["Max level"],
        "Pk lev dB": _decibels(peak),
        "RMS lev dB": _decibels(rms),
        "RMS Pk dB": _decibels(math.sqrt(channel["rms_peak"])),
        "RMS Tr dB": _decibels(math.sqrt(channel["rms_trough"])),
        "Crest factor": peak / rms if channel["power"] else 1.0,
        "Flat factor": _decibels(flat),
        "Pk count": channel["Pk count"],
        "Bit-depth": (effective, depth),
        "Num samples": count,
        "Length s": count / rate,
    }


def stats(waveform: torch.Tensor, sample_rate: float, time_constant: float = 0.05) -> dict[str, Any]:
    """SoX ``stats`` of one recording ``(channels, time)``: ``{"overall": {...}, "channels": [{...}, ...]}``
    with the fields of :data:`STATS_FIELDS`; ``time_constant`` is the RMS window (``-w``).

    Example:
        >>> sorted(stats(torch.zeros(2, 100), 8000)["overall"])[:3]
        ['Bit-depth', 'Crest factor', 'DC offset']
    """
    numbers = _channel_numbers(waveform.reshape(-1, waveform.shape[-1]), sample_rate, time_constant)
    count = waveform.shape[-1]
    raw = [
        {
            **{key: float(values[row]) for key, values in numbers.items() if key != "samples"},
            "count": count,
            "Pk count": int(numbers["Pk count"][row]),
            "samples": numbers["samples"][row],
        }
        for row in range(numbers["sum"].shape[0])
    ]
    channels = [stats_values(channel, sample_rate) for channel in raw]
    count = sum(channel["count"] for channel in raw)
    first = raw[0]
    peak_average = sum(max(-c["Min level"], c["Max level"]) for c in raw) / len(raw)
    power = sum(c["power"] for c in raw)
    samples = torch.cat([c["samples"] for c in raw])
    low = min(c["Min level"] for c in raw)
    high = max(c["Max level"] for c in raw)
    effective, depth = _bit_depth(samples, low, high)
    loudest_sum = max((c["sum"] for c in raw), key=abs)
    peak_count = sum(c["Pk count"] for c in raw)
    runs = sum(c["runs"] for c in raw)
    overall = {
        "DC offset": loudest_sum / first["count"],
        "Min level": low,
        "Max level": high,
        "Pk lev dB": _decibels(max(-low, high)),
        "RMS lev dB": _decibels(math.sqrt(power / count)),
        "RMS Pk dB": _decibels(math.sqrt(max(c["rms_peak"] for c in raw))),
        "RMS Tr dB": _decibels(math.sqrt(min(c["rms_trough"] for c in raw))),
        "Crest factor": (peak_average / math.sqrt(power / count) if power else 1.0) if len(raw) == 1 else None,
        "Flat factor": _decibels(runs / peak_count if peak_count else 0.0),
        "Pk count": peak_count / len(raw),
        "Bit-depth": (effective, depth),
        "Num samples": first["count"],
        "Length s": first["count"] / sample_rate,
    }
    return {"overall": overall, "channels": channels if len(raw) > 1 else []}


def _amplitude(value: torch.Tensor) -> torch.Tensor:
    """A level through SoX's decibels and back, as the module reports it (0 for silence)."""
    return torch.pow(10.0, 20 * torch.log10(value) / 20.0)


def _runs_squared_sum(flags: torch.Tensor) -> torch.Tensor:
    """The sums of the squared lengths of the runs of true values along the last dimension: a run of ``L``
    adds ``1 + 3 + ... + (2L - 1)``, each sample twice its place in its run less one."""
    index = torch.arange(flags.shape[-1], device=flags.device)
    start = torch.cummax(torch.where(flags, -1, index), -1).values
    return torch.where(flags, 2 * (index - start) - 1, 0).sum(-1).double()


def _bit_depths(samples: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_bit_depth` of each recording ``(..., n)`` as tensor operations."""
    values = samples.to(torch.int64) & 0xFFFFFFFF
    lowest_bits = torch.where(values != 0, values & -values, 1 << 32).amin(-1)
    depth = 32 - torch.log2(lowest_bits.double()).round().to(torch.int64)
    peak = -torch.maximum(low.abs(), high.abs())
    word = (torch.round(peak * 2.0**31).clamp(-(2.0**31), 2.0**31 - 1).to(torch.int64) << 1) & 0xFFFFFFFF
    bits = (word[..., None] >> torch.arange(31, -1, -1, device=word.device)) & 1
    leading_ones = torch.cumprod(bits, -1).sum(-1)
    return depth - torch.minimum(depth, leading_ones), depth


def _bit_depth(samples: torch.Tensor, low: float, high: float) -> tuple[int, int]:
    """SoX's ``Bit-depth`` of one set of samples: bits in use below the peak, and bits from the lowest one used."""
    effective, depth = _bit_depths(
        samples, torch.tensor(low, dtype=torch.float64), torch.tensor(high, dtype=torch.float64)
    )
    return int(effective), int(depth)


def stats_numbers(waveform: torch.Tensor, sample_rate: float, time_constant: float = 0.05) -> torch.Tensor:
    """SoX ``stats``' overall numbers of each recording ``(..., channels, time)`` as tensor operations,
    ``(..., 14)``: :data:`STATS_FIELDS` in order, ``Bit-depth`` as two numbers, the decibel fields and the flat
    factor as amplitudes (``10 ** (dB / 20)``, 0 for silence) and the crest factor of several channels as the
    peak over the RMS of them all.

    Example:
        >>> stats_numbers(torch.tensor([[[0.5, -0.5]], [[0.25, 0.0]]]), 8000)[:, 1].tolist()  # minimum level
        [-0.5, 0.0]
    """
    channels, count = waveform.shape[-2], waveform.shape[-1]
    numbers = _channel_numbers(waveform, sample_rate, time_constant)
    samples, low_c, high_c = numbers["samples"], numbers["Min level"], numbers["Max level"]
    rms_peak_c, rms_trough_c = numbers["rms_peak"], numbers["rms_trough"]
    peak_count, runs = numbers["Pk count"].sum(-1), numbers["runs"].sum(-1)
    power, sums = numbers["power"].sum(-1), numbers["sum"]
    loudest = sums.gather(-1, sums.abs().argmax(-1, keepdim=True)).squeeze(-1)
    low, high = low_c.amin(-1), high_c.amax(-1)
    rms = _amplitude(torch.sqrt(power / (channels * count)))
    if channels == 1:
        peak_average = torch.maximum(-low_c, high_c).sum(-1) / channels
        crest = torch.where(power != 0, peak_average / torch.sqrt(power / count), 1.0)
    else:
        crest = torch.where(rms > 0, torch.maximum(-low, high) / rms, 1.0)
    flat = torch.where(peak_count != 0, runs / peak_count, 0.0)
    effective, depth = _bit_depths(samples.flatten(-2), low, high)
    overall = torch.ones_like(power)
    columns = [
        loudest / count,
        low,
        high,
        _amplitude(torch.maximum(-low, high)),
        rms,
        _amplitude(torch.sqrt(rms_peak_c.amax(-1))),
        _amplitude(torch.sqrt(rms_trough_c.amin(-1))),
        crest,
        _amplitude(flat),
        peak_count / channels,
        effective.double(),
        depth.double(),
        overall * count,
        overall * (count / sample_rate),
    ]
    return torch.stack(columns, -1)


def sigfigs3(number: float) -> str:
    """A count in three significant figures with SoX's k/M/G suffixes (``8.00k``, ``2``, ``1.50M``).

    Example:
        >>> sigfigs3(8000), sigfigs3(2), sigfigs3(1500000), sigfigs3(2.5)
        ('8.00k', '2', '1.50M', '2.50')
    """
    text = f"{number:#.3g}"
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    if not exponent:
        if fraction.strip("0"):
            return text
        a, c = int(whole), 2
    else:
        a, c = int(whole) * 100 + int(fraction or 0), int(exponent)
    if c >= 3 * 9 - 3:
        return text
    symbol = " kMGTPEZY"[c // 3].strip()
    if c % 3 == 0:
        return f"{a // 100}.{a % 100:02d}{symbol}"
    if c % 3 == 1:
        return f"{a // 10}.{a % 10}{symbol}"
    return f"{a}{symbol}"


def format_stats(result: dict[str, Any], time_constant: float = 0.05) -> str:
    """``stats``' report as the sox program prints it (one column per channel after the overall one).

    Example:
        >>> print(format_stats(stats(torch.zeros(1, 100), 8000)).splitlines()[0])
        DC offset   0.000000
    """
    rows = [result["overall"], *result["channels"]]
    channels = rows[1:]
    lines = []
    if len(channels) == 2:
        lines.append("             Overall     Left      Right")
    elif channels:
        lines.append("             Overall" + "".join(f"     Ch{i + 1:<3d}" for i in range(len(channels))))

    def level(value: float) -> str:
        return f" {value:9.6f}"

    def decibels(value: float) -> str:
        return f"{value:10.2f}"

    lines.append("DC offset " + "".join(level(r["DC offset"]) for r in rows))
    lines.append("Min level " + "".join(level(r["Min level"]) for r in rows))
    lines.append("Max level " + "".join(level(r["Max level"]) for r in rows))
    lines.append("Pk lev dB " + "".join(decibels(r["Pk lev dB"]) for r in rows))
    lines.append("RMS lev dB" + "".join(decibels(r["RMS lev dB"]) for r in rows))
    lines.append("RMS Pk dB " + "".join(decibels(r["RMS Pk dB"]) for r in rows))
    lines.append("RMS Tr dB " + "".join(decibels(r["RMS Tr dB"]) for r in rows))
    crest = "Crest factor       -" if channels else f"Crest factor {rows[0]['Crest factor']:7.2f}"
    lines.append(crest + "".join(decibels(r["Crest factor"]) for r in channels))
    lines.append(f"Flat factor{rows[0]['Flat factor']:9.2f}" + "".join(f" {r['Flat factor']:9.2f}" for r in channels))
    lines.append(
        f"Pk count   {sigfigs3(rows[0]['Pk count']):>9}" + "".join(f" {sigfigs3(r['Pk count']):>9}" for r in channels)
    )
    bits = [r["Bit-depth"] for r in rows]
    lines.append(
        f"Bit-depth      {bits[0][0]:2d}/{bits[0][1]:<2d}" + "".join(f"     {b[0]:2d}/{b[1]:<2d}" for b in bits[1:])
    )
    overall = result["overall"]
    lines.append(f"Num samples{sigfigs3(overall['Num samples']):>9}")
    lines.append(f"Length s   {overall['Length s']:9.3f}")
    lines.append("Scale max " + level(1.0))
    lines.append(f"Window s   {time_constant:9.3f}")
    return "\n".join(lines) + "\n"


def stat_numbers(
    waveform: torch.Tensor, sample_rate: float, scale: float | None = None, rms: bool = False
) -> torch.Tensor:
    """SoX ``stat`` of each recording ``(..., channels, time)`` as tensor operations: the fields of
    :data:`STAT_FIELDS` ``(..., 15)`` in float64, those the sox program leaves out as NaN (the volume
    adjustment of silence, the deltas of one sample).

    Example:
        >>> stat_numbers(torch.tensor([[[0.5, -0.5]], [[0.25, 0.0]]]), 8000)[:, 3].tolist()  # maximum amplitude
        [0.5000000002328306, 0.2500000001164153]
    """
    channels = waveform.shape[-2]
    samples = _integers(waveform.transpose(-1, -2).flatten(-2))  # interleaved
    full = 2.0**31 - 1
    divisor = full if scale is None else scale
    d = samples / divisor
    count = d.shape[-1]
    deltas = torch.diff(d, prepend=d[..., :1]).abs()
    if count == 0:
        d = deltas = torch.zeros_like(d[..., :1])
    high, low = d.amax(-1), d.amin(-1)
    norm, mean, power = d.abs().sum(-1), d.sum(-1), d.square().sum(-1)
    delta_max, delta_sum, delta_power = deltas.amax(-1), deltas.sum(-1), deltas.square().sum(-1)
    scaled = torch.full_like(power, divisor)
    middle = low / 2 + high / 2
    if rms:  # silence stays unscaled
        level = torch.where(power > 0, torch.sqrt(power / count), torch.ones_like(power))
        high, low, middle = high / level, low / level, middle / level
        norm, mean, power = norm / level, mean / level, power / level.square()
        delta_max, delta_sum, delta_power = delta_max / level, delta_sum / level, delta_power / level.square()
        scaled = scaled * level
    ones = torch.ones_like(power)
    rough = torch.trunc(torch.sqrt(delta_power / power) * sample_rate / (2 * math.pi))
    peak = torch.maximum(-low, high)
    columns = [
        ones * count,
        ones * (count / sample_rate / channels),
        scaled,
        high,
        low,
        middle,
        norm / count,
        mean / count,
        torch.sqrt(power / count),
        delta_max,
        ones * 0.0,  # SoX's running minimum starts at 0
        delta_sum / (count - 1),
        torch.sqrt(delta_power / (count - 1)),
        torch.where(power > 0, rough, ones * 0.0),
        torch.where(peak > 0, ones * full / (peak * scaled), ones * math.nan),
    ]
    numbers = torch.stack(columns, -1)
    if count <= 1:
        numbers[..., 11:13] = math.nan
    return numbers


def stat(waveform: torch.Tensor, sample_rate: float, scale: float | None = None, rms: bool = False) -> dict[str, Any]:
    """SoX ``stat`` of one recording ``(channels, time)``, over its interleaved samples: the fields of
    :data:`STAT_FIELDS` (``scale`` SoX's ``-s``, ``rms`` its ``-rms``).

    Example:
        >>> round(stat(torch.tensor([[0.5, -0.5]]), 8000)["RMS     amplitude"], 6)
        0.5
    """
    recording = waveform.reshape(-1, waveform.shape[-1]) if waveform.dim() > 1 else waveform[None]
    numbers = dict(zip(STAT_FIELDS, stat_numbers(recording, sample_rate, scale, rms).tolist(), strict=True))
    result: dict[str, Any] = {}
    for field, value in numbers.items():
        result[field] = value
        # SoX's order: the level follows the amplitudes. It is what "Scaled by" was multiplied by, and the
        # scaled RMS amplitude is 1 where it applied (0 for silence, which stays unscaled).
        if field == "Midline amplitude" and rms and numbers["RMS     amplitude"] > 0:
            result["Scaled by rms"] = numbers["Scaled by"] / (2.0**31 - 1 if scale is None else scale)
    result["Samples read"] = int(result["Samples read"])
    result["Rough   frequency"] = int(result["Rough   frequency"])
    if math.isnan(result["Volume adjustment"]):
        result["Volume adjustment"] = None
    samples = _integers(recording.transpose(0, 1).reshape(-1))
    quarters = torch.bincount((samples.to(torch.int64) >> 30) + 2, minlength=4).tolist()
    result["guess"] = _encoding_guess(quarters)
    return result


def _encoding_guess(quarters: list[int]) -> str | None:
    """SoX's hint from how the samples spread over the four quarters of the range (for raw files read
    with the wrong encoding); None when they look like audio."""
    if quarters[2] == 0 and quarters[3] == 0:
        return "Probably text, not sound"
    ratio = float(torch.tensor((quarters[0] + quarters[3]) / max(quarters[1] + quarters[2], 1), dtype=torch.float32))
    if ratio >= 3.0:
        return "Try: -t raw -e unsigned-integer -b 8 "
    if ratio <= 1.0 / 3.0:
        return None
    if 0.5 <= ratio <= 2.0:
        return "Try: -t raw -e mu-law -b 8 "
    return "Can't guess the type"


def format_stat(result: dict[str, Any]) -> str:
    """``stat``'s report as the sox program prints it.

    Example:
        >>> print(format_stat(stat(torch.tensor([[0.5, -0.5]]), 8000)).splitlines()[0])
        Samples read:                 2
    """
    lines = [
        f"Samples read:      {result['Samples read']:12d}",
        f"Length (seconds):  {result['Length (seconds)']:12.6f}",
    ]
    if "Scaled by rms" in result:
        lines.append(f"Scaled by rms:     {result['Scaled by rms']:12.6f}")
    else:
        lines.append(f"Scaled by:         {result['Scaled by']:12.1f}")
    for field in STAT_FIELDS[3:13]:
        lines.append(f"{field + ':':<19}{result[field]:12.6f}")
    lines.append(f"Rough   frequency: {result['Rough   frequency']:12d}")
    if result["Volume adjustment"] is not None:
        lines.append(f"Volume adjustment: {result['Volume adjustment']:12.3f}")
    if result.get("guess"):
        lines += ["", result["guess"]]
    return "\n".join(lines) + "\n"
