"""Spoken commands and intents: Speech Commands (v1/v2), Fluent Speech Commands and SNIPS.

Example:
    >>> SpeechCommands.subsets
    (None, 'training', 'validation', 'testing')
"""

from __future__ import annotations

import csv
import os
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
    "FluentSpeechCommands",
    "FluentSpeechCommandsRecord",
    "Snips",
    "SnipsRecord",
    "SpeechCommands",
    "SpeechCommandsRecord",
]

_NOHASH = "_nohash_"
_NOISE = "_background_noise_"


@dataclass(frozen=True, kw_only=True)
class SpeechCommandsRecord(Record):
    """A one-second keyword clip: the word (``label``), the speaker hash and the take number.

    Example:
        >>> SpeechCommandsRecord(id="yes/0a7c2a8d_nohash_0", path="a.wav", sample_rate=16000, num_frames=16000,
        ...                      duration=1.0, label="yes", speaker_id="0a7c2a8d", utterance_number=0).label
        'yes'
    """

    label: str
    speaker_id: str
    utterance_number: int


class SpeechCommands(Corpus):
    """Speech Commands v0.01 / v0.02 (``url``), whole or split by the official lists (``subset``).

    ``subset=None`` is every keyword clip; ``"validation"`` and ``"testing"`` follow
    ``validation_list.txt`` and ``testing_list.txt``; ``"training"`` is the rest. ``_background_noise_`` is
    never an item.

    Example:
        >>> SpeechCommands.layout
        'root/SpeechCommands/<url>/<word>/<speaker>_nohash_<n>.wav with validation_list.txt and testing_list.txt'
    """

    qualified_name = "data:speech_commands"
    resources = resources.SPEECH_COMMANDS
    archive_key = "url"
    subsets = (None, "training", "validation", "testing")
    record_type = SpeechCommandsRecord
    layout = "root/SpeechCommands/<url>/<word>/<speaker>_nohash_<n>.wav with validation_list.txt and testing_list.txt"
    homepage = "https://arxiv.org/abs/1804.03209"
    license = "CC BY 4.0"

    def __init__(
        self,
        root: Root,
        url: Annotated[
            Literal["speech_commands_v0.01", "speech_commands_v0.02"], Field(description="The release.")
        ] = "speech_commands_v0.02",
        download: Download = False,
        subset: Subset = None,
        *,
        strict: Strict = True,
        sample_rate: Rate = None,
        channels: Channels = None,
    ) -> None:
        validated_arguments(type(self), locals())
        self.url = url
        super().__init__(root, subset, download, strict=strict, sample_rate=sample_rate, channels=channels)

    def _listed(self, base: Path, *names: str) -> list[str]:
        listed = []
        for name in names:
            with open(require_file(base / name, self.layout), encoding="utf-8") as handle:
                listed += [os.path.normpath(base / line.strip()) for line in handle if line.strip()]
        return listed

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("SpeechCommands", self.url)
        if self.subset in ("validation", "testing"):
            paths = self._listed(base, f"{self.subset}_list.txt")
        else:
            every = sorted(os.fspath(path) for path in base.glob("*/*.wav"))
            paths = [path for path in every if _NOHASH in path and _NOISE not in path]
            if self.subset == "training":
                excluded = set(self._listed(base, "validation_list.txt", "testing_list.txt"))
                paths = [path for path in paths if os.path.normpath(path) not in excluded]
        entries = []
        for path in paths:
            label = os.path.basename(os.path.dirname(path))
            speaker, _, number = Path(path).stem.partition(_NOHASH)
            entries.append(
                {
                    "id": f"{label}/{Path(path).stem}",
                    "path": path,
                    "label": label,
                    "speaker_id": speaker,
                    "utterance_number": int(number),
                }
            )
        return self.keep_existing(entries)


@dataclass(frozen=True, kw_only=True)
class FluentSpeechCommandsRecord(Record):
    """A Fluent Speech Commands utterance and its intent slots.

    Example:
        >>> FluentSpeechCommandsRecord(id="4BrX8aDqK2cLZRYl/b1", path="a.wav", sample_rate=16000, num_frames=1,
        ...     duration=0.0, file_name="b1", speaker_id="4BrX8aDqK2cLZRYl", transcription="Turn on the lights",
        ...     action="activate", object="lights", location="none").action
        'activate'
    """

    file_name: str
    speaker_id: str
    transcription: str
    action: str
    object: str
    location: str


