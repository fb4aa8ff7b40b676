"""The base of every corpus: a layout scanned at construction, typed records, audio decoded on access.

A :class:`Corpus` subclass names its subsets, the archives that hold them (:class:`Resource`) and how to
scan its on-disk layout into entries (:meth:`Corpus.scan`); the base does the rest:

- ``metadata(i)`` returns the item's frozen :class:`Record` (the corpus's own fields, plus ``id``,
  ``path``, ``sample_rate``, ``num_frames`` and ``duration`` from the file's header): it reads no audio;
- ``ds[i]`` returns the same record with ``waveform`` decoded by :func:`tympan.load` (with the corpus's
  ``sample_rate=`` and ``channels=`` options);
- a missing file raises :class:`~tympan.core.errors.DatasetLayoutError` naming it and the expected layout,
  or, with ``strict=False``, warns and keeps the items whose files exist;
- ``download=True`` fetches and extracts the subset's archives safely first (:func:`tympan.data.download`,
  :func:`tympan.data.extract`).

Example:
    >>> import pathlib, tempfile, torch, tympan
    >>> from tympan.plugins.datasets.simple import YesNo
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> (root / "waves_yesno").mkdir()
    >>> tympan.save(root / "waves_yesno" / "0_1_1.wav", torch.zeros(1, 800), 8000)
    >>> corpus = YesNo(root)
    >>> corpus.metadata(0)  # doctest: +ELLIPSIS
    YesNoRecord(id='0_1_1', path='...0_1_1.wav', sample_rate=8000, num_frames=800, duration=0.1, labels=(0, 1, 1))
    >>> corpus[0].waveform.shape
    torch.Size([1, 800])
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import torch
from pydantic import Field

from tympan.core.components import Dataset
from tympan.core.errors import DatasetIndexError, DatasetLayoutError
from tympan.core.params import validated_arguments

__all__ = [
    "Channels",
    "Download",
    "Rate",
    "Root",
    "Strict",
    "Subset",
    "Corpus",
    "DatasetLayoutWarning",
    "Record",
    "Resource",
    "require_file",
]

ChannelOption = int | list[int] | Literal["mean"] | None

# The parameters every corpus takes, declared once for their signatures.
Root = Annotated[str | Path, Field(description="The folder that holds the corpus folder.")]
Subset = Annotated[str | None, Field(description="The split (torchaudio's names); None: the default.")]
Download = Annotated[bool, Field(description="Fetch and extract the subset's archives first.")]
Strict = Annotated[bool, Field(description="Raise on a missing file (else warn and leave the item out).")]
Rate = Annotated[int | None, Field(ge=1, le=768000, description="Resample the audio to this rate on access.")]
Channels = Annotated[ChannelOption, Field(description="A channel index, a list of them, or 'mean'.")]


class DatasetLayoutWarning(UserWarning):
    """Files missing from a corpus read with ``strict=False``: the items that need them are left out.

    Example:
        >>> issubclass(DatasetLayoutWarning, UserWarning)
        True
    """


@dataclass(frozen=True, kw_only=True)
class Record:
    """One item of a corpus. Subclasses add the corpus's own fields under torchaudio's names.

    ``waveform`` is ``None`` in :meth:`Corpus.metadata` and the decoded audio ``(channels, time)`` in
    ``corpus[i]``; ``duration`` is in seconds.

    Example:
        >>> Record(id="a", path="a.wav", sample_rate=16000, num_frames=8000, duration=0.5).duration
        0.5
    """

    id: str
    path: str
    sample_rate: int
    num_frames: int
    duration: float
    waveform: torch.Tensor | None = dataclasses.field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Resource:
    """One published archive of a corpus: its ``url``, checksum, and where it is extracted under ``root``.

    ``sha256`` is preferred; ``md5`` serves where that is all the publisher gives (a warning says so).
    ``extract_to`` is relative to the corpus ``root`` (``""``: the root itself); ``None`` keeps the file as
    downloaded (a list file, say).

    Example:
        >>> Resource("https://example.org/a.tar.gz", sha256="0" * 64).filename
        'a.tar.gz'
    """

    url: str
    sha256: str | None = None
    md5: str | None = None
    extract_to: str | None = ""
    name: str | None = None

    @property
    def filename(self) -> str:
        """The archive's file name under ``root``."""
        return self.name or self.url.rstrip("/").rsplit("/", 1)[-1]


#: A corpus's archives per subset (``None``: for every subset).
Resources = dict[str | None, tuple[Resource, ...]]


def require_file(path: Path, layout: str) -> Path:
    """``path`` if it is a file, else a :class:`DatasetLayoutError` naming it and the ``layout``.

    Example:
        >>> require_file(Path("/nonexistent/a.txt"), "root/a.txt")
        Traceback (most recent call last):
        ...
        tympan.core.errors.DatasetLayoutError: dataset layout /nonexistent/a.txt: missing; expected root/a.txt
    """
    if not path.is_file():
        raise DatasetLayoutError(path, f"missing; expected {layout}")
    return path


