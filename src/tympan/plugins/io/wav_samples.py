"""Turning the raw bytes of a WAVE ``data`` chunk into a waveform tensor, as libsndfile decodes them.

``normalize=False`` keeps each encoding's own dtype as the soundfile backend does: uint8 for 8-bit PCM,
int16, int32 for 24-bit (the three bytes in the top of the int32, as libsndfile reads them) and 32-bit
PCM, float32, float64; u-law and A-law become float32. ``normalize=True`` gives float32 scaled as
libsndfile scales: integer samples divided by 2^(bits-1) (8-bit PCM less its offset of 128 first, 24-bit
from its int32 form by 2^31), float64 rounded to float32, u-law and A-law through their G.711 expansion
divided by 32768. Every conversion is one vectorised numpy pass into a fresh array that the returned
tensor owns.

Example:
    >>> import numpy as np
    >>> raw = np.array([0, 128, 255], np.uint8)
    >>> to_waveform(raw, "PCM_U", 8, 1, False, normalize=True, channels_first=True)
    tensor([[-1.0000,  0.0000,  0.9922]])
    >>> to_waveform(np.array([0, 0, 0x80], np.uint8), "PCM_S", 24, 1, False, False, True)
    tensor([[-2147483648]], dtype=torch.int32)
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["alaw_table", "is_stored_form", "storage_dtype", "to_waveform", "ulaw_table"]


def ulaw_table() -> np.ndarray:
    """The 256 G.711 u-law codes expanded to 16-bit linear values (+-32124).

    Example:
        >>> ulaw_table()[[0, 127, 128, 255]].tolist()
        [-32124, 0, 32124, 0]
    """
    code = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent, mantissa = (code >> 4) & 0x07, code & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def alaw_table() -> np.ndarray:
    """The 256 G.711 A-law codes expanded to 16-bit linear values (+-32256).

    Example:
        >>> alaw_table()[[0, 0x55, 0xD5, 0xAA]].tolist()
        [-5504, -8, 8, 32256]
    """
    code = np.arange(256, dtype=np.int32) ^ 0x55
    exponent, mantissa = (code >> 4) & 0x07, code & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


# Float32 values of every 8-bit code, as libsndfile's float reads give them.
_BYTE_TABLES = {
    "PCM_U": (np.arange(256, dtype=np.float32) - 128) / np.float32(128),
    "ULAW": ulaw_table().astype(np.float32) / np.float32(32768),
    "ALAW": alaw_table().astype(np.float32) / np.float32(32768),
}
# (encoding, bits) -> numpy type of one stored sample (24-bit samples are read as bytes).
_STORED = {
    ("PCM_U", 8): "u1",
    ("ULAW", 8): "u1",
    ("ALAW", 8): "u1",
    ("PCM_S", 16): "i2",
    ("PCM_S", 24): "u1",
    ("PCM_S", 32): "i4",
    ("PCM_F", 32): "f4",
    ("PCM_F", 64): "f8",
}
# Integer encodings scaled to [-1, 1) by 2^-(bits - 1) on normalize; 24-bit is scaled in its int32 form.
_SCALES = {16: np.float32(2.0**-15), 24: np.float32(2.0**-31), 32: np.float32(2.0**-31)}


def storage_dtype(encoding: str, bits: int, big_endian: bool) -> np.dtype:
    """The numpy dtype the bytes of ``data`` are viewed as (24-bit: single bytes, 3 per sample).

    Example:
        >>> storage_dtype("PCM_S", 16, big_endian=True).str, storage_dtype("PCM_S", 24, False).str
        ('>i2', '|u1')
    """
    return np.dtype(_STORED[encoding, bits]).newbyteorder(">" if big_endian else "<")


def is_stored_form(
    encoding: str, bits: int, channels: int, big_endian: bool, normalize: bool, channels_first: bool
) -> bool:
    """Whether the waveform asked for is the stored samples as they lie (no conversion, no transposition).

    Example:
        >>> is_stored_form("PCM_F", 32, 1, False, normalize=True, channels_first=True)
        True
        >>> is_stored_form("PCM_S", 16, 2, False, normalize=False, channels_first=True)
        False
    """
    converted = encoding in _BYTE_TABLES and (normalize or encoding != "PCM_U")
    converted = converted or bits == 24 or (normalize and encoding == "PCM_S") or (normalize and bits == 64)
    return not converted and not big_endian and (channels == 1 or not channels_first)


def _int24(raw: np.ndarray, big_endian: bool) -> np.ndarray:
    """3-byte samples as int32 with the sample in the top 24 bits (libsndfile's int reading)."""
    triples = raw.reshape(-1, 3)
    wide = np.zeros((len(triples), 4), np.uint8)
    wide[:, 1:] = triples[:, ::-1] if big_endian else triples
    return wide.view("<i4").reshape(-1)


def to_waveform(
    raw: np.ndarray,
    encoding: str,
    bits: int,
    channels: int,
    big_endian: bool,
    normalize: bool,
    channels_first: bool,
) -> torch.Tensor:
    """Decode interleaved samples ``raw`` (viewed as :func:`storage_dtype`, whole frames) into a tensor.

    The result is ``(channels, frames)`` or ``(frames, channels)``, contiguous, and owns its memory. When
    ``raw`` already is the result (native dtype and byte order, frames-first or mono), it is used as it is,
    so a caller that passes a fresh array gets it back without a copy.

    Example:
        >>> import numpy as np
        >>> raw = np.array([1, -1, 2, -2], "<i2")
        >>> to_waveform(raw, "PCM_S", 16, 2, False, normalize=False, channels_first=True)
        tensor([[ 1,  2],
                [-1, -2]], dtype=torch.int16)
    """
    stored = is_stored_form(encoding, bits, channels, big_endian, normalize, channels_first)
    if bits == 24:  # from here on a fresh int32 array: the stored form of 24-bit samples
        raw = _int24(raw, big_endian)
        stored = not normalize and (channels == 1 or not channels_first)
    frames = raw.reshape(-1, channels)
    samples = frames.T if channels_first else frames  # a view; each pass below writes a contiguous array
    if stored and raw.flags.writeable:
        return torch.from_numpy(samples)
    if encoding in _BYTE_TABLES and (normalize or encoding != "PCM_U"):
        out = np.empty(samples.shape, np.float32)
        np.take(_BYTE_TABLES[encoding], samples, out=out)
    elif normalize and encoding == "PCM_S":
        out = np.empty(samples.shape, np.float32)
        np.multiply(samples, _SCALES[bits], out=out, dtype=np.float32)
    else:  # the stored values in native byte order; float64 becomes float32 on normalize
        out = np.empty(samples.shape, np.float32 if normalize and bits == 64 else samples.dtype.newbyteorder("="))
        np.copyto(out, samples, casting="unsafe")
    return torch.from_numpy(out)
