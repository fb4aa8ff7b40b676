"""A Kaldi data directory in memory: recordings, utterances, speakers, transcripts and feature pointers.

The files (all optional except ``utt2spk``; ``spk2utt`` is derived from it):

=====================  ====================================================================
``wav.scp``            recording id -> extended filename (a path, ``path:offset``, ``cmd |``)
``segments``           utterance id -> recording id, start and end in seconds (end -1: to the
                       end), optional channel; without it each recording is one utterance
``utt2spk``            utterance id -> speaker id
``spk2utt``            speaker id -> its utterance ids (written from ``utt2spk``)
``text``               utterance id -> transcript
``feats.scp``          utterance id -> rxfilename of its features (``feats.ark:1234``)
``cmvn.scp``           speaker id -> rxfilename of its CMVN statistics
``utt2dur``            utterance id -> duration in seconds
``utt2num_frames``     utterance id -> number of feature frames
``spk2gender``         speaker id -> ``m`` or ``f``
=====================  ====================================================================

Example:
    >>> import pathlib, tempfile
    >>> data = DataDir()
    >>> data.add_recording("rec1", "/corpus/rec1.wav")
    >>> data.add_utterance("spk1-utt1", "spk1", recording="rec1", start=0.0, end=2.5, text="HELLO WORLD")
    >>> data.add_utterance("spk1-utt2", "spk1", recording="rec1", start=2.5, end=4.0, text="AGAIN")
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "train"
    >>> data.write(folder)
    >>> sorted(p.name for p in folder.iterdir())
    ['segments', 'spk2utt', 'text', 'utt2spk', 'wav.scp']
    >>> (folder / "spk2utt").read_text()
    'spk1 spk1-utt1 spk1-utt2\\n'
    >>> DataDir.read(folder).segments["spk1-utt2"]
    Segment(recording='rec1', start=2.5, end=4.0, channel=None)
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from tympan.core.errors import InvalidParameterError, KaldiFormatError
from tympan.plugins.kaldi.datadir.files import Line, read_table, write_table

__all__ = ["FILES", "DataDir", "Segment"]

#: Every file a data directory may hold, in the order they are read.
FILES = (
    "wav.scp",
    "segments",
    "utt2spk",
    "spk2utt",
    "text",
    "feats.scp",
    "cmvn.scp",
    "utt2dur",
    "utt2num_frames",
    "spk2gender",
)


@dataclass(frozen=True)
class Segment:
    """Where an utterance lies in a recording: ``start`` and ``end`` in seconds (``end == -1``: to the end).

    Example:
        >>> Segment("rec1", 0.5, 2.0).duration
        1.5
    """

    recording: str
    start: float
    end: float
    channel: int | None = None

    @property
    def duration(self) -> float | None:
        """``end - start``, or ``None`` when the segment runs to the end of the recording."""
        return None if self.end == -1 else self.end - self.start

    def __str__(self) -> str:
        times = f"{self.recording} {self.start:g} {self.end:g}"
        return times if self.channel is None else f"{times} {self.channel}"


def _number(text: str, name: str, line: int, what: str, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise KaldiFormatError(name, f"{what} {text!r} is not a number", line=line) from None
    if not math.isfinite(value):
        raise KaldiFormatError(name, f"{what} {text!r} is not finite", line=line)
    return value


def _segment(line: Line, name: str) -> Segment:
    fields = line.value.split()
    if len(fields) not in (3, 4):
        raise KaldiFormatError(name, "expected 'UTT RECORDING START END [CHANNEL]'", line=line.number)
    start = _number(fields[1], name, line.number, "start time")
    end = _number(fields[2], name, line.number, "end time")
    channel = int(_number(fields[3], name, line.number, "channel", integer=True)) if len(fields) == 4 else None
    return Segment(fields[0], start, end, channel)


@dataclass
class DataDir:
    """The contents of a Kaldi data directory; each file is a mapping from key to value.

    Build one with :meth:`add_recording` and :meth:`add_utterance` (or fill the mappings), write it with
    :meth:`write`; read one with :meth:`read`. :func:`~tympan.plugins.kaldi.datadir.validate` checks it
    as ``utils/validate_data_dir.sh`` does, :func:`~tympan.plugins.kaldi.datadir.fix` drops what is
    inconsistent as ``utils/fix_data_dir.sh`` does.

    Example:
        >>> data = DataDir(utt2spk={"s1-a": "s1", "s2-b": "s2", "s1-c": "s1"})
        >>> data.spk2utt
        {'s1': ['s1-a', 's1-c'], 's2': ['s2-b']}
    """

    wav_scp: dict[str, str] = field(default_factory=dict)
    segments: dict[str, Segment] = field(default_factory=dict)
    utt2spk: dict[str, str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)
    feats_scp: dict[str, str] = field(default_factory=dict)
    cmvn_scp: dict[str, str] = field(default_factory=dict)
    utt2dur: dict[str, float] = field(default_factory=dict)
    utt2num_frames: dict[str, int] = field(default_factory=dict)
    spk2gender: dict[str, str] = field(default_factory=dict)
    #: Where each entry came from: file name -> key -> 1-based line (filled by :meth:`read`).
    lines: dict[str, dict[str, int]] = field(default_factory=dict, repr=False, compare=False)
    #: The ``spk2utt`` file as read (speaker -> utterances), kept to check it against ``utt2spk``.
    spk2utt_file: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)

    @property
    def spk2utt(self) -> dict[str, list[str]]:
        """Speaker -> its utterances, both sorted (derived from :attr:`utt2spk`)."""
        speakers: dict[str, list[str]] = {}
        for utterance in sorted(self.utt2spk):
            speakers.setdefault(self.utt2spk[utterance], []).append(utterance)
        return dict(sorted(speakers.items()))

    @property
    def utterances(self) -> list[str]:
        """The utterance ids (of ``utt2spk``), sorted."""
        return sorted(self.utt2spk)

    def recording_of(self, utterance: str) -> tuple[str, Segment | None]:
        """The recording id an utterance comes from and its segment (``None``: the whole recording).

        Example:
            >>> DataDir(utt2spk={"u": "s"}, wav_scp={"u": "u.wav"}).recording_of("u")
            ('u', None)
        """
        segment = self.segments.get(utterance)
        return (segment.recording, segment) if segment is not None else (utterance, None)

    def add_recording(self, recording: str, location: str | os.PathLike[str]) -> None:
        """Add a ``wav.scp`` entry: a path, ``archive:offset`` or a command ending in ``|``."""
        self.wav_scp[_key(recording, "recording")] = os.fspath(location)

    def add_utterance(
        self,
        utterance: str,
        speaker: str,
        *,
        recording: str | None = None,
        start: float | None = None,
        end: float | None = None,
        channel: int | None = None,
        text: str | None = None,
    ) -> None:
        """Add an utterance of ``speaker``: a segment of ``recording`` when times are given, and its transcript.

        Without ``start``/``end`` the utterance is the whole recording, which must then share its id
        (Kaldi's convention when there is no ``segments`` file). Kaldi recipes make speaker ids prefixes
        of utterance ids, so that sorting by either gives the same order; :func:`validate` checks this.
        """
        self.utt2spk[_key(utterance, "utterance")] = _key(speaker, "speaker")
        if start is not None or end is not None:
            if recording is None:
                raise InvalidParameterError("DataDir.add_utterance", [f"{utterance}: a segment needs its recording"])
            self.segments[utterance] = Segment(
                recording, float(start or 0.0), -1.0 if end is None else float(end), channel
            )
        elif recording is not None and recording != utterance:
            problem = f"{utterance}: without times, the recording must share the utterance's id"
            raise InvalidParameterError("DataDir.add_utterance", [problem])
        if text is not None:
            self.text[utterance] = " ".join(text.split())

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> DataDir:
        """Read every file present in the directory ``path``.

        Raises :class:`~tympan.core.errors.KaldiFormatError` naming the file and line of the first entry
        that cannot be parsed (a missing value, a repeated key, a time that is not a number); consistency
        between files is :func:`validate`'s job.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise KaldiFormatError(os.fspath(folder), "not a directory")
        data = cls()
        tables: dict[str, dict[str, Line]] = {}
        for name in FILES:
            if (folder / name).is_file():
                tables[name] = read_table(folder / name, allow_empty=name == "text")
                data.lines[name] = {key: line.number for key, line in tables[name].items()}
        plain = {"wav.scp": data.wav_scp, "utt2spk": data.utt2spk, "text": data.text, "feats.scp": data.feats_scp}
        plain |= {"cmvn.scp": data.cmvn_scp, "spk2gender": data.spk2gender}
        for name, target in plain.items():
            target.update({key: line.value for key, line in tables.get(name, {}).items()})
        where = {name: os.fspath(folder / name) for name in FILES}
        for key, line in tables.get("segments", {}).items():
            data.segments[key] = _segment(line, where["segments"])
        for key, line in tables.get("utt2dur", {}).items():
            data.utt2dur[key] = _number(line.value, where["utt2dur"], line.number, "duration")
        for key, line in tables.get("utt2num_frames", {}).items():
            frames = _number(line.value, where["utt2num_frames"], line.number, "frame count", integer=True)
            data.utt2num_frames[key] = int(frames)
        if "spk2utt" in tables:
            data.spk2utt_file = {key: line.value.split() for key, line in tables["spk2utt"].items()}
        return data

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the directory: each non-empty file sorted, atomically, and ``spk2utt`` from ``utt2spk``.

        Files of the list above that this data directory leaves empty are removed, so that no stale file
        (an old ``feats.scp``) contradicts the new ones. Other files are left alone.
        """
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        contents: dict[str, dict[str, object]] = {
            "wav.scp": dict(self.wav_scp),
            "segments": {k: str(v) for k, v in self.segments.items()},
            "utt2spk": dict(self.utt2spk),
            "spk2utt": {k: " ".join(v) for k, v in self.spk2utt.items()},
            "text": dict(self.text),
            "feats.scp": dict(self.feats_scp),
            "cmvn.scp": dict(self.cmvn_scp),
            "utt2dur": {k: f"{v:g}" for k, v in self.utt2dur.items()},
            "utt2num_frames": dict(self.utt2num_frames),
            "spk2gender": dict(self.spk2gender),
        }
        for name, table in contents.items():
            if table:
                write_table(folder / name, table)
            elif (folder / name).is_file():
                (folder / name).unlink()


def _key(value: str, what: str) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        problem = f"{what}: invalid id {value!r} (ids are non-empty, without whitespace)"
        raise InvalidParameterError("DataDir", [problem])
    return value