class Corpus(Dataset):
    """Base of the corpora: subclasses set the class attributes and implement :meth:`scan`.

    Class attributes: ``qualified_name``; ``subsets`` (valid values, ``()`` when the corpus has none) and
    ``default_subset``; ``record_type``; ``layout`` (the expected layout, shown in errors);
    ``resources`` (subset, or the value of the option ``archive_key``, -> archives); ``license`` and
    ``homepage`` for ``tympan data info``.

    Example:
        >>> from tympan.plugins.datasets.simple import YesNo
        >>> YesNo.layout
        'root/waves_yesno/<0|1>_..._<0|1>.wav'
    """

    qualified_name: ClassVar[str] = ""
    subsets: ClassVar[tuple[str | None, ...]] = ()
    default_subset: ClassVar[str | None] = None
    record_type: ClassVar[type[Record]] = Record
    layout: ClassVar[str] = ""
    resources: ClassVar[Resources] = {}
    archive_key: ClassVar[str] = "subset"
    homepage: ClassVar[str] = ""
    license: ClassVar[str] = ""

    def __init__(
        self,
        root: Root,
        subset: Subset = None,
        download: bool = False,
        *,
        strict: bool = True,
        sample_rate: int | None = None,
        channels: ChannelOption = None,
    ) -> None:
        validated_arguments(type(self) if type(self).__init__ is Corpus.__init__ else Corpus, locals())
        subset = self.check_subset(subset)
        super().__init__(os.fspath(root), download, subset)
        self.root_path = Path(root)
        self.strict = strict
        self.sample_rate = sample_rate
        self.channels = channels
        if download:
            self.fetch()
        self._entries = list(self.scan())
        self._headers: dict[int, tuple[int, int]] = {}

    @classmethod
    def check_subset(cls, subset: str | None) -> str | None:
        """The subset to use (the default when ``None``); an unknown one raises ``ValueError`` listing them,
        and so does any subset of a corpus that has none (such as YESNO).

        Example:
            >>> from tympan.plugins.datasets.separation import MUSDB18HQ
            >>> MUSDB18HQ.check_subset("dev")
            Traceback (most recent call last):
            ...
            ValueError: unknown subset 'dev' of data:musdb18_hq; valid: train, test
        """
        if subset is not None and not cls.subsets and cls.default_subset is None:
            raise ValueError(f"{cls.qualified_name} has no subsets (got subset={subset!r}); leave subset unset")
        subset = cls.default_subset if subset is None else subset
        if cls.subsets and subset not in cls.subsets:
            valid = ", ".join(map(str, cls.subsets))
            raise ValueError(f"unknown subset {subset!r} of {cls.qualified_name}; valid: {valid}")
        return subset

    # -- what subclasses provide ------------------------------------------------------------------------

    def scan(self) -> Iterable[dict[str, Any]]:
        """The items' fields (without ``sample_rate``, ``num_frames``, ``duration``), in torchaudio's order."""
        raise NotImplementedError(f"{type(self).__name__} does not define scan()")

    def audio_paths(self, entry: dict[str, Any]) -> dict[str, str]:
        """The record fields to decode (field name -> path); by default ``waveform`` from ``path``."""
        return {"waveform": entry["path"]}

    # -- the scan's helpers -----------------------------------------------------------------------------

    def corpus_dir(self, *parts: str) -> Path:
        """The folder ``root/parts``; a :class:`DatasetLayoutError` (with the download hint) if missing."""
        folder = self.root_path.joinpath(*parts)
        if not folder.is_dir():
            hint = f"pass download=True or run `tympan data download {self.qualified_name}`" if self.archives() else ""
            raise DatasetLayoutError(folder, f"no such folder; expected {self.layout}" + (f" ({hint})" if hint else ""))
        return folder

    def keep_existing(
        self,
        entries: Iterable[dict[str, Any]],
        required: Callable[[dict[str, Any]], Sequence[str]] | None = None,
    ) -> list[dict[str, Any]]:
        """The entries whose ``required`` files (default: the entry's ``path``) all exist; a missing one raises,
        or warns when not strict."""
        kept, missing = [], []
        for entry in entries:
            absent = [path for path in (required(entry) if required else [entry["path"]]) if not os.path.isfile(path)]
            if not absent:
                kept.append(entry)
                continue
            if self.strict:
                raise DatasetLayoutError(absent[0], f"missing; expected {self.layout}")
            missing.append(absent[0])
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            warnings.warn(
                f"{self.qualified_name}: {len(missing)} item(s) left out, missing {shown}",
                DatasetLayoutWarning,
                stacklevel=3,
            )
        return kept

    def missing(self, path: Path) -> None:
        """Report one missing file: raise when strict, else warn."""
        if self.strict:
            raise DatasetLayoutError(path, f"missing; expected {self.layout}")
        warnings.warn(f"{self.qualified_name}: missing {path}", DatasetLayoutWarning, stacklevel=3)

    # -- the dataset protocol ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def _header(self, index: int, path: str) -> tuple[int, int]:
        known = self._headers.get(index)
        if known is None:
            from tympan.plugins.io.api import info

            header = info(path)
            known = self._headers[index] = (header.sample_rate, header.num_frames)
        return known

    def _frames(self, entry: dict[str, Any], index: int) -> tuple[int, int]:
        rate, frames = self._header(index, entry.get("header", entry["path"]))
        frames = entry.get("num_frames", frames)
        if self.sample_rate is not None and self.sample_rate != rate:
            return self.sample_rate, math.ceil(frames * self.sample_rate / rate)
        return rate, frames

    def metadata(self, index: int) -> Record:
        """Item ``index``'s record without audio: fields from the layout, lengths from the file's header."""
        entry = self._entries[_checked_index(index, len(self))]
        rate, frames = self._frames(entry, index)
        fields = {key: value for key, value in entry.items() if key not in _LAYOUT_ONLY}
        return self.record_type(**fields, sample_rate=rate, num_frames=frames, duration=frames / rate if rate else 0.0)

    def locate(self, index: int) -> tuple[str, int, int]:
        """Where item ``index``'s audio is: ``(path, frame_offset, num_frames)`` at the file's rate (-1: to the end).

        Example:
            >>> import pathlib, tempfile, torch, tympan
            >>> from tympan.plugins.datasets.simple import YesNo
            >>> root = pathlib.Path(tempfile.mkdtemp()); (root / "waves_yesno").mkdir()
            >>> tympan.save(root / "waves_yesno" / "1_0.wav", torch.zeros(1, 80), 8000)
            >>> YesNo(root).locate(0)[1:]
            (0, -1)
        """
        entry = self._entries[_checked_index(index, len(self))]
        return entry["path"], entry.get("frame_offset", 0), entry.get("num_frames", -1)

    def read_audio(self, path: str, frame_offset: int = 0, num_frames: int = -1) -> torch.Tensor:
        """Decode ``path`` (a window of it) with this corpus's ``sample_rate`` and ``channels`` options."""
        from tympan.plugins.io.api import load

        waveform, _ = load(path, frame_offset, num_frames, sample_rate=self.sample_rate, channels=self.channels)
        return waveform

    def __getitem__(self, index: int) -> Record:
        record = self.metadata(index)
        entry = self._entries[index]
        offset, frames = entry.get("frame_offset", 0), entry.get("num_frames", -1)
        paths = self.audio_paths(entry)
        audio: dict[str, Any] = {field: self.read_audio(path, offset, frames) for field, path in paths.items()}
        return dataclasses.replace(record, **audio)

    # -- downloading ------------------------------------------------------------------------------------

    def archives(self) -> tuple[Resource, ...]:
        """The archives of this subset: ``resources`` by the value of the option ``archive_key`` (the subset,
        or a release option such as Speech Commands' ``url``), else those listed under ``None``.

        Example:
            >>> from types import SimpleNamespace
            >>> from tympan.plugins.datasets.librispeech import LibriSpeech
            >>> dev_clean = SimpleNamespace(resources=LibriSpeech.resources, archive_key="subset", subset="dev-clean")
            >>> [archive.filename for archive in Corpus.archives(dev_clean)]
            ['dev-clean.tar.gz']
        """
        return self.resources.get(getattr(self, self.archive_key), self.resources.get(None, ()))

    def fetch(self) -> None:
        """Download and extract this subset's archives into ``root`` (each skipped when already done)."""
        from tympan.plugins.datasets.downloader import download
        from tympan.plugins.datasets.extractor import extract

        resources = self.archives()
        if not resources:
            raise DatasetLayoutError(
                self.root_path, f"{self.qualified_name} cannot be downloaded; place it as {self.layout}"
            )
        self.root_path.mkdir(parents=True, exist_ok=True)
        for resource in resources:
            archive = download(
                resource.url, self.root_path / resource.filename, sha256=resource.sha256, md5=resource.md5
            )
            if resource.extract_to is not None:
                extract(archive, self.root_path / resource.extract_to)


#: Entry keys that locate the audio but are not record fields.
_LAYOUT_ONLY = frozenset({"frame_offset", "num_frames", "header"})


def _checked_index(index: int, length: int) -> int:
    if not isinstance(index, int) or isinstance(index, bool):
        raise DatasetIndexError(f"a corpus index is an int, got {type(index).__name__}")
    if not -length <= index < length:
        raise DatasetIndexError(f"index {index} out of range for a corpus of {length} item(s)")
    return index % length if length else index
