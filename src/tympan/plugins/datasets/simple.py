"""Single-folder corpora: YESNO, LJSpeech, VCTK 0.92, CMU ARCTIC and GTZAN.

Example:
    >>> YesNo.qualified_name, LJSpeech.qualified_name
    ('data:yesno', 'data:ljspeech')
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
from tympan.plugins.datasets.corpus import Channels, Corpus, Download, Rate, Record, Root, Strict, require_file

__all__ = [
    "CMUArctic",
    "CMUArcticRecord",
    "GTZAN",
    "GTZANRecord",
    "LJSpeech",
    "LJSpeechRecord",
    "VCTK",
    "VCTKRecord",
    "YesNo",
    "YesNoRecord",
]


@dataclass(frozen=True, kw_only=True)
class YesNoRecord(Record):
    """A YESNO recording: eight spoken yes (1) or no (0) ``labels``.

    Example:
        >>> YesNoRecord(id="0_1", path="0_1.wav", sample_rate=8000, num_frames=8, duration=0.001, labels=(0, 1)).labels
        (0, 1)
    """

    labels: tuple[int, ...]


class YesNo(Corpus):
    """YESNO: 60 recordings of one man saying yes or no in Hebrew, eight words each, at 8 kHz.

    Example:
        >>> YesNo.homepage
        'https://www.openslr.org/1'
    """

    qualified_name = "data:yesno"
    record_type = YesNoRecord
    layout = "root/waves_yesno/<0|1>_..._<0|1>.wav"
    resources = resources.YESNO
    homepage = "https://www.openslr.org/1"
    license = "CC BY 4.0"

    def scan(self) -> Iterable[dict[str, Any]]:
        folder = self.corpus_dir("waves_yesno")
        for path in sorted(folder.glob("*.wav"), key=lambda p: p.stem):
            yield {"id": path.stem, "path": os.fspath(path), "labels": tuple(int(c) for c in path.stem.split("_"))}


@dataclass(frozen=True, kw_only=True)
class LJSpeechRecord(Record):
    """An LJSpeech clip: the text as read and its normalized form.

    Example:
        >>> LJSpeechRecord(id="LJ001-0001", path="a.wav", sample_rate=22050, num_frames=1, duration=0.0,
        ...                transcript="Mr. Smith", normalized_transcript="Mister Smith").normalized_transcript
        'Mister Smith'
    """

    transcript: str
    normalized_transcript: str


class LJSpeech(Corpus):
    """LJSpeech 1.1: 13,100 clips of one speaker reading non-fiction, 22.05 kHz, for TTS.

    Example:
        >>> LJSpeech.layout
        'root/LJSpeech-1.1/metadata.csv and wavs/<id>.wav'
    """

    qualified_name = "data:ljspeech"
    record_type = LJSpeechRecord
    layout = "root/LJSpeech-1.1/metadata.csv and wavs/<id>.wav"
    resources = resources.LJSPEECH
    homepage = "https://keithito.com/LJ-Speech-Dataset/"
    license = "public domain"

    def scan(self) -> Iterable[dict[str, Any]]:
        folder = self.corpus_dir("LJSpeech-1.1")
        with open(require_file(folder / "metadata.csv", self.layout), encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="|", quoting=csv.QUOTE_NONE))
        entries = [
            {
                "id": key,
                "path": os.fspath(folder / "wavs" / f"{key}.wav"),
                "transcript": text,
                "normalized_transcript": norm,
            }
            for key, text, norm in rows
        ]
        return self.keep_existing(entries)


@dataclass(frozen=True, kw_only=True)
class VCTKRecord(Record):
    """A VCTK utterance.

    Example:
        >>> VCTKRecord(id="p225_001", path="a.flac", sample_rate=48000, num_frames=1, duration=0.0,
        ...            transcript="Please call Stella.", speaker_id="p225", utterance_id="001").utterance_id
        '001'
    """

    transcript: str
    speaker_id: str
    utterance_id: str


class VCTK(Corpus):
    """VCTK 0.92: 110 English speakers, 48 kHz FLAC from two microphones (``mic_id``: ``mic1`` or ``mic2``).

    Speakers are read from the transcript folder, as torchaudio does: p280 has no mic2 recordings and
    p362 lacks some; both are skipped where the audio is absent. Speakers without transcripts are ignored.

    Example:
        >>> VCTK.layout.split(" and ")[0]
        'root/VCTK-Corpus-0.92/txt/<speaker>/<speaker>_<utt>.txt'
    """

    qualified_name = "data:vctk"
    record_type = VCTKRecord
    layout = (
        "root/VCTK-Corpus-0.92/txt/<speaker>/<speaker>_<utt>.txt"
        " and wav48_silence_trimmed/<speaker>/<speaker>_<utt>_<mic>.flac"
    )
    resources = resources.VCTK
    homepage = "https://datashare.ed.ac.uk/handle/10283/3443"
    license = "CC BY 4.0"

    def __init__(
        self,
        root: Root,
        mic_id: Annotated[Literal["mic1", "mic2"], Field(description="The microphone.")] = "mic2",
        download: Download = False,
        *,
        strict: Strict = True,
        sample_rate: Rate = None,
        channels: Channels = None,
    ) -> None:
        validated_arguments(type(self), locals())
        self.mic_id = mic_id
        super().__init__(root, None, download, strict=strict, sample_rate=sample_rate, channels=channels)

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("VCTK-Corpus-0.92")
        texts = base / "txt"
        entries = []
        for speaker in sorted(os.listdir(texts)):
            if speaker == "p280" and self.mic_id == "mic2":
                continue
            for name in sorted(f for f in os.listdir(texts / speaker) if f.endswith(".txt")):
                key = name[: -len(".txt")]
                audio = base / "wav48_silence_trimmed" / speaker / f"{key}_{self.mic_id}.flac"
                if speaker == "p362" and not audio.is_file():
                    continue
                entry = {"id": key, "path": os.fspath(audio), "speaker_id": speaker, "utterance_id": key.split("_")[1]}
                entries.append((entry, texts / speaker / name))
        for entry, text in entries:
            entry["transcript"] = _first_line(text)
        return self.keep_existing([entry for entry, _ in entries])


def _first_line(path: Path) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.readline().rstrip("\r\n")


@dataclass(frozen=True, kw_only=True)
class CMUArcticRecord(Record):
    """A CMU ARCTIC prompt.

    Example:
        >>> CMUArcticRecord(id="aew_arctic_a0001", path="a.wav", sample_rate=16000, num_frames=1, duration=0.0,
        ...                 transcript="Author of the danger trail.", utterance_id="a0001").utterance_id
        'a0001'
    """

    transcript: str
    utterance_id: str


_ARCTIC_SPEAKERS = tuple(resources.CMU_ARCTIC)


class CMUArctic(Corpus):
    """CMU ARCTIC: about 1,150 phonetically balanced prompts per speaker, 16 kHz (``subset`` is the speaker).

    Example:
        >>> CMUArctic.subsets[:3]
        ('aew', 'ahw', 'aup')
    """

    qualified_name = "data:cmu_arctic"
    subsets = _ARCTIC_SPEAKERS
    default_subset = "aew"
    record_type = CMUArcticRecord
    layout = "root/ARCTIC/cmu_us_<speaker>_arctic/etc/txt.done.data and wav/<utterance>.wav"
    resources = resources.CMU_ARCTIC
    homepage = "http://festvox.org/cmu_arctic/"
    license = "free use (see the corpus's COPYING)"

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("ARCTIC", f"cmu_us_{self.subset}_arctic")
        prompts = require_file(base / "etc" / "txt.done.data", self.layout)
        entries = []
        with open(prompts, encoding="utf-8") as handle:
            for line in handle:
                fields = line.strip().split(" ", 2)
                if len(fields) < 3:
                    continue
                key, text = fields[1], fields[2]
                entries.append(
                    {
                        "id": f"{self.subset}_{key}",
                        "path": os.fspath(base / "wav" / f"{key}.wav"),
                        "transcript": text[1:-3],
                        "utterance_id": key.split("_")[1],
                    }
                )
        return self.keep_existing(entries)


GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")


@dataclass(frozen=True, kw_only=True)
class GTZANRecord(Record):
    """A GTZAN clip and its genre ``label``.

    Example:
        >>> GTZANRecord(id="jazz.00001", path="a.wav", sample_rate=22050, num_frames=1, duration=0.0,
        ...             label="jazz").label
        'jazz'
    """

    label: str


class GTZAN(Corpus):
    """GTZAN: 1,000 30-second music clips in ten genres, 22.05 kHz; placed by hand (no working official link).

    Every ``<genre>.<5 digits>.wav`` under a genre folder is an item, genres in GTZAN's order. The
    fault-filtered training/validation/testing split is not provided: ``subset`` is the whole corpus.

    Example:
        >>> GTZAN_GENRES[:3]
        ('blues', 'classical', 'country')
    """

    qualified_name = "data:gtzan"
    record_type = GTZANRecord
    layout = "root/genres/<genre>/<genre>.<number>.wav"
    homepage = "http://marsyas.info/downloads/datasets.html"
    license = "research use"

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("genres")
        for genre in GTZAN_GENRES:
            folder = base / genre
            if not folder.is_dir():
                continue
            for name in sorted(os.listdir(folder)):
                stem, extension = os.path.splitext(name)
                label, _, number = stem.partition(".")
                if extension.lower() == ".wav" and label in GTZAN_GENRES and len(number) == 5 and number.isdigit():
                    yield {"id": stem, "path": os.fspath(base / label / f"{stem}.wav"), "label": label}
