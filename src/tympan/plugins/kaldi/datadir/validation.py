"""Checking a data directory as ``utils/validate_data_dir.sh`` does, and fixing it as ``utils/fix_data_dir.sh``.

:func:`validate` returns one :class:`Problem` per fault, each naming the file and, where one line is at
fault, its line: keys out of ``LC_ALL=C`` order, utterances missing from a file or present only there,
segments whose recording has no ``wav.scp`` entry or whose times are impossible, a ``spk2utt`` that
disagrees with ``utt2spk``, speakers that do not sort like their utterances, bad genders and durations.
:func:`fix` keeps the utterances present in every per-utterance file, the recordings and speakers they
use, and sorts everything.

Example:
    >>> data = DataDir(utt2spk={"s1-a": "s1"}, text={"s1-a": "HI", "s1-b": "THERE"}, wav_scp={"s1-a": "a.wav"})
    >>> [str(p) for p in validate(data)]
    ['text: utterance s1-b is not in utt2spk']
    >>> sorted(fix(data).text)
    ['s1-a']
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple, TypeVar

from tympan.core.errors import KaldiFormatError
from tympan.plugins.kaldi.datadir.model import DataDir

__all__ = ["Problem", "check", "fix", "fix_data_dir", "validate"]

Value = TypeVar("Value")


class Problem(NamedTuple):
    """One fault: the file, the 1-based line (``None`` for the file as a whole) and what is wrong."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {'' if self.line is None else f'line {self.line}: '}{self.message}"


class _Report:
    def __init__(self, data: DataDir) -> None:
        self.data = data
        self.problems: list[Problem] = []

    def add(self, file: str, key: str | None, message: str) -> None:
        line = self.data.lines.get(file, {}).get(key) if key is not None else None
        self.problems.append(Problem(file, line, message))

    def sorted_keys(self, file: str) -> None:
        """Kaldi requires every file sorted by key in C order; reports the first key out of order."""
        numbers = self.data.lines.get(file)
        if not numbers:
            return
        in_file_order = sorted(numbers, key=numbers.__getitem__)
        for before, after in itertools.pairwise(in_file_order):
            if after < before:
                self.add(file, after, f"key {after} is out of order (sort with LC_ALL=C, or use fix)")
                return

    def same_keys(self, file: str, keys: Iterable[str], reference: set[str], what: str, against: str) -> None:
        for key in keys:
            if key not in reference:
                self.add(file, key, f"{what} {key} is not in {against}")


def validate(data: DataDir | str | os.PathLike[str]) -> list[Problem]:
    """Every problem of a data directory (a :class:`DataDir` or a folder to read); empty when it is valid.

    A folder whose files cannot be parsed yields the parsing error as its only problem.
    """
    if not isinstance(data, DataDir):
        try:
            data = DataDir.read(data)
        except KaldiFormatError as error:
            return [Problem(os.path.basename(os.fspath(error.path)), error.line, error.reason.split(": ", 1)[-1])]
    report = _Report(data)
    utterances = set(data.utt2spk)
    if not utterances:
        report.add("utt2spk", None, "missing or empty: every data directory needs utt2spk")
    for file in data.lines:
        report.sorted_keys(file)
    _check_speakers(report, data)
    for file, table in (("text", data.text), ("feats.scp", data.feats_scp), ("utt2dur", data.utt2dur)):
        report.same_keys(file, table, utterances, "utterance", "utt2spk")
        if table:
            for missing in sorted(utterances - set(table)):
                report.add(file, None, f"utterance {missing} of utt2spk has no entry")
    report.same_keys("utt2num_frames", data.utt2num_frames, utterances, "utterance", "utt2spk")
    _check_recordings(report, data, utterances)
    speakers = set(data.utt2spk.values())
    report.same_keys("cmvn.scp", data.cmvn_scp, speakers, "speaker", "utt2spk")
    report.same_keys("spk2gender", data.spk2gender, speakers, "speaker", "utt2spk")
    for speaker, gender in data.spk2gender.items():
        if gender not in ("m", "f"):
            report.add("spk2gender", speaker, f"gender {gender!r} is neither m nor f")
    for utterance, seconds in data.utt2dur.items():
        if seconds <= 0:
            report.add("utt2dur", utterance, f"duration {seconds:g} is not positive")
    return report.problems


