"""Formats, encodings and libsndfile subtypes: the tables the soundfile backend decides by.

Three questions are answered here, without opening any audio:

- which libsndfile container a format name or file extension denotes (:func:`container_of`), and which
  container a header's first bytes announce (:func:`sniff`);
- how a libsndfile subtype is named with torchaudio's encodings (:func:`encoding_of`);
- which subtype a ``save`` call asks for (:func:`choose_subtype`), with a clear error for impossible
  combinations, and how its ``compression`` maps to libsndfile's level (:func:`compression_level`).

Example:
    >>> container_of("opus")
    Container(major='OGG', subtype='OPUS')
    >>> encoding_of("WAV", "PCM_24")
    ('PCM_S', 24)
    >>> choose_subtype(container_of("wav"), "float32", "PCM_S", 16)
    'PCM_16'
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import soundfile

from tympan.core.errors import UnsupportedFormatError

__all__ = [
    "NO_FORMAT_HINT",
    "SNIFF_BYTES",
    "Container",
    "choose_subtype",
    "compression_level",
    "container_name",
    "container_of",
    "encoding_of",
    "sniff",
    "writable",
]


class Container(NamedTuple):
    """A libsndfile major format, and the subtype its name implies (``opus`` is Opus in Ogg), if any.

    Example:
        >>> Container("OGG", "OPUS").major
        'OGG'
    """

    major: str
    subtype: str | None = None


# Names users write (extensions and common aliases) beyond libsndfile's own major-format names.
_ALIASES: dict[str, Container] = {
    "wave": Container("WAV"),
    "oga": Container("OGG"),
    "vorbis": Container("OGG", "VORBIS"),
    "opus": Container("OGG", "OPUS"),
    "aif": Container("AIFF"),
    "aifc": Container("AIFF"),
    "snd": Container("AU"),
    "sph": Container("NIST"),
    "nis": Container("NIST"),
    "sf": Container("IRCAM"),
    "iff": Container("SVX"),
    "8svx": Container("SVX"),
    "mpc": Container("MPC2K"),
}
# libsndfile containers that cannot round-trip through a plain file (see container_of).
_UNOFFERED = frozenset({"RAW", "SD2"})
# How AudioInfo.format names a container, where its lower-cased libsndfile name is not the usual one.
_DISPLAY_NAMES = {"WAVEX": "wav", "NIST": "sph", "IRCAM": "sf"}
# Header signatures: (offset, bytes) pairs that must all match, and the container they announce.
_SIGNATURES: tuple[tuple[tuple[tuple[int, bytes], ...], str], ...] = (
    (((0, b"RIFF"), (8, b"WAVE")), "WAV"),
    (((0, b"RIFX"), (8, b"WAVE")), "WAV"),
    (((0, b"RF64"),), "RF64"),
    (((0, b"riff"),), "W64"),
    (((0, b"fLaC"),), "FLAC"),
    (((0, b"OggS"),), "OGG"),
    (((0, b"FORM"), (8, b"AIF")), "AIFF"),
    (((0, b"FORM"), (8, b"8SVX")), "SVX"),
    (((0, b"FORM"), (8, b"16SV")), "SVX"),
    (((0, b".snd"),), "AU"),
    (((0, b"dns."),), "AU"),
    (((0, b"caff"),), "CAF"),
    (((0, b"NIST_1A"),), "NIST"),
    (((0, b"Creative Voice File"),), "VOC"),
    (((0, b"2BIT"),), "AVR"),
    (((0, b"ID3"),), "MP3"),
)
#: What an error says when a destination has no extension and no ``format`` was given.
NO_FORMAT_HINT = "cannot tell the format without an extension; pass format= (e.g. 'wav')"
#: How many leading bytes :func:`sniff` needs.
SNIFF_BYTES = 32

# libsndfile subtype -> (torchaudio encoding, bits per sample); 0 bits for codecs without a sample size.
_ENCODINGS: dict[str, tuple[str, int]] = {
    "PCM_S8": ("PCM_S", 8),
    "PCM_16": ("PCM_S", 16),
    "PCM_24": ("PCM_S", 24),
    "PCM_32": ("PCM_S", 32),
    "PCM_U8": ("PCM_U", 8),
    "FLOAT": ("PCM_F", 32),
    "DOUBLE": ("PCM_F", 64),
    "ULAW": ("ULAW", 8),
    "ALAW": ("ALAW", 8),
    "VORBIS": ("VORBIS", 0),
    "OPUS": ("OPUS", 0),
    "MPEG_LAYER_III": ("MP3", 0),
}
_SUBTYPES = {pair: subtype for subtype, pair in _ENCODINGS.items()}
# The subtype a waveform's dtype maps to when neither encoding nor bits_per_sample is given.
_DTYPE_SUBTYPES = {"float32": "FLOAT", "float64": "DOUBLE", "int32": "PCM_32", "int16": "PCM_16", "uint8": "PCM_U8"}
# Containers whose ``compression`` means something, with its range and the libsndfile level it maps to.
_COMPRESSION = {"FLAC": (0.0, 8.0, "a level 0-8"), "OGG": (-1.0, 10.0, "a quality -1 to 10")}


def container_of(format: str | None) -> Container | None:
    """The container a format name or extension denotes (case-insensitive), or ``None``.

    Headerless ``raw`` is not offered: reading it needs a sample rate and layout that ``load`` lacks. Nor is
    Sound Designer II (``sd2``): libsndfile keeps its header in a resource fork that a plain file loses.

    Example:
        >>> container_of("FLAC"), container_of("aif"), container_of("m4a")
        (Container(major='FLAC', subtype=None), Container(major='AIFF', subtype=None), None)
    """
    if not format:
        return None
    name = format.lower().lstrip(".")
    if name in _ALIASES:
        return _ALIASES[name]
    major = name.upper()
    if major not in _UNOFFERED and major in _libsndfile_formats():
        return Container(major)
    return None


@functools.cache
def _libsndfile_formats() -> frozenset[str]:
    """The containers the loaded libsndfile handles (asked once: each query walks its format table)."""
    return frozenset(soundfile.available_formats())


def container_name(major: str) -> str:
    """The lower-case name :class:`~tympan.core.audio.AudioInfo` reports for a libsndfile container.

    Example:
        >>> container_name("WAVEX"), container_name("FLAC")
        ('wav', 'flac')
    """
    return _DISPLAY_NAMES.get(major, major.lower())


def sniff(header: bytes) -> str | None:
    """The container ``header`` (a file's first :data:`SNIFF_BYTES` bytes) announces, or ``None``.

    Example:
        >>> sniff(b"RIFF\\x24\\x00\\x00\\x00WAVEfmt "), sniff(b"fLaC\\x00"), sniff(b"hello")
        ('WAV', 'FLAC', None)
    """
    for parts, major in _SIGNATURES:
        if all(header[offset : offset + len(magic)] == magic for offset, magic in parts):
            return major
    is_mpeg_frame = len(header) >= 2 and header[0] == 0xFF and header[1] & 0xE0 == 0xE0
    return "MP3" if is_mpeg_frame else None


def encoding_of(major: str, subtype: str) -> tuple[str, int]:
    """``(encoding, bits_per_sample)`` of a libsndfile subtype, with torchaudio's encoding names.

    FLAC reports the ``FLAC`` encoding with its sample size; codecs without one report 0 bits.

    Example:
        >>> encoding_of("FLAC", "PCM_16"), encoding_of("OGG", "VORBIS"), encoding_of("WAV", "IMA_ADPCM")
        (('FLAC', 16), ('VORBIS', 0), ('UNKNOWN', 0))
    """
    encoding, bits = _ENCODINGS.get(subtype, ("UNKNOWN", 0))
    return ("FLAC", bits) if major == "FLAC" else (encoding, bits)


def _supported(major: str) -> str:
    pairs = [_ENCODINGS[s] for s in soundfile.available_subtypes(major) if s in _ENCODINGS]
    return ", ".join(f"{encoding} {bits}-bit" if bits else encoding for encoding, bits in pairs)


def _candidates(major: str, encoding: str | None, bits: int | None) -> list[str]:
    """Subtypes of ``major`` matching the requested encoding and/or sample size, in preference order."""
    available = soundfile.available_subtypes(major)
    if encoding is None:  # bits only: integer PCM of that size (signed first), else float
        wanted = [(family, bits) for family in ("PCM_S", "PCM_U", "PCM_F")]
    elif bits is None:
        wanted = [pair for pair in _SUBTYPES if pair[0] == encoding]
    else:
        wanted = [(encoding, bits)]
    return [_SUBTYPES[pair] for pair in wanted if pair in _SUBTYPES and _SUBTYPES[pair] in available]


def choose_subtype(
    container: Container, dtype: str, encoding: str | None, bits_per_sample: int | None, where: str = ""
) -> str:
    """The libsndfile subtype for saving a ``dtype`` waveform as ``container`` with ``encoding`` / bits.

    With neither given, the dtype's own subtype where the container holds it (float32 WAV stays float),
    else the container's implied or default subtype (FLAC: 16-bit). With an encoding only, the dtype's or the
    container's default size where it matches, else the widest. With bits only, integer PCM of that size.
    An impossible combination raises :class:`~tympan.core.errors.UnsupportedFormatError` naming ``where``.

    Example:
        >>> choose_subtype(Container("WAV"), "int16", None, None)
        'PCM_16'
        >>> choose_subtype(Container("FLAC"), "float32", None, 24)
        'PCM_24'
        >>> choose_subtype(Container("FLAC"), "float32", None, 32)
        Traceback (most recent call last):
        ...
        tympan.core.errors.UnsupportedFormatError: unsupported format flac: flac cannot hold 32-bit samples; ...
    """
    major = container.major
    wanted = encoding.upper() if encoding else None
    if wanted == "FLAC" and major == "FLAC":
        wanted = "PCM_S"
    if wanted is None and bits_per_sample is None:
        own = _DTYPE_SUBTYPES.get(dtype)
        if own is not None and soundfile.check_format(major, own) and container.subtype is None:
            return own
        return container.subtype or soundfile.default_subtype(major)
    candidates = _candidates(major, wanted, bits_per_sample)
    if not candidates:
        asked = " ".join(part for part in (wanted, f"{bits_per_sample}-bit samples" if bits_per_sample else "") if part)
        name = container_name(major)
        raise UnsupportedFormatError(where or name, f"{name} cannot hold {asked}; it holds: {_supported(major)}")
    for preferred in (_DTYPE_SUBTYPES.get(dtype), container.subtype, soundfile.default_subtype(major)):
        if preferred in candidates:
            return preferred
    return max(candidates, key=lambda subtype: _ENCODINGS[subtype][1])


def writable(format: str, encoding: str | None = None) -> bool:
    """Whether libsndfile can write ``format`` (with ``encoding``, when given).

    Example:
        >>> writable("flac"), writable("flac", "VORBIS"), writable("m4a")
        (True, False, False)
    """
    container = container_of(format)
    if container is None:
        return False
    try:
        choose_subtype(container, "float32", encoding, None)
    except UnsupportedFormatError:
        return False
    return True


def compression_level(major: str, compression: float | None, where: str = "") -> float | None:
    """libsndfile's ``compression_level`` (0-1) for torchaudio's ``compression`` of a container.

    FLAC takes a level 0-8 (8 compresses most); Ogg Vorbis/Opus a quality -1 to 10 (10 is best). Other
    containers have no compression setting; asking for one raises
    :class:`~tympan.core.errors.UnsupportedFormatError` naming ``where``.

    Example:
        >>> compression_level("FLAC", 8), compression_level("OGG", 10), compression_level("WAV", None)
        (1.0, 0.0, None)
    """
    if compression is None:
        return None
    name = container_name(major)
    if major not in _COMPRESSION:
        reason = f"{name} has no compression setting (flac takes a level 0-8, ogg a quality -1 to 10)"
        raise UnsupportedFormatError(where or name, reason)
    low, high, meaning = _COMPRESSION[major]
    if not low <= compression <= high:
        raise UnsupportedFormatError(where or name, f"{name} compression must be {meaning}, got {compression}")
    fraction = (compression - low) / (high - low)
    return fraction if major == "FLAC" else 1.0 - fraction
