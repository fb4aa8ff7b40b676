"""The tables the ``io:ffmpeg`` backend decides by: what it reads, how it names codecs, what it writes.

Nothing here opens a file or imports PyAV:

- which extensions and header signatures denote a container FFmpeg reads (:func:`readable_extension`,
  :func:`sniff_container`);
- how an FFmpeg decoder is reported in :class:`~tympan.core.audio.AudioInfo` (:func:`encoding_of_codec`);
- which muxer, encoder and sample format a ``save`` call asks for (:func:`choose_writer`), and how
  ``compression`` maps to the encoder's bit rate or level (:func:`encoder_options`).

Example:
    >>> readable_extension("M4A"), readable_extension("txt")
    (True, False)
    >>> encoding_of_codec("mp3float")
    ('MP3', 0)
    >>> choose_writer("m4a", "float32", None, None)
    Writer(muxer='ipod', codec='aac', encoding='AAC', sample_format=None)
"""

from __future__ import annotations

from typing import NamedTuple

from tympan.core.errors import UnsupportedFormatError

__all__ = [
    "Writer",
    "choose_writer",
    "encoder_options",
    "encoding_of_codec",
    "is_lossless",
    "readable_extension",
    "sniff_container",
    "writable_format",
]

# Extensions of audio and audio-carrying video containers FFmpeg demuxes (images and subtitles left out,
# so those files are not claimed by an audio backend).
_READ_EXTENSIONS = frozenset(
    {
        "3g2", "3gp", "aac", "ac3", "adts", "aif", "aifc", "aiff", "amr", "ape", "asf", "au", "avi", "awb",
        "caf", "dts", "dv", "eac3", "ec3", "f4a", "f4v", "flac", "flv", "gsm", "m2a", "m2ts", "m4a", "m4b",
        "m4v", "mka", "mkv", "mov", "mp2", "mp3", "mp4", "mpa", "mpc", "mpeg", "mpg", "mts", "mxf", "nut",
        "oga", "ogg", "ogv", "opus", "qt", "ra", "rm", "spx", "tak", "ts", "tta", "voc", "vob", "w64", "wav",
        "weba", "webm", "wma", "wmv", "wv",
    }
)  # fmt: skip
# Header signatures: (offset, bytes) pairs that must all match, and the container they announce.
_SIGNATURES: tuple[tuple[tuple[tuple[int, bytes], ...], str], ...] = (
    (((4, b"ftyp"),), "mp4"),
    (((4, b"moov"),), "mov"),
    (((4, b"mdat"),), "mov"),
    (((4, b"wide"),), "mov"),
    (((0, b"\x1a\x45\xdf\xa3"),), "matroska"),
    (((0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"),), "asf"),
    (((0, b"OggS"),), "ogg"),
    (((0, b"fLaC"),), "flac"),
    (((0, b"RIFF"), (8, b"WAVE")), "wav"),
    (((0, b"RIFF"), (8, b"AVI ")), "avi"),
    (((0, b"FORM"), (8, b"AIF")), "aiff"),
    (((0, b"caff"),), "caf"),
    (((0, b"ID3"),), "mp3"),
    (((0, b"#!AMR"),), "amr"),
    (((0, b"MAC "),), "ape"),
    (((0, b"wvpk"),), "wv"),
    (((0, b".RMF"),), "rm"),
    (((0, b"FLV"),), "flv"),
    (((0, b"\x0b\x77"),), "ac3"),
)

# FFmpeg decoder name -> (encoding reported in AudioInfo, bits per sample; 0 for lossy codecs).
_CODEC_ENCODINGS: dict[str, tuple[str, int]] = {
    "aac": ("AAC", 0),
    "aac_fixed": ("AAC", 0),
    "aac_latm": ("AAC", 0),
    "mp3": ("MP3", 0),
    "mp3float": ("MP3", 0),
    "mp2": ("MP2", 0),
    "mp2float": ("MP2", 0),
    "opus": ("OPUS", 0),
    "libopus": ("OPUS", 0),
    "vorbis": ("VORBIS", 0),
    "libvorbis": ("VORBIS", 0),
    "ac3": ("AC3", 0),
    "ac3_fixed": ("AC3", 0),
    "eac3": ("EAC3", 0),
    "dca": ("DTS", 0),
    "wmav1": ("WMA", 0),
    "wmav2": ("WMA", 0),
    "wmapro": ("WMA", 0),
    "amrnb": ("AMR_NB", 0),
    "amrwb": ("AMR_WB", 0),
    "pcm_s8": ("PCM_S", 8),
    "pcm_s16le": ("PCM_S", 16),
    "pcm_s16be": ("PCM_S", 16),
    "pcm_s24le": ("PCM_S", 24),
    "pcm_s24be": ("PCM_S", 24),
    "pcm_s32le": ("PCM_S", 32),
    "pcm_s32be": ("PCM_S", 32),
    "pcm_u8": ("PCM_U", 8),
    "pcm_f32le": ("PCM_F", 32),
    "pcm_f32be": ("PCM_F", 32),
    "pcm_f64le": ("PCM_F", 64),
    "pcm_f64be": ("PCM_F", 64),
    "pcm_mulaw": ("ULAW", 8),
    "pcm_alaw": ("ALAW", 8),
}
# Lossless codecs whose sample size is read from the stream (see the backend), not from the codec name.
_LOSSLESS = {
    "flac": "FLAC",
    "alac": "ALAC",
    "wmalossless": "WMALOSSLESS",
    "ape": "APE",
    "wavpack": "WAVPACK",
    "tta": "TTA",
}


class Writer(NamedTuple):
    """What ``save`` writes: FFmpeg's muxer and encoder, the encoding's name, and the encoder's sample
    format when the request fixes one (``None``: the encoder's own default).

    Example:
        >>> Writer("flac", "flac", "FLAC", "s32").sample_format
        's32'
    """

    muxer: str
    codec: str
    encoding: str
    sample_format: str | None = None


# Writable format -> (muxer, encodings it holds, in preference order).
_WRITE_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "m4a": ("ipod", ("AAC", "ALAC")),
    "mp4": ("mp4", ("AAC", "ALAC")),
    "aac": ("adts", ("AAC",)),
    "mp3": ("mp3", ("MP3",)),
    "opus": ("opus", ("OPUS",)),
    "ogg": ("ogg", ("OPUS", "FLAC")),
    "webm": ("webm", ("OPUS",)),
    "mka": ("matroska", ("OPUS", "AAC", "FLAC", "MP3", "AC3", "PCM_S", "PCM_F")),
    "flac": ("flac", ("FLAC",)),
    "wav": ("wav", ("PCM_S", "PCM_U", "PCM_F", "ULAW", "ALAW")),
    "ac3": ("ac3", ("AC3",)),
}
# Encodings with a fixed encoder (lossy codecs take no bits_per_sample).
_LOSSY_ENCODERS = {"AAC": "aac", "MP3": "libmp3lame", "OPUS": "libopus", "AC3": "ac3"}
# (encoding, bits) -> (encoder, sample format) for integer and float PCM, FLAC and ALAC.
_SIZED_ENCODERS: dict[tuple[str, int], tuple[str, str]] = {
    ("PCM_S", 16): ("pcm_s16le", "s16"),
    ("PCM_S", 24): ("pcm_s24le", "s32"),
    ("PCM_S", 32): ("pcm_s32le", "s32"),
    ("PCM_U", 8): ("pcm_u8", "u8"),
    ("PCM_F", 32): ("pcm_f32le", "flt"),
    ("PCM_F", 64): ("pcm_f64le", "dbl"),
    ("ULAW", 8): ("pcm_mulaw", "s16"),
    ("ALAW", 8): ("pcm_alaw", "s16"),
    ("FLAC", 16): ("flac", "s16"),
    ("FLAC", 24): ("flac", "s32"),
    ("ALAC", 16): ("alac", "s16p"),
    ("ALAC", 24): ("alac", "s32p"),
}
# The sample size an encoding gets without bits_per_sample: the waveform dtype's, where the encoding has it.
_DTYPE_BITS = {
    "float32": ("PCM_F", 32),
    "float64": ("PCM_F", 64),
    "int32": ("PCM_S", 32),
    "int16": ("PCM_S", 16),
    "uint8": ("PCM_U", 8),
}
_DEFAULT_BITS = {"PCM_S": 16, "PCM_U": 8, "PCM_F": 32, "ULAW": 8, "ALAW": 8, "FLAC": 16, "ALAC": 16}
# What ``compression`` means per encoding: its range and how an error describes it.
_COMPRESSION: dict[str, tuple[float, float, str]] = {
    "AAC": (8.0, 512.0, "a bit rate in kbit/s, 8-512"),
    "MP3": (8.0, 320.0, "a bit rate in kbit/s, 8-320"),
    "OPUS": (6.0, 510.0, "a bit rate in kbit/s, 6-510"),
    "AC3": (32.0, 640.0, "a bit rate in kbit/s, 32-640"),
    "FLAC": (0.0, 12.0, "a level 0-12"),
}


def readable_extension(format: str | None) -> bool:
    """Whether ``format`` (an extension or format name, case-insensitive) is a container FFmpeg reads.

    Example:
        >>> readable_extension("webm"), readable_extension(".WMA"), readable_extension(None)
        (True, True, False)
    """
    return bool(format) and format.lower().lstrip(".") in _READ_EXTENSIONS  # type: ignore[union-attr]


def sniff_container(header: bytes) -> str | None:
    """The container ``header`` (a file's first 16 bytes or more) announces, or ``None``.

    Besides the signatures, an MPEG audio frame sync announces ``mp3`` and an ADTS sync ``aac``.

    Example:
        >>> sniff_container(b"\\x00\\x00\\x00\\x20ftypM4A "), sniff_container(b"\\xff\\xf1"), sniff_container(b"hi")
        ('mp4', 'aac', None)
    """
    for parts, name in _SIGNATURES:
        if all(header[offset : offset + len(magic)] == magic for offset, magic in parts):
            return name
    if len(header) >= 2 and header[0] == 0xFF and header[1] & 0xE0 == 0xE0:
        return "aac" if header[1] & 0x06 == 0 else "mp3"  # layer bits 00: ADTS, else MPEG audio
    return None


def encoding_of_codec(codec: str) -> tuple[str, int]:
    """``(encoding, bits_per_sample)`` of an FFmpeg decoder; lossy codecs report 0 bits.

    Lossless codecs with a stream-dependent sample size (FLAC, ALAC, ...) report 0 here; the backend
    reads their size from the stream. Unknown codecs are reported by their upper-cased FFmpeg name.

    Example:
        >>> encoding_of_codec("pcm_s24le"), encoding_of_codec("flac"), encoding_of_codec("gsm")
        (('PCM_S', 24), ('FLAC', 0), ('GSM', 0))
    """
    if codec in _LOSSLESS:
        return _LOSSLESS[codec], 0
    return _CODEC_ENCODINGS.get(codec, (codec.upper(), 0))


def is_lossless(codec: str) -> bool:
    """Whether the decoder ``codec`` reproduces its samples exactly (PCM and lossless codecs).

    Example:
        >>> is_lossless("alac"), is_lossless("pcm_s16le"), is_lossless("aac")
        (True, True, False)
    """
    return codec in _LOSSLESS or codec.startswith("pcm_")


def writable_format(format: str | None) -> str | None:
    """The canonical writable format for ``format`` (an extension or name), or ``None``.

    Example:
        >>> writable_format("M4A"), writable_format("wma")
        ('m4a', None)
    """
    name = (format or "").lower().lstrip(".")
    return name if name in _WRITE_FORMATS else None


def _holds(format: str) -> str:
    return ", ".join(_WRITE_FORMATS[format][1])


def choose_writer(
    format: str, dtype: str, encoding: str | None, bits_per_sample: int | None, where: str = ""
) -> Writer:
    """The muxer, encoder and sample format for saving a ``dtype`` waveform as ``format``.

    Without ``encoding`` the format's first encoding is used (a WAV keeps the waveform dtype's sample
    format, as the soundfile backend does). Lossy encodings take no ``bits_per_sample``; FLAC and ALAC
    take 16 or 24 (default 16); PCM takes the sizes WAV holds. An impossible combination raises
    :class:`~tympan.core.errors.UnsupportedFormatError` naming ``where``.

    Example:
        >>> choose_writer("wav", "int16", None, None)
        Writer(muxer='wav', codec='pcm_s16le', encoding='PCM_S', sample_format='s16')
        >>> choose_writer("flac", "float32", None, 24).sample_format
        's32'
        >>> choose_writer("mp3", "float32", "AAC", None)
        Traceback (most recent call last):
        ...
        tympan.core.errors.UnsupportedFormatError: unsupported format mp3: mp3 cannot hold AAC; it holds: MP3
    """
    canonical = writable_format(format)
    if canonical is None:
        raise UnsupportedFormatError(where or format, f"the ffmpeg backend does not write {format!r}")
    muxer, encodings = _WRITE_FORMATS[canonical]
    wanted = encoding.upper() if encoding else None
    if wanted is None:
        own = _DTYPE_BITS.get(dtype)
        wanted = own[0] if own is not None and own[0] in encodings and bits_per_sample is None else encodings[0]
        if bits_per_sample is None and own is not None and own[0] == wanted:
            bits_per_sample = own[1]
    if wanted not in encodings:
        raise UnsupportedFormatError(
            where or canonical, f"{canonical} cannot hold {wanted}; it holds: {_holds(canonical)}"
        )
    if wanted in _LOSSY_ENCODERS:
        if bits_per_sample:
            reason = f"{wanted} has no sample size; leave bits_per_sample unset (got {bits_per_sample})"
            raise UnsupportedFormatError(where or canonical, reason)
        return Writer(muxer, _LOSSY_ENCODERS[wanted], wanted)
    bits = bits_per_sample or _DEFAULT_BITS[wanted]
    if (wanted, bits) not in _SIZED_ENCODERS:
        sizes = sorted(b for e, b in _SIZED_ENCODERS if e == wanted)
        reason = f"{canonical} {wanted} holds {', '.join(map(str, sizes))}-bit samples, not {bits}"
        raise UnsupportedFormatError(where or canonical, reason)
    codec, sample_format = _SIZED_ENCODERS[(wanted, bits)]
    return Writer(muxer, codec, wanted, sample_format)


def encoder_options(encoding: str, compression: float | None, where: str = "") -> tuple[int | None, dict[str, str]]:
    """``(bit_rate, options)`` for an encoder from torchaudio-style ``compression``.

    For AAC, MP3, Opus and AC-3 ``compression`` is the bit rate in kbit/s (``None``: the encoder's
    default, 128 kbit/s for AAC and MP3); for FLAC it is the compression level 0-12 (FFmpeg's range; 5 is
    the default). PCM and ALAC have no setting; asking for one raises
    :class:`~tympan.core.errors.UnsupportedFormatError` naming ``where``.

    Example:
        >>> encoder_options("MP3", 192), encoder_options("FLAC", 8), encoder_options("AAC", None)
        ((192000, {}), (None, {'compression_level': '8'}), (None, {}))
    """
    if compression is None:
        return None, {}
    if encoding not in _COMPRESSION:
        settable = ", ".join(_COMPRESSION)
        raise UnsupportedFormatError(where or encoding, f"{encoding} has no compression setting (only {settable} do)")
    low, high, meaning = _COMPRESSION[encoding]
    if not low <= compression <= high:
        raise UnsupportedFormatError(where or encoding, f"{encoding} compression must be {meaning}, got {compression}")
    if encoding == "FLAC":
        if compression != int(compression):
            raise UnsupportedFormatError(
                where or encoding, f"FLAC compression must be a whole level, got {compression}"
            )
        return None, {"compression_level": str(int(compression))}
    return round(compression * 1000), {}
