"""Speech corpora with their own listings: Common Voice, TED-LIUM 1-3, QUESST 2014 and IEMOCAP.

Example:
    >>> TEDLIUM.subsets, QUESST14.subsets
    (('train', 'dev', 'test'), ('docs', 'dev', 'eval'))
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from tympan.core.params import validated_arguments
from tympan.plugins.datasets import resources
from tympan.plugins.datasets.corpus import (
    Channels,
    Corpus,
    Download,
    Rate,
    Record,
    Root,
    Strict,
    Subset,
    require_file,
)

__all__ = [
    "IEMOCAP",
    "IEMOCAPRecord",
    "QUESST14",
    "QUESST14Record",
    "TEDLIUM",
    "TEDLIUMRecord",
    "CommonVoice",
    "CommonVoiceRecord",
]


@dataclass(frozen=True, kw_only=True)
class CommonVoiceRecord(Record):
    """A Common Voice clip: every column of its tsv row in ``fields``, the sentence and the client.

    Example:
        >>> CommonVoiceRecord(id="common_voice_en_1", path="a.mp3", sample_rate=48000, num_frames=1, duration=0.0,
        ...                   fields={"sentence": "Hi."}, transcript="Hi.", speaker_id="c1").transcript
        'Hi.'
    """

    fields: dict[str, str]
    transcript: str
    speaker_id: str


class CommonVoice(Corpus):
    """Mozilla Common Voice, any release: ``root`` is a language folder with ``<subset>.tsv`` and ``clips/``.

    ``subset`` names the tsv (``train``, ``dev``, ``test``, ``validated``, ``other``, ...); placed by hand.

    Example:
        >>> CommonVoice.default_subset
        'train'
    """

    qualified_name = "data:common_voice"
    default_subset = "train"
    record_type = CommonVoiceRecord
    layout = "root/<subset>.tsv (client_id, path, sentence, ...) and root/clips/<path>"
    homepage = "https://commonvoice.mozilla.org"
    license = "CC0"

    def scan(self) -> Iterable[dict[str, Any]]:
        table = require_file(self.root_path / f"{self.subset}.tsv", self.layout)
        with open(table, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
        if not rows or len(rows[0]) < 2 or rows[0][1] != "path":
            raise ValueError(f"{table}: the second column must be 'path', found {rows[0][:2] if rows else 'nothing'}")
        header = rows[0]
        entries = []
        for row in rows[1:]:
            fields = dict(zip(header, row, strict=False))
            name = row[1] if row[1].endswith(".mp3") else row[1] + ".mp3"
            entries.append(
                {
                    "id": Path(name).stem,
                    "path": os.fspath(self.root_path / "clips" / name),
                    "fields": fields,
                    "transcript": fields.get("sentence", ""),
                    "speaker_id": fields.get("client_id", ""),
                }
            )
        return self.keep_existing(entries)


@dataclass(frozen=True, kw_only=True)
class TEDLIUMRecord(Record):
    """A TED-LIUM segment (one stm line): its talk, speaker, times in seconds and transcript.

    Example:
        >>> TEDLIUMRecord(id="AaronHuey_2010X-0000000-0000325", path="a.sph", sample_rate=16000, num_frames=1,
        ...               duration=0.0, transcript="hi", talk_id="AaronHuey_2010X", speaker_id="AaronHuey_2010X",
        ...               identifier="<o,f0,male>", start_time=0.0, end_time=3.25).end_time
        3.25
    """

    transcript: str
    talk_id: str
    speaker_id: str
    identifier: str
    start_time: float
    end_time: float


_TEDLIUM_FOLDERS = {"release1": "TEDLIUM_release1", "release2": "TEDLIUM_release2", "release3": "TEDLIUM_release-3"}


class TEDLIUM(Corpus):
    """TED-LIUM releases 1, 2 and 3: TED talks at 16 kHz, one item per stm segment.

    Example:
        >>> TEDLIUM.layout.split(" and ")[1]
        'sph/<talk>.sph'
    """

    qualified_name = "data:tedlium"
    resources = resources.TEDLIUM
    archive_key = "release"
    subsets = ("train", "dev", "test")
    default_subset = "train"
    record_type = TEDLIUMRecord
    layout = (
        "root/<TEDLIUM_release1|TEDLIUM_release2|TEDLIUM_release-3>/[data/|legacy/]<subset>/stm/<talk>.stm"
        " and sph/<talk>.sph"
    )
    homepage = "https://www.openslr.org/51"
    license = "CC BY-NC-ND 3.0"

    def __init__(
        self,
        root: Root,
        release: Annotated[Literal["release1", "release2", "release3"], Field(description="The release.")] = "release1",
        subset: Subset = None,
        download: Download = False,
        audio_ext: Annotated[str, Field(max_length=16, description="The audio files' extension.")] = ".sph",
        *,
        strict: Strict = True,
        sample_rate: Rate = None,
        channels: Channels = None,
    ) -> None:
        validated_arguments(type(self), locals())
        self.release, self.audio_ext = release, audio_ext
        super().__init__(root, subset, download, strict=strict, sample_rate=sample_rate, channels=channels)

    def scan(self) -> Iterable[dict[str, Any]]:
        folder = _TEDLIUM_FOLDERS[self.release]
        if self.release == "release3":
            parts = (folder, "data") if self.subset == "train" else (folder, "legacy", str(self.subset))
        else:
            parts = (folder, str(self.subset))
        base = self.corpus_dir(*parts)
        for name in sorted(os.listdir(self.corpus_dir(*parts, "stm"))):
            if not name.endswith(".stm"):
                continue
            talk = name[: -len(".stm")]
            audio = base / "sph" / f"{talk}{self.audio_ext}"
            if not audio.is_file():
                self.missing(audio)
                continue
            with open(base / "stm" / name, encoding="utf-8") as handle:
                for line in handle:
                    talk_id, _, speaker, start, end, identifier, text = line.split(" ", 6)
                    first, last = int(float(start) * 16000), int(float(end) * 16000)
                    yield {
                        "id": f"{talk_id}-{round(float(start) * 100):07d}-{round(float(end) * 100):07d}",
                        "path": os.fspath(audio),
                        "transcript": text.rstrip("\r\n"),
                        "talk_id": talk_id,
                        "speaker_id": speaker,
                        "identifier": identifier,
                        "start_time": float(start),
                        "end_time": float(end),
                        "frame_offset": first,
                        "num_frames": last - first,
                    }


@dataclass(frozen=True, kw_only=True)
class QUESST14Record(Record):
    """A QUESST 2014 query or document (``file_name``).

    Example:
        >>> QUESST14Record(id="quesst14_00001", path="a.wav", sample_rate=8000, num_frames=1, duration=0.0,
        ...                file_name="quesst14_00001").file_name
        'quesst14_00001'
    """

    file_name: str


QUESST14_LANGUAGES = ("albanian", "basque", "czech", "nnenglish", "romanian", "slovak")
_QUESST_LISTS = {"docs": "language_key_utterances.lst", "dev": "language_key_dev.lst", "eval": "language_key_eval.lst"}


class QUESST14(Corpus):
    """QUESST 2014 query-by-example search: documents and dev/eval queries at 8 kHz, filtered by ``language``.

    Example:
        >>> QUESST14_LANGUAGES[3]
        'nnenglish'
    """

    qualified_name = "data:quesst14"
    subsets = tuple(_QUESST_LISTS)
    default_subset = "docs"
    record_type = QUESST14Record
    layout = (
        "root/quesst14Database/scoring/language_key_<utterances|dev|eval>.lst"
        " and <Audio|dev_queries|eval_queries>/*.wav"
    )
    resources = resources.QUESST14
    homepage = (
        "https://speech.fit.vutbr.cz/software/quesst-2014-multilingual-database-query-by-example-keyword-spotting"
    )
    license = "research use"

    def __init__(
        self,
        root: Root,
        subset: Subset = None,
        language: Annotated[str | None, Field(description="Keep one language (None: all).")] = "nnenglish",
        download: Download = False,
        *,
        strict: Strict = True,
        sample_rate: Rate = None,
        channels: Channels = None,
    ) -> None:
        validated_arguments(type(self), locals())
        if language is not None and language not in QUESST14_LANGUAGES:
            raise ValueError(f"unknown language {language!r}; valid: {', '.join(QUESST14_LANGUAGES)} or None")
        self.language = language
        super().__init__(root, subset, download, strict=strict, sample_rate=sample_rate, channels=channels)

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("quesst14Database")
        listing = require_file(base / "scoring" / _QUESST_LISTS[str(self.subset)], self.layout)
        entries = []
        with open(listing, encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                audio, language = line.strip().split()
                if self.language is not None and language != self.language:
                    continue
                path = base / re.sub(r"^.*?/", "", audio)
                name = path.with_suffix("").name
                entries.append({"id": name, "path": os.fspath(path), "file_name": name})
        return self.keep_existing(entries)


@dataclass(frozen=True, kw_only=True)
class IEMOCAPRecord(Record):
    """An IEMOCAP utterance with its emotion ``label`` and ``speaker``.

    Example:
        >>> IEMOCAPRecord(id="Ses01F_impro01_F000", path="a.wav", sample_rate=16000, num_frames=1, duration=0.0,
        ...               wav_stem="Ses01F_impro01_F000", label="neu", speaker="Ses01F").label
        'neu'
    """

    wav_stem: str
    label: str
    speaker: str


_IEMOCAP_LABELS = frozenset({"neu", "hap", "ang", "sad", "exc", "fru"})


class IEMOCAP(Corpus):
    """IEMOCAP: dyadic sessions with emotion labels (neu, hap, ang, sad, exc, fru kept); placed by hand.

    Example:
        >>> IEMOCAP.layout
        'root/IEMOCAP/Session<n>/sentences/wav/<dialog>/<utterance>.wav and dialog/EmoEvaluation/<dialog>.txt'
    """

    qualified_name = "data:iemocap"
    record_type = IEMOCAPRecord
    layout = "root/IEMOCAP/Session<n>/sentences/wav/<dialog>/<utterance>.wav and dialog/EmoEvaluation/<dialog>.txt"
    homepage = "https://sail.usc.edu/iemocap/"
    license = "IEMOCAP release agreement"

    def __init__(
        self,
        root: Root,
        sessions: Annotated[tuple[int, ...], Field(description="The sessions to read (1-5).")] = (1, 2, 3, 4, 5),
        utterance_type: Annotated[
            Literal["scripted", "improvised"] | None, Field(description="Only scripted or improvised dialogs.")
        ] = None,
        *,
        strict: Strict = True,
        sample_rate: Rate = None,
        channels: Channels = None,
    ) -> None:
        validated_arguments(type(self), locals())
        self.sessions, self.utterance_type = tuple(sessions), utterance_type
        super().__init__(root, None, False, strict=strict, sample_rate=sample_rate, channels=channels)

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("IEMOCAP")
        pattern = {"scripted": "*script*.txt", "improvised": "*impro*.txt"}.get(str(self.utterance_type), "*.txt")
        for session in self.sessions:
            folder = base / f"Session{session}"
            audio = sorted(os.fspath(path) for path in (folder / "sentences" / "wav").glob("*/*.wav"))
            stems = {Path(path).stem for path in audio}
            labels = {}
            for table in (folder / "dialog" / "EmoEvaluation").glob(pattern):
                with open(table, encoding="utf-8") as handle:
                    for line in handle:
                        if line.startswith("["):
                            fields = re.split("[\t\n]", line)
                            if fields[1] in stems and fields[2] in _IEMOCAP_LABELS:
                                labels[fields[1]] = fields[2]
            for path in audio:
                stem = Path(path).stem
                if stem in labels:
                    yield {
                        "id": stem,
                        "path": path,
                        "wav_stem": stem,
                        "label": labels[stem],
                        "speaker": stem.split("_")[0],
                    }
