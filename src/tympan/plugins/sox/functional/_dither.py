"""SoX's ``dither``: TPDF noise (optionally sloped, or noise-shaped by error feedback) added before the
signal is rounded to ``precision`` bits.

- plain TPDF: ``y = round(x + r1 + r2)`` on the grid of ``2**(1 - precision)``, ``r1, r2`` uniform over
  half a step each way;
- sloped TPDF (``-S``): ``r1 - r1_previous`` instead, noise rising with frequency;
- noise shaping (``-s``, ``-f``): the rounding errors are fed back through a filter designed for the rate
  (SoX's published coefficients), pushing the noise where the ear is least sensitive. Each output depends
  on the previous roundings, a non-linear recursion no tensor operation expresses, so this runs as a
  loop compiled with numba, on the CPU.

``auto`` (``-a``) dithers only where the signal has bits below the target precision (within the last 32
samples). Noise is counter-based (:func:`~tympan.plugins.dsp.building_blocks.counter_uniform`):
seeded, reproducible on every device and in an exported program, equal to SoX's in distribution and spectrum
(SoX draws from its own generator). Noise shaping runs outside torch and does not export.

Example:
    >>> import torch
    >>> y = dither(torch.zeros(1, 1000), 8, "tpdf", None, False, 0)
    >>> sorted(set((y * 128).round().tolist()[0])) == [-1.0, 0.0, 1.0]
    True
"""

from __future__ import annotations

import math

import torch

from tympan.core.compiled_loops import compiled_lazily
from tympan.plugins.dsp.building_blocks import counter_uniform

__all__ = ["SHAPING_FILTERS", "dither", "shaping_filter"]

