"""VoxCeleb1 speaker identification and verification, from the official split and trial lists.

Example:
    >>> VoxCeleb1Identification.subsets
    ('train', 'dev', 'test')
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

from tympan.plugins.datasets import resources
from tympan.plugins.datasets.corpus import Corpus, Record, require_file

__all__ = [
    "VoxCeleb1Identification",
    "VoxCeleb1IdentificationRecord",
    "VoxCeleb1Verification",
    "VoxCeleb1VerificationRecord",
]

_SPLIT_INDEX = {"train": "1", "dev": "2", "test": "3"}


def _file_id(path: str) -> str:
    speaker, video, utterance = path.split("/")[-3:]
    return "-".join((speaker, video, utterance[: -len(".wav")] if utterance.endswith(".wav") else utterance))


@dataclass(frozen=True, kw_only=True)
class VoxCeleb1IdentificationRecord(Record):
    """A VoxCeleb1 utterance: the speaker number (``id10001`` -> 10001) and the ``file_id``.

    Example:
        >>> VoxCeleb1IdentificationRecord(id="id10001-1zcIwhmdeo4-00001", path="a.wav", sample_rate=16000,
        ...     num_frames=1, duration=0.0, speaker_id=10001, file_id="id10001-1zcIwhmdeo4-00001").speaker_id
        10001
    """

    speaker_id: int
    file_id: str


class VoxCeleb1Identification(Corpus):
    """VoxCeleb1 identification: the utterances of one part of ``iden_split.txt`` (1 train, 2 dev, 3 test).

    Downloading fetches the test audio and both lists; the development audio comes in four parts that are
    joined by hand (``cat vox1_dev_wav_parta* > vox1_dev_wav.zip``) and extracted with :func:`tympan.data.extract`.

    Example:
        >>> VoxCeleb1Identification.layout
        'root/wav/<speaker>/<video>/<utterance>.wav and root/iden_split.txt'
    """

    qualified_name = "data:voxceleb1_identification"
    subsets = tuple(_SPLIT_INDEX)
    default_subset = "train"
    record_type = VoxCeleb1IdentificationRecord
    layout = "root/wav/<speaker>/<video>/<utterance>.wav and root/iden_split.txt"
    resources = resources.VOXCELEB1
    homepage = "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox1.html"
    license = "CC BY 4.0"

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("wav")
        wanted = _SPLIT_INDEX[str(self.subset)]
        paths = []
        with open(require_file(self.root_path / "iden_split.txt", self.layout), encoding="utf-8") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) == 2 and fields[0] == wanted:
                    paths.append(fields[1])
        entries = []
        for path in sorted(paths):
            file_id = _file_id(path)
            entries.append(
                {
                    "id": file_id,
                    "path": os.fspath(base / path),
                    "speaker_id": int(file_id.split("-")[0][3:]),
                    "file_id": file_id,
                }
            )
        return self.keep_existing(entries)


@dataclass(frozen=True, kw_only=True)
class VoxCeleb1VerificationRecord(Record):
    """A VoxCeleb1 trial: two utterances (``path``/``waveform`` and ``path2``/``waveform2``), same speaker or not.

    Example:
        >>> VoxCeleb1VerificationRecord(id="0", path="a.wav", path2="b.wav", sample_rate=16000, num_frames=1,
        ...     duration=0.0, label=1, file_id_spk1="a", file_id_spk2="b").label
        1
    """

    path2: str
    label: int
    file_id_spk1: str
    file_id_spk2: str
    waveform2: torch.Tensor | None = dataclasses.field(default=None, repr=False, compare=False)


class VoxCeleb1Verification(Corpus):
    """VoxCeleb1 verification: the trials of ``veri_test.txt`` (``label`` 1 for the same speaker).

    ``num_frames`` and ``duration`` describe the first utterance.

    Example:
        >>> VoxCeleb1Verification.layout
        'root/wav/<speaker>/<video>/<utterance>.wav and root/veri_test.txt'
    """

    qualified_name = "data:voxceleb1_verification"
    record_type = VoxCeleb1VerificationRecord
    layout = "root/wav/<speaker>/<video>/<utterance>.wav and root/veri_test.txt"
    resources = resources.VOXCELEB1
    homepage = "https://www.robots.ox.ac.uk/~vgg/data/voxceleb/vox1.html"
    license = "CC BY 4.0"

    def scan(self) -> Iterable[dict[str, Any]]:
        base = self.corpus_dir("wav")
        entries = []
        with open(require_file(self.root_path / "veri_test.txt", self.layout), encoding="utf-8") as handle:
            for number, line in enumerate(handle):
                fields = line.split()
                if len(fields) != 3:
                    continue
                label, first, second = fields
                entries.append(
                    {
                        "id": f"{number:06d}",
                        "path": os.fspath(base / first),
                        "path2": os.fspath(base / second),
                        "label": int(label),
                        "file_id_spk1": _file_id(first),
                        "file_id_spk2": _file_id(second),
                    }
                )
        return self.keep_existing(entries, lambda entry: [entry["path"], entry["path2"]])

    def audio_paths(self, entry: dict[str, Any]) -> dict[str, str]:
        return {"waveform": entry["path"], "waveform2": entry["path2"]}
