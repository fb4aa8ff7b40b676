"""The short-time Fourier transform behind every spectral feature, computed in cache-sized blocks.

Frames are strided views of the (padded) signal; each block of frames is windowed, transformed, turned
into power and, for mel features, multiplied by the filterbank while it is still in cache, so the full
complex spectrum never exists in memory at once. The result equals ``torch.stft`` with the same options
(``normalized`` and the window's L2 normalisation are folded into the window, which is exact because the
transform is linear in it). An input too short for one frame (or for reflect padding) is an
:class:`~tympan.core.errors.InvalidParameterError` naming what it needs.

Example:
    >>> import torch
    >>> x = torch.randn(2, 4000, dtype=torch.float64)
    >>> ours = stft_features(x, torch.hann_window(400, dtype=torch.float64), 160, 0, None, True, "reflect",
    ...                      True, None)
    >>> reference = torch.stft(x, 400, 160, 400, torch.hann_window(400, dtype=torch.float64),
    ...                        return_complex=True)
    >>> torch.allclose(ours, reference)
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from tympan.core.errors import InvalidParameterError
from tympan.plugins.dsp.functional._precision import working_dtype

__all__ = ["frame_window", "stft_features"]


def _center(signals: torch.Tensor, n_fft: int, pad_mode: str) -> torch.Tensor:
    """Pad ``(signals, time)`` by ``n_fft // 2`` on both sides so frame ``t`` is centred on ``t * hop``."""
    half = n_fft // 2
    if pad_mode == "reflect":
        if signals.shape[-1] <= half:
            needs = f"reflect padding needs more than n_fft // 2 = {half} samples, got {signals.shape[-1]}"
            raise InvalidParameterError("stft", ["waveform: " + needs])
        # Concatenating the two mirrored edges copies the signal once at memory speed.
        left = signals[:, 1 : half + 1].flip(-1)
        right = signals[:, signals.shape[-1] - half - 1 : signals.shape[-1] - 1].flip(-1)
        return torch.cat([left, signals, right], dim=-1)
    if pad_mode not in ["constant", "replicate", "circular"]:
        raise InvalidParameterError(
            "stft", ["pad_mode: must be reflect, constant, replicate or circular, got " + pad_mode]
        )
    if pad_mode == "circular" and signals.shape[-1] < half:
        needs = f"circular padding needs at least n_fft // 2 = {half} samples, got {signals.shape[-1]}"
        raise InvalidParameterError("stft", ["waveform: " + needs])
    return F.pad(signals.unsqueeze(1), [half, half], mode=pad_mode).squeeze(1)


def frame_window(
    window: torch.Tensor, n_fft: int, win_length: int, scale_to_unit_norm: bool, frame_norm: bool
) -> torch.Tensor:
    """The window centred in ``n_fft`` samples, divided by its L2 norm and/or ``sqrt(n_fft)`` as requested.

    Example:
        >>> frame_window(torch.ones(2), 4, 2, False, True).tolist()
        [0.0, 0.5, 0.5, 0.0]
    """
    if window.dim() != 1 or window.shape[0] != win_length or win_length > n_fft:
        needs = f"must be 1-D of win_length = {win_length} <= n_fft = {n_fft} samples, got {list(window.shape)}"
        raise InvalidParameterError("stft", ["window: " + needs])
    left = (n_fft - win_length) // 2
    framed = F.pad(window, [left, n_fft - win_length - left])
    if scale_to_unit_norm:
        framed = framed / window.square().sum().sqrt()
    if frame_norm:
        framed = framed * n_fft**-0.5
    return framed


def _block_features(spectrum: torch.Tensor, power: float | None, fb: torch.Tensor | None) -> torch.Tensor:
    """``|spectrum| ** power`` of ``(..., frames, bins)``, through the filterbank ``fb`` when given."""
    if power is None:
        return spectrum
    if power == 2.0:
        result = spectrum.real.square()
        result.addcmul_(spectrum.imag, spectrum.imag)
    elif power == 1.0:
        result = spectrum.abs()
    else:
        result = spectrum.abs().pow(power)
    if fb is not None:
        result = torch.matmul(result, fb.to(result.dtype))
    return result


def _blocks(frame_elements: int, n_frames: int) -> list[tuple[int, int]]:
    """The ``(start, stop)`` frame ranges computed together: blocks of about 2**20 samples (at least 64
    frames) keep each block's spectrum in cache when run eagerly. A traced graph (``torch.compile``,
    ``torch.export``) takes all frames as one block, whatever their number: the compiler fuses the steps
    and plans memory itself, and the graph holds for every input length.

    Example:
        >>> _blocks(400 * 2, 3000)[:2]
        [(0, 1310), (1310, 2620)]
    """
    if torch.compiler.is_compiling():
        return [(0, n_frames)]
    block = max(64, (1 << 20) // max(1, frame_elements))
    return [(start, min(start + block, n_frames)) for start in range(0, n_frames, block)]


def stft_features(
    waveform: torch.Tensor,
    framed_window: torch.Tensor,
    hop_length: int,
    pad: int,
    power: float | None,
    center: bool,
    pad_mode: str,
    onesided: bool,
    fb: torch.Tensor | None,
) -> torch.Tensor:
    """``(..., time)`` to ``(..., bins, frames)`` in the working dtype: the STFT (``power`` None), its
    ``|.| ** power``, or that through the filterbank ``fb`` ``(bins, n_out)``.

    ``framed_window`` comes from :func:`frame_window`; its length is ``n_fft``.

    Example:
        >>> fb = torch.ones(129, 3)
        >>> stft_features(torch.randn(5, 800), torch.hann_window(256), 128, 0, 2.0, True, "reflect", True,
        ...               fb).shape
        torch.Size([5, 3, 7])
    """
    n_fft = framed_window.shape[0]
    dtype = working_dtype(waveform.dtype)
    shape = waveform.shape
    if waveform.dim() == 0 or shape[-1] == 0:
        raise InvalidParameterError("stft", ["waveform: holds no samples; an STFT needs at least one frame"])
    signals = waveform.reshape(-1, shape[-1]).to(dtype)
    if pad > 0:
        signals = F.pad(signals, [pad, pad])
    if center:
        signals = _center(signals, n_fft, pad_mode)
    if signals.shape[-1] < n_fft:
        needs = f"a frame needs n_fft = {n_fft} samples, got {signals.shape[-1]} (padding included)"
        raise InvalidParameterError("stft", ["waveform: " + needs])
    framed_window = framed_window.to(dtype=dtype, device=signals.device)
    if hop_length == n_fft and torch.compiler.is_compiling():
        # Traced frames that tile the signal: the samples after the last frame are cropped (a negative pad),
        # or whether the frames are contiguous would depend on the length, which export cannot allow.
        length = signals.shape[-1]
        signals = F.pad(signals, [0, n_fft * (length // n_fft) - length])
    frames = signals.unfold(-1, n_fft, hop_length)  # (signals, frames, n_fft), a view
    pieces: list[torch.Tensor] = []
    for start, stop in _blocks(frames.shape[0] * n_fft, frames.shape[1]):
        windowed = frames[:, start:stop] * framed_window
        spectrum = torch.fft.rfft(windowed) if onesided else torch.fft.fft(windowed)
        pieces.append(_block_features(spectrum, power, fb))
    result = pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=1)
    result = result.mT
    return result.reshape(shape[:-1] + result.shape[-2:])
