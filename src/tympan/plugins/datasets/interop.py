"""Every corpus to a Kaldi data directory and to lhotse manifests, and both back as datasets.

- :func:`to_kaldi_dir` writes ``wav.scp``, ``text``, ``utt2spk``, ``spk2utt``, ``utt2dur`` (and ``segments``
  for corpora of segments) through :class:`tympan.plugins.kaldi.datadir.DataDir`: sorted as Kaldi's
  ``sort`` expects, each file atomically; ``data:kaldi_dir`` (:class:`KaldiDir`) reads such a directory
  with :meth:`DataDir.read <tympan.plugins.kaldi.datadir.DataDir.read>` (a malformed line is a
  ``KaldiFormatError`` naming its file and line; ``cmd |`` and ``archive:offset`` entries are refused).
- :func:`to_lhotse` writes ``recordings.jsonl``, ``supervisions.jsonl`` and ``cuts.jsonl`` that
  ``lhotse.load_manifest`` reads; ``data:lhotse`` (:class:`LhotseCuts`) reads cuts back, one item per cut.

A record's text is its ``transcript`` (or ``normalized_text``, ``transcription``, ``label``) and its speaker
its ``speaker_id`` (or ``speaker``), else the item id.

Example:
    >>> import pathlib, tempfile
    >>> from tympan.plugins.datasets.corpus import Record
    >>> items = [Record(id="a-1", path="/data/a1.wav", sample_rate=16000, num_frames=16000, duration=1.0)]
    >>> out = to_kaldi_dir(items, pathlib.Path(tempfile.mkdtemp()) / "data")
    >>> (out / "wav.scp").read_text(), (out / "utt2spk").read_text()
    ('a-1 /data/a1.wav\\n', 'a-1 a-1\\n')
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tympan.core.errors import DatasetLayoutError
from tympan.core.files import atomic_write
from tympan.plugins.datasets.corpus import Corpus, Record, require_file

__all__ = ["KaldiDir", "KaldiRecord", "LhotseCuts", "to_kaldi_dir", "to_lhotse"]

_TEXT_FIELDS = ("transcript", "normalized_text", "transcription", "sentence", "label")
_SPEAKER_FIELDS = ("speaker_id", "speaker")


def _records(dataset: Any) -> Iterable[Any]:
    reader = getattr(dataset, "metadata", None)
    return (reader(i) if reader is not None else dataset[i] for i in range(len(dataset)))


def _text(record: Any) -> str | None:
    for name in _TEXT_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            return " ".join(str(value).split())
    return None


def _speaker(record: Any) -> str:
    for name in _SPEAKER_FIELDS:
        value = getattr(record, name, None)
        if value is not None:
            return str(value)
    return str(record.id)


def _token(value: str) -> str:
    return "_".join(str(value).split())


def _segment(record: Any) -> tuple[float, float] | None:
    start, end = getattr(record, "start_time", None), getattr(record, "end_time", None)
    return (float(start), float(end)) if start is not None and end is not None else None


def to_kaldi_dir(dataset: Any, out: str | os.PathLike[str]) -> Path:
    """Write ``dataset`` (records from ``metadata``) as a Kaldi data directory ``out``; return its path.

    The directory is built and written by :class:`tympan.plugins.kaldi.datadir.DataDir` (sorted as Kaldi's
    tools expect, each file atomically), with ``utt2dur`` from the records. Utterance and speaker ids have
    spaces replaced by ``_``. Corpora of segments (TED-LIUM) get a ``segments`` file and one ``wav.scp``
    entry per recording.
    """
    from tympan.plugins.kaldi.datadir import DataDir

    data = DataDir()
    for record in _records(dataset):
        utterance, speaker = _token(record.id), _token(_speaker(record))
        span = _segment(record)
        if span is None:
            data.add_recording(utterance, record.path)
            data.add_utterance(utterance, speaker, text=_text(record))
        else:
            recording = _token(Path(record.path).stem)
            data.add_recording(recording, record.path)
            data.add_utterance(utterance, speaker, recording=recording, start=span[0], end=span[1], text=_text(record))
        data.utt2dur[utterance] = float(record.duration)
    folder = Path(out)
    data.write(folder)
    return folder


@dataclass(frozen=True, kw_only=True)
class KaldiRecord(Record):
    """An utterance of a Kaldi data directory; ``start_time``/``end_time`` are set for segments.

    Example:
        >>> KaldiRecord(id="u", path="a.wav", sample_rate=16000, num_frames=1, duration=0.0, transcript="HI",
        ...             speaker_id="s", recording_id="a").recording_id
        'a'
    """

    transcript: str | None
    speaker_id: str
    recording_id: str
    start_time: float | None = None
    end_time: float | None = None


class KaldiDir(Corpus):
    """A Kaldi data directory (``root``): ``wav.scp`` with plain paths, ``utt2spk``, optional ``text``, ``segments``.

    Example:
        >>> KaldiDir.layout
        'root/wav.scp, root/utt2spk, optional root/text and root/segments'
    """

    qualified_name = "data:kaldi_dir"
    record_type = KaldiRecord
    layout = "root/wav.scp, root/utt2spk, optional root/text and root/segments"

    def scan(self) -> Iterable[dict[str, Any]]:
        from tympan.plugins.kaldi.datadir import DataDir

        for name in ("wav.scp", "utt2spk"):
            require_file(self.root_path / name, self.layout)
        data = DataDir.read(self.root_path)
        for recording, location in data.wav_scp.items():
            self._check_location(recording, location, data.lines["wav.scp"].get(recording))
        if data.segments:
            return self._segments(data)
        entries = [
            {
                "id": utt,
                "path": data.wav_scp[utt],
                "transcript": data.text.get(utt),
                "speaker_id": spk,
                "recording_id": utt,
            }
            for utt, spk in sorted(data.utt2spk.items())
            if utt in data.wav_scp
        ]
        return self.keep_existing(entries)

    def _check_location(self, recording: str, location: str, line: int | None) -> None:
        from tympan.plugins.kaldi.io.specifiers import parse_extended_filename

        kind = parse_extended_filename(location, allow_range=False).kind
        if kind != "file":
            what = {"pipe": "a piped command", "offset": "audio inside an archive"}.get(kind, "standard input")
            where = f"{self.root_path / 'wav.scp'}: line {line}" if line else self.root_path / "wav.scp"
            raise DatasetLayoutError(where, f"{recording}: {what} is not read as a corpus ({location!r})")

    def _segments(self, data: Any) -> Iterable[dict[str, Any]]:
        from tympan.plugins.io.api import info

        headers: dict[str, tuple[int, int]] = {}
        for utterance in sorted(data.segments):
            segment = data.segments[utterance]
            path = data.wav_scp.get(segment.recording)
            if path is None:
                raise DatasetLayoutError(
                    self.root_path / "segments", f"{utterance}: recording {segment.recording!r} is not in wav.scp"
                )
            if segment.recording not in headers:
                header = info(require_file(Path(path), self.layout))
                headers[segment.recording] = (header.sample_rate, header.num_frames)
            rate, frames = headers[segment.recording]
            # samples as Kaldi's extract-segments takes them (tympan.plugins.kaldi.datadir.cut_segment)
            first = int(segment.start * rate + 0.5)
            last = frames if segment.end == -1 else min(int(segment.end * rate + 0.5), frames)
            yield {
                "id": utterance,
                "path": path,
                "transcript": data.text.get(utterance),
                "speaker_id": data.utt2spk.get(utterance, utterance),
                "recording_id": segment.recording,
                "start_time": float(segment.start),
                "end_time": float(segment.end) if segment.end != -1 else frames / rate,
                "frame_offset": first,
                "num_frames": max(last - first, 0),
            }


def to_lhotse(dataset: Any, out: str | os.PathLike[str]) -> Path:
    """Write ``recordings.jsonl``, ``supervisions.jsonl`` and ``cuts.jsonl`` for ``dataset`` into ``out``.

    Each item is one supervision; recordings are the audio files (segments of one file share it).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    recordings: dict[str, dict[str, Any]] = {}
    supervisions, cuts = [], []
    for record in _records(dataset):
        span = _segment(record)
        recording_id = _token(Path(record.path).stem) if span else _token(record.id)
        if recording_id not in recordings:
            from tympan.plugins.io.api import info

            header = info(record.path)
            channels = list(range(header.num_channels))
            recordings[recording_id] = {
                "id": recording_id,
                "sources": [{"type": "file", "channels": channels, "source": os.fspath(record.path)}],
                "sampling_rate": header.sample_rate,
                "num_samples": header.num_frames,
                "duration": header.num_frames / header.sample_rate,
                "channel_ids": channels,
            }
        start, duration = (span[0], span[1] - span[0]) if span else (0.0, recordings[recording_id]["duration"])
        supervision = {
            "id": _token(record.id),
            "recording_id": recording_id,
            "start": start,
            "duration": duration,
            "channel": 0,
        }
        if _text(record) is not None:
            supervision["text"] = _text(record)
        supervision["speaker"] = _speaker(record)
        supervisions.append(supervision)
        relative = {**supervision, "start": 0.0}
        cut = {"id": _token(record.id), "start": start, "duration": duration, "channel": 0, "supervisions": [relative]}
        cuts.append({**cut, "recording": recordings[recording_id], "type": "MonoCut"})
    for name, rows in (("recordings", recordings.values()), ("supervisions", supervisions), ("cuts", cuts)):
        with atomic_write(folder / f"{name}.jsonl") as handle:
            handle.write("".join(json.dumps(row) + "\n" for row in rows).encode())
    return folder