#: Noise-shaping filters: name -> [(rate, "fir" | "iir", coefficients)], as SoX publishes them (an IIR
#: filter lists its numerator, then its denominator).
SHAPING_FILTERS: dict[str, list[tuple[int, str, tuple[float, ...]]]] = {
    "lipshitz": [(44100, "fir", (2.033, -2.165, 1.959, -1.590, 0.6149))],
    "f-weighted": [(46000, "fir", (2.412, -3.370, 3.937, -4.174, 3.353, -2.205, 1.281, -0.569, 0.0847))],
    "modified-e-weighted": [
        (46000, "fir", (1.662, -1.263, 0.4827, -0.2913, 0.1268, -0.1124, 0.03252, -0.01265, -0.03524))
    ],
    "improved-e-weighted": [(46000, "fir", (2.847, -4.685, 6.214, -7.184, 6.639, -5.032, 3.263, -1.632, 0.4191))],
    "gesemann": [
        (48000, "iir", (2.2374, -0.7339, -0.1251, -0.6033, 0.903, 0.0116, -0.5853, -0.2571)),
        (44100, "iir", (2.2061, -0.4706, -0.2534, -0.6214, 1.0587, 0.0676, -0.6054, -0.2738)),
    ],
    "shibata": [
        (48000, "fir", (
            2.8720729351043701172, -5.0413231849670410156, 6.2442994117736816406, -5.8483986854553222656,
            3.7067542076110839844, -1.0495119094848632812, -1.1830236911773681641, 2.1126792430877685547,
            -1.9094531536102294922, 0.99913084506988525391, -0.17090806365013122559, -0.32615602016448974609,
            0.39127644896507263184, -0.26876461505889892578, 0.097676105797290802002, -0.023473845794796943665,
        )),
        (44100, "fir", (
            2.6773197650909423828, -4.8308925628662109375, 6.570110321044921875, -7.4572014808654785156,
            6.7263274192810058594, -4.8481650352478027344, 2.0412089824676513672, 0.7006359100341796875,
            -2.9537565708160400391, 4.0800385475158691406, -4.1845216751098632812, 3.3311812877655029297,
            -2.1179926395416259766, 0.879302978515625, -0.031759146600961685181, -0.42382788658142089844,
            0.47882103919982910156, -0.35490813851356506348, 0.17496839165687561035, -0.060908168554306030273,
        )),
        (37800, "fir", (
            1.6335992813110351562, -2.2615492343902587891, 2.4077029228210449219, -2.6341717243194580078,
            2.1440362930297851562, -1.8153258562088012695, 1.0816224813461303711, -0.70302653312683105469,
            0.15991993248462677002, 0.041549518704414367676, -0.29416576027870178223, 0.2518316805362701416,
            -0.27766478061676025391, 0.15785403549671173096, -0.10165894031524658203, 0.016833892092108726501,
        )),
        (32000, "fir", (
            0.82118552923202515, -1.0063692331314087, 0.62341964244842529, -1.0447187423706055,
            0.64532512426376343, -0.87615132331848145, 0.52219754457473755, -0.67434263229370117,
            0.44954317808151245, -0.52557498216629028, 0.34567299485206604, -0.39618203043937683,
            0.26791760325431824, -0.28936097025871277, 0.1883765310049057, -0.19097308814525604,
            0.10431359708309174, -0.10633844882249832, 0.046832218766212463, -0.039653312414884567,
        )),
        (22050, "fir", (
            0.056581053882837296, -0.56956905126571655, -0.40727734565734863, -0.33870288729667664,
            -0.29810553789138794, -0.19039161503314972, -0.16510021686553955, -0.13468159735202789,
            -0.096633769571781158, -0.081049129366874695, -0.064953058958053589, -0.054459091275930405,
            -0.043378707021474838, -0.03660014271736145, -0.026256965473294258, -0.018786206841468811,
            -0.013387725688517094, -0.0090983230620622635, -0.0026585909072309732, -0.00042083300650119781,
        )),
        (16000, "fir", (
            -0.37251132726669312, -0.81423574686050415, -0.55010956525802612, -0.47405767440795898,
            -0.32624706625938416, -0.3161766529083252, -0.2286367267370224, -0.22916607558727264,
            -0.19565616548061371, -0.18160104751586914, -0.15423151850700378, -0.14104481041431427,
            -0.11844276636838913, -0.097583092749118805, -0.076493598520755768, -0.068106919527053833,
            -0.041881654411554337, -0.036922425031661987, -0.019364040344953537, -0.014994367957115173,
        )),
        (11025, "fir", (
            -0.9264228343963623, -0.98695987462997437, -0.631156325340271, -0.51966935396194458,
            -0.39738872647285461, -0.35679301619529724, -0.29720726609230042, -0.26310476660728455,
            -0.21719355881214142, -0.18561814725399017, -0.15404847264289856, -0.12687471508979797,
            -0.10339745879173279, -0.083688631653785706, -0.05875682458281517, -0.046893671154975891,
            -0.027950936928391457, -0.020740609616041183, -0.009366452693939209, -0.0060260160826146603,
        )),
        (8000, "fir", (
            -1.202863335609436, -0.94103097915649414, -0.67878556251525879, -0.57650017738342285,
            -0.50004476308822632, -0.44349345564842224, -0.37833768129348755, -0.34028723835945129,
            -0.29413089156150818, -0.24994957447052002, -0.21715600788593292, -0.18792112171649933,
            -0.15268312394618988, -0.12135542929172516, -0.099610626697540283, -0.075273610651493073,
            -0.048787496984004974, -0.042586319148540497, -0.028991291299462318, -0.011869125068187714,
        )),
    ],
    "low-shibata": [
        (48000, "fir", (
            2.3925774097442626953, -3.4350297451019287109, 3.1853709220886230469, -1.8117271661758422852,
            -0.20124770700931549072, 1.4759907722473144531, -1.7210904359817504883, 0.97746700048446655273,
            -0.13790138065814971924, -0.38185903429985046387, 0.27421241998672485352, 0.066584214568138122559,
            -0.35223302245140075684, 0.37672343850135803223, -0.23964276909828186035, 0.068674825131893157959,
        )),
        (44100, "fir", (
            2.0833916664123535156, -3.0418450832366943359, 3.2047898769378662109, -2.7571926116943359375,
            1.4978630542755126953, -0.3427594602108001709, -0.71733748912811279297, 1.0737057924270629883,
            -1.0225815773010253906, 0.56649994850158691406, -0.20968692004680633545, -0.065378531813621520996,
            0.10322438180446624756, -0.067442022264003753662, -0.00495197344571352005,
        )),
    ],
    "high-shibata": [
        (44100, "fir", (
            3.0259189605712890625, -6.0268716812133789062, 9.195003509521484375, -11.824929237365722656,
            12.767142295837402344, -11.917946815490722656, 9.1739168167114257812, -5.3712320327758789062,
            1.1393624544143676758, 2.4484779834747314453, -4.9719839096069335938, 6.0392003059387207031,
            -5.9359521865844726562, 4.903278350830078125, -3.5527443885803222656, 2.1909697055816650391,
            -1.1672389507293701172, 0.4903914332389831543, -0.16519790887832641602, 0.023217858746647834778,
        )),
    ],
}  # fmt: skip


