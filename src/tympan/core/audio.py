"""``AudioInfo``: what a backend reports about an audio file without decoding it.

Example:
    >>> info = AudioInfo(sample_rate=16000, num_frames=48000, num_channels=1, bits_per_sample=16,
    ...                  encoding="PCM_S", format="wav")
    >>> info.duration
    3.0
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AudioInfo", "ENCODINGS", "MAX_SAMPLE_RATE"]

#: The highest sample rate tympan reads, writes or configures, in Hz (10 MHz): a header declaring more is
#: corrupt or hostile, and every rate parameter is bounded by it.
MAX_SAMPLE_RATE = 10_000_000

#: Sample encodings, with torchaudio's names.
ENCODINGS: tuple[str, ...] = ("PCM_S", "PCM_U", "PCM_F", "ULAW", "ALAW", "VORBIS", "OPUS", "MP3", "FLAC", "UNKNOWN")


@dataclass(frozen=True)
class AudioInfo:
    """Metadata of an audio source.

    ``bits_per_sample`` is 0 for compressed formats without a fixed sample size; ``encoding`` is one of
    :data:`ENCODINGS`; ``format`` is the container's lower-case name (``"wav"``, ``"flac"``, ...).

    Example:
        >>> AudioInfo(8000, 4000, 2, 8, "ULAW", "wav").duration
        0.5
    """

    sample_rate: int
    num_frames: int
    num_channels: int
    bits_per_sample: int
    encoding: str
    format: str

    @property
    def duration(self) -> float:
        """Length in seconds (0.0 when the sample rate is unknown).

        Example:
            >>> AudioInfo(16000, 8000, 1, 16, "PCM_S", "flac").duration
            0.5
        """
        return self.num_frames / self.sample_rate if self.sample_rate else 0.0