@dataclass(frozen=True, kw_only=True)
class LhotseRecord(Record):
    """A lhotse cut: its first supervision's text and speaker, and its place in the recording.

    Example:
        >>> LhotseRecord(id="c", path="a.flac", sample_rate=16000, num_frames=1, duration=0.0, transcript=None,
        ...              speaker_id=None, recording_id="a", start_time=0.0).recording_id
        'a'
    """

    transcript: str | None
    speaker_id: str | None
    recording_id: str
    start_time: float


class LhotseCuts(Corpus):
    """A lhotse cut manifest (``root/cuts.jsonl``, ``subset`` names another file) of mono cuts on audio files.

    Example:
        >>> LhotseCuts.default_subset
        'cuts.jsonl'
    """

    qualified_name = "data:lhotse"
    default_subset = "cuts.jsonl"
    record_type = LhotseRecord
    layout = "root/<subset> (JSON lines of MonoCut with a file recording)"

    def scan(self) -> Iterable[dict[str, Any]]:
        manifest = require_file(self.root_path / str(self.subset), self.layout)
        with open(manifest, encoding="utf-8") as handle:
            rows: Sequence[dict[str, Any]] = [json.loads(line) for line in handle if line.strip()]
        entries = []
        for row in rows:
            recording = row["recording"]
            rate = int(recording["sampling_rate"])
            supervision = (row.get("supervisions") or [{}])[0]
            entries.append(
                {
                    "id": row["id"],
                    "path": recording["sources"][0]["source"],
                    "transcript": supervision.get("text"),
                    "speaker_id": supervision.get("speaker"),
                    "recording_id": recording["id"],
                    "start_time": float(row["start"]),
                    "frame_offset": round(float(row["start"]) * rate),
                    "num_frames": round(float(row["duration"]) * rate),
                }
            )
        return self.keep_existing(entries)