class FluentSpeechCommands(Corpus):
    """Fluent Speech Commands: spoken commands for a smart home with action/object/location; placed by hand.

    Example:
        >>> FluentSpeechCommands.subsets
        ('train', 'valid', 'test')
    """

    qualified_name = "data:fluent_speech_commands"
    subsets = ("train", "valid", "test")
    default_subset = "train"
    record_type = FluentSpeechCommandsRecord
    layout = "root/fluent_speech_commands_dataset/data/<subset>_data.csv and wavs/speakers/<speaker>/<file>.wav"
    homepage = "https://fluent.ai/fluent-speech-commands-a-dataset-for-spoken-language-understanding-research/"
    license = "Fluent Speech Commands Public License"

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("fluent_speech_commands_dataset")
        table = require_file(base / "data" / f"{self.subset}_data.csv", self.layout)
        with open(table, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        column = rows[0].index("path") if rows and "path" in rows[0] else 1
        entries = []
        for row in rows[1:]:
            name = row[column].split("/")[-1].split(".")[0]
            speaker, transcription, action, obj, location = row[2:7]
            entries.append(
                {
                    "id": f"{speaker}/{name}",
                    "path": os.fspath(base / "wavs" / "speakers" / speaker / f"{name}.wav"),
                    "file_name": name,
                    "speaker_id": speaker,
                    "transcription": transcription,
                    "action": action,
                    "object": obj,
                    "location": location,
                }
            )
        return self.keep_existing(entries)


SNIPS_SPEAKERS = (
    "Aditi", "Amy", "Brian", "Emma", "Geraint", "Ivy", "Joanna", "Joey",
    "Justin", "Kendra", "Kimberly", "Matthew", "Nicole", "Raveena", "Russell", "Salli",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SnipsRecord(Record):
    """A SNIPS utterance: transcript, IOB slot tags and intent.

    Example:
        >>> SnipsRecord(id="Aditi-train-0", path="a.mp3", sample_rate=16000, num_frames=1, duration=0.0,
        ...             file_name="Aditi-train-0", transcript="turn on", iob="O O", intent="SwitchLightOn").intent
        'SwitchLightOn'
    """

    file_name: str
    transcript: str
    iob: str
    intent: str


class Snips(Corpus):
    """SNIPS smart-lights spoken language understanding (synthesized voices); placed by hand.

    Example:
        >>> Snips.layout
        'root/SNIPS/<subset>/<speaker>-<subset>-<n>.<mp3|wav> and all.iob.snips.txt'
    """

    qualified_name = "data:snips"
    subsets = ("train", "valid", "test")
    default_subset = "train"
    record_type = SnipsRecord
    layout = "root/SNIPS/<subset>/<speaker>-<subset>-<n>.<mp3|wav> and all.iob.snips.txt"
    homepage = "https://github.com/sonos/spoken-language-understanding-research-datasets"
    license = "see the corpus's licence"

    def __init__(
        self,
        root: Root,
        subset: Subset = None,
        speakers: Annotated[list[str] | None, Field(description="Keep these voices only (default: all).")] = None,
        audio_format: Annotated[Literal["mp3", "wav"], Field(description="The audio files to read.")] = "mp3",
        *,
        strict: Strict = True,
        sample_rate: Rate = None,
        channels: Channels = None,
    ) -> None:
        validated_arguments(type(self), locals())
        self.speakers = tuple(speakers) if speakers is not None else SNIPS_SPEAKERS
        self.audio_format = audio_format
        super().__init__(root, subset, False, strict=strict, sample_rate=sample_rate, channels=channels)

    def _labels(self, path: Path) -> dict[str, tuple[str, str, str]]:
        labels = {}
        with open(require_file(path, self.layout), encoding="utf-8") as handle:
            for line in handle:
                words = line.strip().split(" ")
                text, _, tagged = " ".join(words[1:]).partition("\t")
                tags = tagged.split(" ")
                if str(self.subset) in words[0]:
                    labels[words[0]] = (" ".join(text.split(" ")[1:-1]), " ".join(tags[1:-1]), tags[-1])
        return labels

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("SNIPS")
        audio = sorted((base / str(self.subset)).glob(f"*.{self.audio_format}"))
        labels = self._labels(base / "all.iob.snips.txt")
        for path in audio:
            if path.name.split("-")[0] not in self.speakers:
                continue
            if path.stem not in labels:
                self.missing(Path(f"{base / 'all.iob.snips.txt'} (line {path.stem})"))
                continue
            transcript, iob, intent = labels[path.stem]
            yield {
                "id": path.stem,
                "path": os.fspath(path),
                "file_name": path.stem,
                "transcript": transcript,
                "iob": iob,
                "intent": intent,
            }
