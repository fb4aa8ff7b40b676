"""The ``Backend`` interface: reading and writing audio for a set of formats.

Backends are registered in the ``tympan.backends`` entry-point group and chosen per source by the
``tympan_select_backend`` hook (by default: the highest ``priority`` whose ``can_read`` / ``can_write``
accepts). A backend is constructed without arguments, once per process.

Example:
    >>> class Silence(Backend):
    ...     '''Reads any ``.silence`` path as one second of silence.'''
    ...     name = "acme:silence"
    ...     def can_read(self, source, format=None):
    ...         return str(source).endswith(".silence")
    ...     def info(self, source, format=None):
    ...         return AudioInfo(16000, 16000, 1, 32, "PCM_F", "silence")
    >>> Silence().can_read("a.silence"), Silence().can_write("wav")
    (True, False)
"""

from __future__ import annotations

import abc
import os
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, ClassVar, Union

from tympan.core.audio import AudioInfo
from tympan.core.errors import UnsupportedFormatError

if TYPE_CHECKING:
    import torch

__all__ = ["Backend", "Destination", "Source", "describe_source", "extension_of"]

#: What a backend reads from: a path, bytes, or a binary file-like object.
Source = Union[str, "os.PathLike[str]", bytes, IO[bytes]]
#: What a backend writes to: a path or a binary file-like object.
Destination = Union[str, "os.PathLike[str]", IO[bytes]]


class Backend(abc.ABC):
    """Reads (and optionally writes and streams) audio; subclasses override what they support.

    Example:
        >>> Backend.priority
        0
    """

    name: ClassVar[str] = ""
    priority: ClassVar[int] = 0

    @abc.abstractmethod
    def can_read(self, source: Source, format: str | None = None) -> bool:
        """Whether this backend can decode ``source`` (probing its name or header; never decoding it)."""

    def can_write(self, format: str, encoding: str | None = None) -> bool:
        """Whether this backend can write ``format`` with ``encoding`` (default: it writes nothing)."""
        return False

    @abc.abstractmethod
    def info(self, source: Source, format: str | None = None) -> AudioInfo:
        """Metadata of ``source`` without decoding its samples."""

    def load(
        self,
        source: Source,
        frame_offset: int = 0,
        num_frames: int = -1,
        normalize: bool = True,
        channels_first: bool = True,
        format: str | None = None,
        *,
        strict: bool = True,
    ) -> tuple[torch.Tensor, int]:
        """Decode ``num_frames`` frames (all when -1) from ``frame_offset``; return ``(waveform, sample_rate)``.

        A file holding less audio than its header declares raises
        :class:`~tympan.core.errors.AudioDecodeError` naming both counts; with ``strict=False`` the frames
        that are there are returned and a :class:`~tympan.core.errors.TruncatedAudioWarning` is issued.
        """
        raise UnsupportedFormatError(describe_source(source), f"backend {self.name} does not decode audio")

    def save(
        self,
        destination: Destination,
        waveform: torch.Tensor,
        sample_rate: int,
        channels_first: bool = True,
        format: str | None = None,
        encoding: str | None = None,
        bits_per_sample: int | None = None,
        compression: float | None = None,
    ) -> None:
        """Encode ``waveform`` to ``destination`` atomically."""
        raise UnsupportedFormatError(describe_source(destination), f"backend {self.name} does not write audio")

    def stream(
        self,
        source: Source,
        frames_per_chunk: int,
        frame_offset: int = 0,
        num_frames: int = -1,
        normalize: bool = True,
        channels_first: bool = True,
        format: str | None = None,
        *,
        strict: bool = True,
    ) -> Iterator[torch.Tensor]:
        """Yield consecutive chunks of at most ``frames_per_chunk`` frames, holding one chunk at a time.

        ``strict`` treats a truncated file as :meth:`load` does.
        """
        raise UnsupportedFormatError(describe_source(source), f"backend {self.name} does not stream audio")


def describe_source(source: object) -> str:
    """How errors name a source: its path, its size for bytes, or a file object's name or type.

    Example:
        >>> import io, pathlib
        >>> describe_source(pathlib.Path("a/b.wav")), describe_source(b"RIFF"), describe_source(io.BytesIO())
        ('a/b.wav', '<4 bytes>', '<BytesIO>')
    """
    if isinstance(source, (str, os.PathLike)):
        return str(os.fspath(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else f"<{type(source).__name__}>"


def extension_of(target: object) -> str | None:
    """The lower-case extension of a path, or of a file object's ``name``; ``None`` when there is none.

    Example:
        >>> import io
        >>> extension_of("take/Clip.FLAC"), extension_of(b"RIFF"), extension_of(io.BytesIO())
        ('flac', None, None)
    """
    name = os.fspath(target) if isinstance(target, (str, os.PathLike)) else getattr(target, "name", None)
    if not isinstance(name, str):
        return None
    return os.path.splitext(name)[1][1:].lower() or None
