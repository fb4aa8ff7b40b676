"""LibriSpeech, LibriTTS (and LibriTTS-R) and LibriLight-limited: read-book corpora laid out by speaker and chapter.

Example:
    >>> LibriSpeech.layout.split(" and ")[1]
    '<speaker>-<chapter>.trans.txt'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tympan.plugins.datasets import resources
from tympan.plugins.datasets.corpus import Corpus, Record

__all__ = ["LibriLightLimited", "LibriSpeech", "LibriSpeechRecord", "LibriTTS", "LibriTTSR", "LibriTTSRecord"]

_BOOK_SUBSETS = (
    "dev-clean",
    "dev-other",
    "test-clean",
    "test-other",
    "train-clean-100",
    "train-clean-360",
    "train-other-500",
)


@dataclass(frozen=True, kw_only=True)
class LibriSpeechRecord(Record):
    """A LibriSpeech (or LibriLight-limited) utterance.

    Example:
        >>> LibriSpeechRecord(id="19-198-0001", path="a.flac", sample_rate=16000, num_frames=16000, duration=1.0,
        ...                   transcript="HELLO", speaker_id=19, chapter_id=198, utterance_id=1).speaker_id
        19
    """

    transcript: str
    speaker_id: int
    chapter_id: int
    utterance_id: int


def _sorted_dirs(folder: Path) -> list[Path]:
    return sorted(entry for entry in folder.iterdir() if entry.is_dir()) if folder.is_dir() else []


def read_transcripts(path: Path) -> dict[str, str]:
    """``utterance -> text`` from a ``<speaker>-<chapter>.trans.txt`` file (one ``ID TEXT`` line each).

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "19-198.trans.txt"
        >>> _ = path.write_text("19-198-0000 NORTHANGER ABBEY\\n19-198-0001 CHAPTER ONE\\n")
        >>> read_transcripts(path)["19-198-0001"]
        'CHAPTER ONE'
    """
    table = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            key, _, text = line.strip().partition(" ")
            if key:
                table[key] = text
    return table


class _BookCorpus(Corpus):
    """Speaker/chapter folders of ``.flac`` files with one ``.trans.txt`` per chapter."""

    def book_entries(self, chapters: Iterable[tuple[str, Path]]) -> Iterator[dict[str, Any]]:
        """Entries of the utterances in ``chapters`` (``(sort prefix, folder)``), in torchaudio's order."""
        found = []
        for prefix, chapter in chapters:
            for audio in chapter.glob("*.flac"):
                found.append((prefix + audio.stem, audio))
        found.sort()
        texts: dict[Path, dict[str, str] | None] = {}
        for _, audio in found:
            speaker, chapter_id, utterance = audio.stem.split("-")
            text_path = audio.parent / f"{speaker}-{chapter_id}.trans.txt"
            if text_path not in texts:
                texts[text_path] = read_transcripts(text_path) if text_path.is_file() else None
            table = texts[text_path]
            if table is None or audio.stem not in table:
                self.missing(text_path if table is None else Path(f"{text_path} (line {audio.stem})"))
                continue
            yield {
                "id": audio.stem,
                "path": os.fspath(audio),
                "transcript": table[audio.stem],
                "speaker_id": int(speaker),
                "chapter_id": int(chapter_id),
                "utterance_id": int(utterance),
            }


class LibriSpeech(_BookCorpus):
    """LibriSpeech: 1,000 hours of read English at 16 kHz (``subset``: ``dev-clean`` ... ``train-other-500``).

    Example:
        >>> LibriSpeech.subsets[:2]
        ('dev-clean', 'dev-other')
    """

    qualified_name = "data:librispeech"
    subsets = _BOOK_SUBSETS
    default_subset = "train-clean-100"
    record_type = LibriSpeechRecord
    layout = (
        "root/LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac"
        " and <speaker>-<chapter>.trans.txt"
    )
    resources = resources.LIBRISPEECH
    homepage = "https://www.openslr.org/12"
    license = "CC BY 4.0"

    def scan(self) -> Iterable[dict[str, Any]]:
        folder = self.corpus_dir("LibriSpeech", str(self.subset))
        chapters = [("", chapter) for speaker in _sorted_dirs(folder) for chapter in _sorted_dirs(speaker)]
        return self.book_entries(chapters)


