"""SoX's time scaling: ``tempo`` (WSOLA, which ``pitch`` also uses) and ``stretch`` (plain overlap-add).

**tempo** cuts the input into segments of ``segment`` samples taken every ``factor * (segment - overlap)``
input samples and lays them ``segment - overlap`` apart; each segment after the first starts at the offset,
within ``search`` samples, where its first ``overlap`` samples best match (least squares over every channel)
the last ``overlap`` samples of the previous segment, and the two are cross-faded linearly. The input is
preceded by ``search / 2`` zeros; the output holds ``round(time / factor)`` samples, as SoX's. The choice
of each offset depends on the previous one, so only what does not is batched: the spectra of every
segment's candidate region and the energies of all its candidates (running sums), a block of segments at
a time; each segment then costs one short FFT pair (its cross-correlation with the tail the previous
choice placed) and an argmin. ``quick`` searches SoX's coarse-to-fine grid instead of every offset. The
chosen segments are gathered and cross-faded in one step.

**stretch** overlap-adds frames of ``segment`` samples taken every ``input_shift`` samples and laid every
``output_shift`` samples, with linear fades of ``overlap`` samples, all at once.

Example:
    >>> import torch
    >>> x = torch.sin(torch.arange(16000) / 10.0)[None]
    >>> wsola(x, 1.25, 1312, 234, 208, quick=False).shape
    torch.Size([1, 12800])
"""

from __future__ import annotations

import math

import torch

__all__ = ["stretch", "tempo_geometry", "wsola"]

#: Segments whose candidates are transformed together (bounds the memory, whatever the length).
_BLOCK = 256


def tempo_geometry(
    sample_rate: float, factor: float, segment_ms: float, search_ms: float, overlap_ms: float
) -> tuple[int, int, int]:
    """``(segment, search, overlap)`` in samples, as SoX sizes them (the overlap a multiple of 8, at least
    16, at most half the segment); ``ValueError`` when the segment is not longer than the overlap (a very low
    sample rate), where SoX fails.

    Example:
        >>> tempo_geometry(16000, 1.25, 82.0, 14.68, 12.0)
        (1312, 235, 192)
    """
    segment = int(sample_rate * segment_ms / 1000 + 0.5)
    search = int(sample_rate * search_ms / 1000 + 0.5)
    overlap = int(max(sample_rate * overlap_ms / 1000 + 4.5, 16)) & ~7
    if overlap * 2 > segment:
        overlap -= 8
    if overlap >= segment:
        raise ValueError(
            f"sample_rate {sample_rate:g} Hz gives a {segment}-sample segment, not longer than its {overlap}-sample"
            " overlap: raise the sample rate or the segment length"
        )
    return segment, search, overlap


def _quick_choice(differences: list[float], search: int) -> int:
    """SoX's coarse-to-fine search over ``differences``: steps of 64, 16, 4 and 1 around the best so far."""
    best = previous = (search + 1) >> 1
    least = differences[best] if best < search else math.inf
    step = 64
    while step:
        for sign in (-1, 1):
            j = 1
            while j < 4 or step == 64:
                i = previous + sign * j * step
                if i < 0 or i >= search:
                    break
                if differences[i] < least:
                    least, best = differences[i], i
                j += 1
        previous = best
        step >>= 2
    return best


def _fft_size(width: int) -> int:
    """The least ``2**a * 3**b * 5**c`` at least ``width``: a transform size pocketfft does fast."""
    best = 1 << max(width - 1, 0).bit_length()
    threes = 1
    while threes < best:
        fives = threes
        while fives < best:
            size = fives << max(math.ceil(math.log2(width / fives)), 0)
            best = min(best, size)
            fives *= 5
        threes *= 3
    return best


