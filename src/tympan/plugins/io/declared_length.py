"""The length a file's header declares, read from libsndfile's header log, to tell a truncated file.

libsndfile opens a file that holds less audio than its header says with the frames that are there; its
header log keeps the chunk sizes the header declared (``data : 64000 (should be 31978)``), from which the
declared frame count follows (:func:`declared_frames`).

Example:
    >>> import io, numpy as np, soundfile
    >>> buffer = io.BytesIO()
    >>> soundfile.write(buffer, np.zeros((100, 1)), 8000, format="WAV", subtype="PCM_16")
    >>> with soundfile.SoundFile(io.BytesIO(buffer.getvalue())) as sound:
    ...     declared_frames(sound, buffer.getvalue()) is None  # complete
    True
"""

from __future__ import annotations

import re

import soundfile

from tympan.plugins.io.wav_header import PLACEHOLDER_SIZE

__all__ = ["declared_frames"]

# Bytes per sample of the fixed-size subtypes, to turn a header's data size into frames.
_SAMPLE_BYTES = {
    "PCM_S8": 1, "PCM_U8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8
}  # fmt: skip

# libsndfile's header log: a chunk larger than what the file holds ("data : 64000 (should be 31978)").
_SHORT_CHUNK = re.compile(r":\s*(\d+)\s*\(should be (\d+)\)")
# Per container, the log line that declares the audio's length, in data bytes or in frames.
_DECLARED_BYTES = {
    "WAV": re.compile(r"^data\s*:\s*(\d+)", re.MULTILINE),
    "WAVEX": re.compile(r"^data\s*:\s*(\d+)", re.MULTILINE),
    "W64": re.compile(r"^data\s*:\s*(\d+)", re.MULTILINE),
    "AU": re.compile(r"^\s*Data Size\s*:\s*(\d+)", re.MULTILINE),
}
_DECLARED_FRAMES = {
    "AIFF": re.compile(r"^\s*Frames\s*:\s*(\d+)", re.MULTILINE),
    "RF64": re.compile(r"^\s*Frames\s*:\s*(\d+)", re.MULTILINE),
}

# A W64 chunk size counts its 24-byte header.
_CHUNK_HEADER_BYTES = {"W64": 24}
_NIST_SAMPLE_COUNT = re.compile(rb"^sample_count\s+-i\s+(\d+)", re.MULTILINE)


def _frames_in(sound: soundfile.SoundFile, data_bytes: int, log: str) -> int | None:
    """How many frames ``data_bytes`` of audio hold; estimated from the short chunk for variable-size codecs."""
    sample_bytes = _SAMPLE_BYTES.get(sound.subtype)
    if sample_bytes is not None:
        return data_bytes // (sample_bytes * sound.channels)
    short = _SHORT_CHUNK.search(log)
    if short is None or int(short.group(2)) == 0:
        return None
    return sound.frames * int(short.group(1)) // int(short.group(2))


def declared_frames(sound: soundfile.SoundFile, header: bytes) -> int | None:
    """The frame count the header of an open file declares, where it declares more than the file holds.

    libsndfile opens a truncated WAV, W64, RF64, AIFF, AU or NIST SPHERE file with the frames that are there;
    its header log (or, for SPHERE, the ``sample_count`` in ``header``, the file's first kilobyte) still
    says how many there should be.
    ``None`` when the file is complete, or its header gives no length (FLAC and MP3 show their truncation
    only when decoding stops early; streaming writers leave a placeholder length).

    Example:
        >>> import io, numpy as np, soundfile
        >>> buffer = io.BytesIO()
        >>> soundfile.write(buffer, np.zeros((1000, 2)), 8000, format="WAV", subtype="PCM_16")
        >>> cut = buffer.getvalue()[:2044]
        >>> with soundfile.SoundFile(io.BytesIO(cut)) as sound:
        ...     sound.frames, declared_frames(sound, cut)
        (500, 1000)
    """
    major = sound.format
    declared: int | None = None
    if major == "NIST":
        match = _NIST_SAMPLE_COUNT.search(header)
        declared = int(match.group(1)) if match else None
    else:
        log = sound.extra_info
        if not any(int(big) > int(small) for big, small in _SHORT_CHUNK.findall(log)):
            return None
        if major in _DECLARED_FRAMES:
            match = _DECLARED_FRAMES[major].search(log)
            declared = int(match.group(1)) if match else None
        elif major in _DECLARED_BYTES:
            match = _DECLARED_BYTES[major].search(log)
            data_bytes = int(match.group(1)) - _CHUNK_HEADER_BYTES.get(major, 0) if match else PLACEHOLDER_SIZE
            declared = _frames_in(sound, data_bytes, log) if data_bytes < PLACEHOLDER_SIZE else None
    return declared if declared is not None and declared > sound.frames else None