def shaping_filter(name: str, rate: float) -> tuple[str, tuple[float, ...]] | None:
    """The ``(kind, coefficients)`` of filter ``name`` designed for a rate within 5 % of ``rate``, or None.

    Example:
        >>> shaping_filter("lipshitz", 44100)[0], shaping_filter("lipshitz", 8000)
        ('fir', None)
    """
    for design_rate, kind, coefficients in SHAPING_FILTERS[name]:
        if abs(rate - design_rate) / design_rate <= 0.05:
            return kind, coefficients
    return None


def _needs_dither(x: torch.Tensor, precision: int) -> torch.Tensor:
    """SoX's ``-a``: samples whose last 32 samples (itself included) hold bits below the target precision."""
    step = 2.0 ** (1 - precision)
    fine = (torch.remainder(x.double() * (2.0**31), step * (2.0**31)) != 0).to(torch.int64)
    counts = torch.cumsum(fine, -1)
    window = counts - torch.nn.functional.pad(counts, [32, 0])[..., : counts.shape[-1]]
    return window > 0


def _shaped(values: object, noise: object, kind: str, coefficients: tuple[float, ...]) -> object:
    """The error-feedback quantiser over each row (numpy, in LSB units), compiled on first use."""
    import numpy as np

    taps = np.asarray(coefficients, dtype=np.float64)
    return _shape_kernel()(values, noise, taps, kind == "iir")


def _shape_rows(values, noise, taps, iir):  # type: ignore[no-untyped-def]  # pragma: no cover - compiled
    rows, length = values.shape
    order = taps.shape[0] // 2 if iir else taps.shape[0]
    out = values.copy()
    for row in range(rows):
        errors = [0.0] * order
        outputs = [0.0] * order
        for n in range(length):
            if iir:
                feedback = 0.0
                for j in range(order):
                    feedback += taps[j] * errors[j] - taps[order + j] * outputs[j]
                target = values[row, n] - feedback
            else:
                target = values[row, n]
                for j in range(order):
                    target -= taps[j] * errors[j]
            noisy = target + noise[row, n]
            rounded = math.floor(noisy + 0.5) if noisy >= 0 else math.ceil(noisy - 0.5)
            for j in range(order - 1, 0, -1):
                errors[j] = errors[j - 1]
                if iir:
                    outputs[j] = outputs[j - 1]
            errors[0] = rounded - target
            if iir:
                outputs[0] = feedback
            out[row, n] = rounded
    return out


def dither(
    waveform: torch.Tensor,
    precision: int,
    mode: str,
    shaping: tuple[str, tuple[float, ...]] | None,
    auto: bool,
    seed: int,
) -> torch.Tensor:
    """Dither ``(..., time)`` to ``precision`` bits: ``mode`` ``"tpdf"`` or ``"sloped"``, ``shaping`` a
    noise-shaping filter from :func:`shaping_filter` (or None), ``auto`` for SoX's ``-a``; ``seed`` picks
    the noise.

    Example:
        >>> import torch
        >>> dither(torch.full((1, 6), 0.25), 4, "tpdf", None, False, 0).tolist()
        [[0.25, 0.125, 0.125, 0.375, 0.125, 0.25]]
    """
    scale = 2.0 ** (precision - 1)  # steps per unit amplitude
    x = waveform.double() * scale
    shape = x.shape
    # one noise row per channel, the same for every item of a batch
    channels = shape[-2] if len(shape) > 1 else 1
    rows = x.reshape(-1, channels, shape[-1])
    index = torch.arange(shape[-1], device=x.device)
    channel = torch.arange(channels, device=x.device)[:, None]
    first = counter_uniform(seed, 2 * channel, index, x.device) - 0.5
    if mode == "sloped":
        previous = torch.nn.functional.pad(first[:, :-1], [1, 0])
        noise = first - previous
    else:
        noise = first + counter_uniform(seed, 2 * channel + 1, index, x.device) - 0.5
    if shaping is not None:
        flat, flat_noise = rows.reshape(-1, shape[-1]), noise.expand_as(rows).reshape(-1, shape[-1])
        shaped = _shaped(flat.cpu().numpy(), flat_noise.cpu().numpy(), *shaping)
        rounded = torch.from_numpy(shaped).to(x.device).reshape(rows.shape)  # type: ignore[arg-type]
    else:
        noisy = rows + noise
        rounded = torch.where(noisy < 0, torch.ceil(noisy - 0.5), torch.floor(noisy + 0.5))
    rounded = rounded.clamp(-scale, scale - 1)
    if auto:
        keep = ~_needs_dither(waveform.reshape(rows.shape), precision)
        rounded = torch.where(keep.to(x.device), rows, rounded)
    return (rounded / scale).reshape(shape).to(waveform.dtype)


_shape_kernel = compiled_lazily(_shape_rows)
