"""Audio of a data directory: ``wav.scp`` entries (paths, ``archive:offset``, ``command |``) and segments.

An entry is a path (read by :func:`tympan.load`, so any format tympan reads), ``archive.ark:OFFSET`` (a
WAV file stored in an archive, as ``wav-copy`` writes) or a pipe (``sox in.flac -t wav - |``), which runs
only with ``allow_pipes=True``. A segment is cut as Kaldi's ``extract-segments`` cuts it: sample
``int(t * rate + 0.5)``, the end clamped to the recording when it overshoots by at most ``max_overshoot``
seconds, the channel given by the segment (required for multi-channel audio).

Waveforms are tympan's: float32 ``(channels, time)`` in [-1, 1]. Kaldi's own programs see 16-bit integer
values; multiply by 32768 to match them (the ``tympan kaldi`` feature commands do).

Example:
    >>> import pathlib, tempfile, torch, tympan
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> tympan.save(folder / "rec.wav", torch.zeros(1, 16000), 16000)
    >>> _ = (folder / "wav.scp").write_text(f"rec {folder}/rec.wav\\n")
    >>> _ = (folder / "segments").write_text("utt1 rec 0.25 0.5\\n")
    >>> [(key, tuple(wave.shape), rate) for key, wave, rate in read_audio(folder / "wav.scp", folder / "segments")]
    [('utt1', (1, 4000), 16000)]
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import torch

from tympan.core.errors import KaldiFormatError
from tympan.plugins.kaldi.datadir.files import read_table
from tympan.plugins.kaldi.datadir.model import DataDir, Segment, _segment
from tympan.plugins.kaldi.io.pipes import open_pipe_input
from tympan.plugins.kaldi.io.sources import FileSource
from tympan.plugins.kaldi.io.specifiers import parse_extended_filename

__all__ = ["cut_segment", "load_recording", "load_utterance", "read_audio"]

#: Seconds a segment may run past the end of its recording before it is refused (Kaldi's default).
MAX_OVERSHOOT = 0.5


def _load_bytes(data: bytes, name: str) -> tuple[torch.Tensor, int]:
    import tympan

    try:
        return tympan.load(io.BytesIO(data))
    except Exception as error:  # any decoder failure becomes an error naming the entry
        raise KaldiFormatError(name, f"cannot decode the audio: {error}") from None


def load_recording(location: str, *, allow_pipes: bool = False) -> tuple[torch.Tensor, int]:
    """Load one ``wav.scp`` entry: ``(waveform, sample_rate)``, the waveform float32 ``(channels, time)``.

    Example:
        >>> import pathlib, tempfile, torch, tympan
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.wav"
        >>> tympan.save(path, torch.zeros(2, 800), 8000)
        >>> wave, rate = load_recording(str(path))
        >>> tuple(wave.shape), rate
        ((2, 800), 8000)
    """
    import tympan

    target = parse_extended_filename(location, allow_range=False)
    if target.kind == "stdin":
        raise KaldiFormatError(location, "a wav.scp entry cannot read standard input")
    if target.kind == "pipe":
        source = open_pipe_input(target.path, allow_pipes)
        try:
            chunks, position = [], 0
            while chunk := source.view(position, 1 << 20):
                chunks.append(chunk)
                position += len(chunk)
        finally:
            source.close()
        return _load_bytes(b"".join(chunks), location)
    if target.kind == "offset":
        with FileSource(target.path) as file:
            head = file.view(target.offset or 0, 8)
            if len(head) < 8 or head[:4] != b"RIFF":
                raise KaldiFormatError(target.path, "no WAV data ('RIFF') at this offset", offset=target.offset)
            size = struct.unpack("<I", head[4:])[0] + 8
            if file.size is not None and (target.offset or 0) + size > file.size:
                raise KaldiFormatError(target.path, f"the WAV data needs {size} bytes", offset=target.offset)
            return _load_bytes(file.view(target.offset or 0, size), location)
    return tympan.load(target.path)


def cut_segment(
    waveform: torch.Tensor, sample_rate: int, segment: Segment, max_overshoot: float = MAX_OVERSHOOT
) -> torch.Tensor:
    """The samples of ``segment`` as ``extract-segments`` cuts them, as a ``(1, time)`` tensor.

    Raises :class:`~tympan.core.errors.KaldiFormatError` for a segment starting past the end, ending more
    than ``max_overshoot`` seconds past it, or without a channel on multi-channel audio.

    Example:
        >>> import torch
        >>> cut_segment(torch.arange(10.0)[None], 10, Segment("r", 0.2, 0.5)).tolist()
        [[2.0, 3.0, 4.0]]
    """
    channels, samples = waveform.shape
    length = samples / sample_rate
    where = f"segment of {segment.recording}"
    if segment.start > length or (segment.end != -1 and segment.end > length + max_overshoot):
        raise KaldiFormatError(where, f"{segment.start:g} to {segment.end:g} s is outside {length:g} s of audio")
    channel = segment.channel
    if channel is None:
        if channels != 1:
            raise KaldiFormatError(where, f"the recording has {channels} channels; the segment must name one")
        channel = 0
    if channel >= channels:
        raise KaldiFormatError(where, f"channel {channel} of a recording with {channels} channel(s)")
    end = length if segment.end == -1 or segment.end > length else segment.end
    first = int(segment.start * sample_rate + 0.5)
    last = min(int(end * sample_rate + 0.5), samples)
    return waveform[channel : channel + 1, first:last]


def load_utterance(data: DataDir, utterance: str, *, allow_pipes: bool = False) -> tuple[torch.Tensor, int]:
    """The audio of one utterance of a data directory (its segment of its recording).

    Example:
        >>> import pathlib, tempfile, torch, tympan
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.wav"
        >>> tympan.save(path, torch.zeros(1, 1600), 16000)
        >>> data = DataDir(wav_scp={"r": str(path)}, utt2spk={"u": "s"}, segments={"u": Segment("r", 0.0, 0.05)})
        >>> load_utterance(data, "u")[0].shape
        torch.Size([1, 800])
    """
    recording, segment = data.recording_of(utterance)
    if recording not in data.wav_scp:
        raise KaldiFormatError("wav.scp", f"no recording {recording!r} for utterance {utterance!r}")
    waveform, rate = load_recording(data.wav_scp[recording], allow_pipes=allow_pipes)
    return (waveform, rate) if segment is None else (cut_segment(waveform, rate, segment), rate)


def read_audio(
    wav_scp: str | os.PathLike[str], segments: str | os.PathLike[str] | None = None, *, allow_pipes: bool = False
) -> Iterator[tuple[str, torch.Tensor, int]]:
    """Iterate ``(key, waveform, sample_rate)`` over a ``wav.scp``, or over its segments when given.

    With segments, keys are utterance ids in the order of the segments file, and a recording is loaded
    once for its consecutive segments.
    """
    recordings = {key: line.value for key, line in read_table(wav_scp).items()}
    if segments is None:
        for key, location in recordings.items():
            yield (key, *load_recording(location, allow_pipes=allow_pipes))
        return
    name = os.fspath(segments)
    current: tuple[str, torch.Tensor, int] | None = None
    for utterance, line in read_table(Path(segments)).items():
        segment = _segment(line, name)
        if segment.recording not in recordings:
            raise KaldiFormatError(name, f"recording {segment.recording!r} is not in wav.scp", line=line.number)
        if current is None or current[0] != segment.recording:
            current = (segment.recording, *load_recording(recordings[segment.recording], allow_pipes=allow_pipes))
        yield utterance, cut_segment(current[1], current[2], segment), current[2]