@dataclass(frozen=True, kw_only=True)
class LibriTTSRecord(Record):
    """A LibriTTS utterance: the original and the normalized text.

    Example:
        >>> LibriTTSRecord(id="84_121123_000007_000001", path="a.wav", sample_rate=24000, num_frames=1,
        ...                duration=0.0, original_text="Hi.", normalized_text="Hi.", speaker_id=84,
        ...                chapter_id=121123, utterance_id="84_121123_000007_000001").chapter_id
        121123
    """

    original_text: str
    normalized_text: str
    speaker_id: int
    chapter_id: int
    utterance_id: str


def _first_line(path: Path) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.readline().rstrip("\r\n")


class LibriTTS(Corpus):
    """LibriTTS: 585 hours of read English at 24 kHz for TTS, with original and normalized text.

    Example:
        >>> LibriTTS.default_subset
        'train-clean-100'
    """

    qualified_name = "data:libritts"
    subsets = _BOOK_SUBSETS
    default_subset = "train-clean-100"
    record_type = LibriTTSRecord
    folder = "LibriTTS"
    layout = "root/LibriTTS/<subset>/<speaker>/<chapter>/<utterance>.wav, .original.txt and .normalized.txt"
    resources = resources.LIBRITTS
    homepage = "https://www.openslr.org/60"
    license = "CC BY 4.0"

    def scan(self) -> Iterable[dict[str, Any]]:
        folder = self.corpus_dir(self.folder, str(self.subset))
        audio = sorted((path.stem, path) for path in folder.glob("*/*/*.wav"))

        def texts(entry: dict[str, Any]) -> list[str]:
            stem = entry["path"][: -len(".wav")]
            return [stem + ".original.txt", stem + ".normalized.txt"]

        entries = [{"id": stem, "path": os.fspath(path)} for stem, path in audio]
        for entry in self.keep_existing(entries, texts):
            original, normalized = texts(entry)
            speaker, chapter = entry["id"].split("_")[:2]
            yield {
                **entry,
                "original_text": _first_line(Path(original)),
                "normalized_text": _first_line(Path(normalized)),
                "speaker_id": int(speaker),
                "chapter_id": int(chapter),
                "utterance_id": entry["id"],
            }


class LibriTTSR(LibriTTS):
    """LibriTTS-R: LibriTTS restored to studio quality (same layout, folder ``LibriTTS_R``).

    Its archives are verified by the MD5 sums its publisher gives (there is no SHA-256), with a
    ``WeakChecksumWarning`` on download.

    Example:
        >>> LibriTTSR.folder
        'LibriTTS_R'
    """

    qualified_name = "data:libritts_r"
    folder = "LibriTTS_R"
    layout = "root/LibriTTS_R/<subset>/<speaker>/<chapter>/<utterance>.wav, .original.txt and .normalized.txt"
    resources = resources.LIBRITTS_R
    homepage = "https://www.openslr.org/141"


_LIMITED_FOLDERS = {"10min": ("1h/0",), "1h": ("1h/*",), "10h": ("1h/*", "9h")}


class LibriLightLimited(_BookCorpus):
    """LibriLight-limited: the 10-minute, 1-hour and 10-hour supervised sets of LibriLight (LibriSpeech layout).

    Example:
        >>> LibriLightLimited.subsets
        ('10min', '1h', '10h')
    """

    qualified_name = "data:librilight_limited"
    subsets = tuple(_LIMITED_FOLDERS)
    default_subset = "10min"
    record_type = LibriSpeechRecord
    layout = (
        "root/librispeech_finetuning/<1h/0..5|9h>/<clean|other>/<speaker>/<chapter>"
        "/<speaker>-<chapter>-<utterance>.flac"
    )
    resources = resources.LIBRILIGHT_LIMITED
    homepage = "https://github.com/facebookresearch/libri-light"
    license = "CC BY 4.0"

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("librispeech_finetuning")
        chapters = []
        for pattern in _LIMITED_FOLDERS[str(self.subset)]:
            for chapter in sorted(base.glob(f"{pattern}/*/*/*")):
                if chapter.is_dir():
                    chapters.append((os.fspath(chapter.parent.parent.relative_to(base)), chapter))
        return self.book_entries(chapters)