def _search_offsets(
    padded: torch.Tensor, starts: list[int], hop: int, search: int, overlap: int, quick: bool
) -> list[int]:
    """Each segment's offset within ``search`` (the first's ``search // 2``): where its first ``overlap``
    samples best match the previous segment's last ``overlap``.

    Segments are taken :data:`_BLOCK` at a time: their candidate regions' spectra and the energies of every
    candidate (running sums) are computed at once; only the cross-correlation with the previous segment's
    tail, which the previous choice places, is left to each segment (one short FFT pair).
    """
    offsets = [search // 2]
    if search <= 1:  # no search: each segment where it falls
        return offsets + [0] * (len(starts) - 1)
    width = search + overlap - 1
    size = _fft_size(width)  # a circular correlation of this size does not wrap for offsets < search
    previous = starts[0] + offsets[0]
    for first in range(1, len(starts), _BLOCK):
        block = starts[first : first + _BLOCK]
        regions = padded.unfold(-1, width, 1)[:, block]  # (channels, segments, width)
        spectra = torch.fft.rfft(regions, n=size)
        running = torch.nn.functional.pad(regions.square().sum(0).cumsum(-1), [1, 0])
        energies = running[:, overlap : overlap + search] - running[:, :search]
        for row, start in enumerate(block):
            tail_start = previous + hop  # the previous segment's last overlap samples
            tail = torch.fft.rfft(padded[:, tail_start : tail_start + overlap], n=size)
            cross = torch.fft.irfft((spectra[:, row] * tail.conj()).sum(0), n=size)[:search]
            # sum over channels of |candidate - tail|^2, without the constant |tail|^2
            differences = energies[row] - 2 * cross
            offsets.append(_quick_choice(differences.tolist(), search) if quick else int(torch.argmin(differences)))
            previous = start + offsets[-1]
    return offsets


def wsola(waveform: torch.Tensor, factor: float, segment: int, search: int, overlap: int, quick: bool) -> torch.Tensor:
    """SoX ``tempo`` on ``(..., channels, time)`` (every leading index a channel of one recording): played
    ``factor`` times faster at the same pitch (see the module docstring).

    Example:
        >>> wsola(torch.zeros(1, 8000), 0.8, 656, 117, 96, quick=True).shape
        torch.Size([1, 10000])
    """
    x = waveform.double()
    shape = x.shape
    rows = x.reshape(-1, shape[-1])
    length = rows.shape[-1]
    out_length = int(length / factor + 0.5)
    hop = segment - overlap
    count = max(1, math.ceil(out_length / hop) + 1)
    starts = [int(factor * k * hop + 0.5) for k in range(count)]
    reach = starts[-1] + max(math.ceil(factor * hop) + overlap, segment) + search
    padded = torch.nn.functional.pad(rows, [search // 2, max(reach - length - search // 2, 0)])
    offsets = _search_offsets(padded, starts, hop, search, overlap, quick)
    # segment k fills output samples k * hop .. (k + 1) * hop, its first overlap cross-faded with the
    # previous segment's last overlap
    origins = torch.tensor([start + offset for start, offset in zip(starts, offsets, strict=True)])
    blocks = padded.unfold(-1, hop, 1)[:, origins]  # (channels, segments, hop)
    tails = padded.unfold(-1, overlap, 1)[:, origins[:-1] + hop]
    fade_in = torch.arange(overlap, dtype=torch.float64) * (1.0 / overlap)
    blocks[:, 1:, :overlap] = tails * (1 - fade_in) + blocks[:, 1:, :overlap] * fade_in
    out = blocks.reshape(rows.shape[0], -1)[:, :out_length]
    return out.clamp(-1.0, 1.0).reshape(*shape[:-1], out_length).to(waveform.dtype)


def stretch_geometry(
    sample_rate: float, factor: float, window_ms: float, shift: float, fading: float
) -> tuple[int, int, int, int]:
    """``(segment, input_shift, output_shift, overlap)`` in samples for SoX's ``stretch``.

    Example:
        >>> stretch_geometry(8000, 2.0, 20.0, 0.8, 0.2)
        (160, 64, 128, 32)
    """
    segment = int(sample_rate * 0.001 * window_ms)
    if factor < 1.0:
        input_shift = int(shift * segment)
        output_shift = int(factor * input_shift)
    else:
        output_shift = int(shift * segment)
        input_shift = int(output_shift / factor)
    return segment, input_shift, output_shift, int(fading * segment)


def stretch(waveform: torch.Tensor, segment: int, input_shift: int, output_shift: int, overlap: int) -> torch.Tensor:
    """SoX ``stretch`` on ``(..., time)``: frames of ``segment`` taken every ``input_shift`` (the input
    preceded by half a frame of zeros) overlap-added every ``output_shift``, faded over ``overlap`` samples;
    ``time + frames * (output_shift - input_shift)`` samples come out, as SoX's.

    Example:
        >>> stretch(torch.ones(1, 100), 20, 8, 16, 4).shape
        torch.Size([1, 196])
    """
    x = waveform.double()
    length = x.shape[-1]
    half = segment // 2
    full = (length - (segment - half)) // input_shift + 1 if length >= segment - half else 0
    frames_count = full + 1  # the last, partial frame SoX completes with zeros
    out_length = length + full * (output_shift - input_shift)
    padded = torch.nn.functional.pad(x, [half, max(full * input_shift + segment - half - length, 0)])
    frames = padded.unfold(-1, segment, input_shift)[..., :frames_count, :]
    weight = torch.ones(segment, dtype=torch.float64)
    if overlap > 1:
        ramp = torch.arange(overlap, dtype=torch.float64) / (overlap - 1)
        weight[:overlap] = ramp
        weight[segment - overlap :] = ramp.flip(0)
    total = (frames_count - 1) * output_shift + segment
    summed = torch.nn.functional.fold(
        (frames * weight).reshape(-1, frames_count, segment).transpose(1, 2),
        output_size=(1, total),
        kernel_size=(1, segment),
        stride=(1, output_shift),
    ).reshape(*x.shape[:-1], total)
    out = summed[..., half : half + out_length]
    if out.shape[-1] < out_length:
        out = torch.nn.functional.pad(out, [0, out_length - out.shape[-1]])
    return out.clamp(-1.0, 1.0).to(waveform.dtype)