def _check_speakers(report: _Report, data: DataDir) -> None:
    derived = data.spk2utt
    if data.spk2utt_file is not None:
        for speaker, utterances in data.spk2utt_file.items():
            if derived.get(speaker) != sorted(utterances) or utterances != sorted(utterances):
                report.add("spk2utt", speaker, f"speaker {speaker} disagrees with utt2spk (regenerate it from utt2spk)")
        for speaker in derived.keys() - data.spk2utt_file.keys():
            report.add("spk2utt", None, f"speaker {speaker} of utt2spk is missing")
    by_utterance = sorted(data.utt2spk)
    by_speaker = sorted(data.utt2spk, key=lambda u: (data.utt2spk[u], u))
    if by_utterance != by_speaker:
        first = next(u for u, s in zip(by_utterance, by_speaker, strict=True) if u != s)
        report.add(
            "utt2spk", first, "utterances do not sort like their speakers (make speaker ids prefixes of utterance ids)"
        )


def _check_recordings(report: _Report, data: DataDir, utterances: set[str]) -> None:
    if data.segments:
        report.same_keys("segments", data.segments, utterances, "utterance", "utt2spk")
        for missing in sorted(utterances - set(data.segments)):
            report.add("segments", None, f"utterance {missing} of utt2spk has no segment")
        for utterance, segment in data.segments.items():
            if segment.recording not in data.wav_scp:
                report.add("segments", utterance, f"recording {segment.recording} is not in wav.scp")
            if segment.start < 0 or (segment.end != -1 and segment.end <= segment.start):
                report.add("segments", utterance, f"impossible times {segment.start:g} to {segment.end:g}")
            if segment.channel is not None and segment.channel < 0:
                report.add("segments", utterance, f"negative channel {segment.channel}")
    elif data.wav_scp:
        report.same_keys("wav.scp", data.wav_scp, utterances, "recording", "utt2spk (there is no segments file)")
        for missing in sorted(utterances - set(data.wav_scp)):
            report.add("wav.scp", None, f"utterance {missing} of utt2spk has no recording")


def check(data: DataDir | str | os.PathLike[str]) -> None:
    """Raise :class:`~tympan.core.errors.KaldiFormatError` listing every problem :func:`validate` finds.

    Example:
        >>> check(DataDir(utt2spk={"a": "a"}))
    """
    problems = validate(data)
    if problems:
        where = os.fspath(data) if not isinstance(data, DataDir) else "data directory"
        listed = "\n  ".join(str(p) for p in problems)
        raise KaldiFormatError(where, f"{len(problems)} problem(s):\n  {listed}")


def fix(data: DataDir) -> DataDir:
    """A copy keeping only the utterances present in every per-utterance file, and what they use.

    As ``utils/fix_data_dir.sh``: an utterance survives if ``utt2spk``, ``text``, ``feats.scp``,
    ``segments`` (or ``wav.scp`` without segments) and ``utt2dur`` all have it (those files that exist)
    and its segment's recording is in ``wav.scp``; recordings no utterance uses and speakers without
    utterances are dropped from ``wav.scp``, ``cmvn.scp`` and ``spk2gender``.
    """
    keep = set(data.utt2spk)
    for table in (data.text, data.feats_scp, data.utt2dur, data.utt2num_frames):
        if table:
            keep &= set(table)
    if data.segments:
        keep &= {u for u, s in data.segments.items() if s.recording in data.wav_scp}
    elif data.wav_scp:
        keep &= set(data.wav_scp)
    recordings = {data.segments[u].recording for u in keep} if data.segments else keep

    speakers = {data.utt2spk[u] for u in keep}
    return DataDir(
        wav_scp=_only(data.wav_scp, recordings),
        segments=_only(data.segments, keep),
        utt2spk=_only(data.utt2spk, keep),
        text=_only(data.text, keep),
        feats_scp=_only(data.feats_scp, keep),
        cmvn_scp=_only(data.cmvn_scp, speakers),
        utt2dur=_only(data.utt2dur, keep),
        utt2num_frames=_only(data.utt2num_frames, keep),
        spk2gender=_only(data.spk2gender, speakers),
    )


def _only(table: Mapping[str, Value], keys: set[str]) -> dict[str, Value]:
    return {key: table[key] for key in sorted(table) if key in keys}


def fix_data_dir(path: str | os.PathLike[str]) -> dict[str, int]:
    """Fix a data directory in place (each file rewritten atomically); returns how many entries each file lost.

    Example:
        >>> import pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> DataDir(utt2spk={"a": "a", "b": "b"}, text={"a": "HELLO"}).write(folder)
        >>> fix_data_dir(folder)
        {'utt2spk': 1, 'spk2utt': 1}
    """
    before = DataDir.read(path)
    after = fix(before)
    after.write(path)
    folder = Path(path)
    lost = {}
    for name, numbers in before.lines.items():
        remaining = _count(folder / name)
        if len(numbers) != remaining:
            lost[name] = len(numbers) - remaining
    return lost


def _count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.is_file() else 0
