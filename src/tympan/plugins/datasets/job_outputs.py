"""Where a corpus job writes: a folder of WebDataset shards, or a Kaldi archive and its script file.

A job is cut into pieces (one per task); each piece is written atomically on its own, so a piece that
exists is complete and a job that stops resumes where it stopped. An item that fails leaves its piece
with a ``.failed.json`` list beside it, and such a piece is redone.

- a folder: piece ``i`` is ``shard-NNNNNN.tar`` (:class:`~tympan.plugins.datasets.shards.ShardWriter`),
  features as ``.npy`` or audio as FLAC beside each item's record;
- ``ark,scp:FEATS.ark,FEATS.scp`` (``ark,scp,t:`` for text): piece ``i`` is ``FEATS.NNNNNN.ark`` with its
  ``FEATS.NNNNNN.scp``, written by :mod:`tympan.plugins.kaldi.io`, as Kaldi recipes write one archive per
  job; when the job ends, ``FEATS.scp`` lists every piece's entries in order. Features are stored as
  matrices (leading dimensions of size 1, such as a mono channel, dropped).

Example:
    >>> out = JobOutput.parse("ark,scp:/data/fbank/feats.ark,/data/fbank/feats.scp")
    >>> out.kind, out.piece(3).name, out.failed_list(3).name
    ('kaldi', 'feats.000003.ark', 'feats.000003.ark.failed.json')
    >>> JobOutput.parse("/data/shards").piece(3).name
    'shard-000003.tar'
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from tympan.core.errors import UnsupportedFormatError
from tympan.core.files import atomic_write
from tympan.plugins.datasets.shards import ShardWriter, shard_name

__all__ = ["KALDI_PREFIX", "JobOutput", "as_kaldi_matrix"]

#: How an output names a Kaldi archive and its script file.
KALDI_PREFIX = "ark,scp"


def as_kaldi_matrix(features: torch.Tensor, key: str) -> torch.Tensor:
    """``features`` with leading size-1 dimensions dropped, if that leaves a matrix or a vector.

    Example:
        >>> as_kaldi_matrix(torch.zeros(1, 98, 80), "u1").shape
        torch.Size([98, 80])
    """
    matrix = features
    while matrix.dim() > 2 and matrix.shape[0] == 1:
        matrix = matrix[0]
    if matrix.dim() not in (1, 2) or not matrix.is_floating_point():
        shape = tuple(features.shape)
        raise UnsupportedFormatError(
            key, f"a Kaldi archive holds float matrices or vectors, not {shape} {features.dtype}"
        )
    return matrix


def _numbered(path: Path, index: int) -> Path:
    return path.with_name(f"{path.stem}.{index:06d}{path.suffix}")


@dataclass(frozen=True)
class JobOutput:
    """A job's destination: ``kind`` ``shards`` (``folder``) or ``kaldi`` (``ark`` and ``scp``, ``text``)."""

    kind: Literal["shards", "kaldi"]
    folder: Path
    ark: Path | None = None
    scp: Path | None = None
    text: bool = False

    @classmethod
    def parse(cls, out: str | os.PathLike[str]) -> JobOutput:
        """A folder, or ``ark,scp:ARK,SCP`` (Kaldi's wspecifier; ``ark,scp,t:`` writes text)."""
        spec = os.fspath(out)
        if not spec.startswith(KALDI_PREFIX):
            return cls("shards", Path(spec))
        from tympan.plugins.kaldi.io import parse_wspecifier

        parsed = parse_wspecifier(spec)
        if parsed.ark in (None, "-") or parsed.scp in (None, "-"):
            raise ValueError(f"{spec!r}: a corpus job writes an archive and a script file, not standard output")
        ark, scp = Path(parsed.ark), Path(parsed.scp)
        return cls("kaldi", ark.parent, ark, scp, bool(parsed.text))

    def spec(self) -> str:
        """The output as :meth:`parse` reads it (what a task carries to a worker)."""
        if self.kind == "shards":
            return os.fspath(self.folder)
        return f"{KALDI_PREFIX}{',t' if self.text else ''}:{self.ark},{self.scp}"

    def prepare(self) -> None:
        """Create the folders the pieces go to."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.scp is not None:
            self.scp.parent.mkdir(parents=True, exist_ok=True)

    def piece(self, index: int) -> Path:
        """The file piece ``index`` writes (for Kaldi, its archive)."""
        if self.kind == "shards" or self.ark is None:
            return self.folder / shard_name(index)
        return _numbered(self.ark, index)

    def piece_scp(self, index: int) -> Path:
        """The script file of Kaldi piece ``index``."""
        if self.scp is None:
            raise ValueError("shards have no script file")
        return _numbered(self.scp, index)

    def failed_list(self, index: int) -> Path:
        """Where the items of piece ``index`` that failed are listed."""
        piece = self.piece(index)
        return piece.with_name(f"{piece.name}.failed.json")

    def complete(self, index: int) -> bool:
        """Whether piece ``index`` was written whole and without failures (it is then skipped)."""
        written = self.piece(index).exists() and (self.kind == "shards" or self.piece_scp(index).exists())
        return written and not self.failed_list(index).exists()

    @contextlib.contextmanager
    def writer(self, index: int) -> Iterator[Any]:
        """A writer of piece ``index`` whose ``add(key, fields, features=..., audio=..., sample_rate=...)``
        stores one item; the piece appears complete when the block ends without error."""
        if self.kind == "shards":
            with ShardWriter(self.piece(index)) as shard:
                yield shard
            return
        from tympan.plugins.kaldi.io import Writer

        options = f"{KALDI_PREFIX}{',t' if self.text else ''}"
        with Writer(f"{options}:{self.piece(index)},{self.piece_scp(index)}") as table:
            yield _KaldiPiece(table)

    def finish(self, count: int) -> None:
        """For Kaldi, write the job's script file: the pieces' entries in order (shards need nothing)."""
        if self.kind != "kaldi" or self.scp is None:
            return
        with atomic_write(self.scp) as handle:
            for index in range(count):
                scp = self.piece_scp(index)
                if scp.exists():
                    handle.write(scp.read_bytes())


class _KaldiPiece:
    """Adds items to a Kaldi table writer as :class:`ShardWriter` adds them to a shard."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def add(self, key: str, fields: Any, *, features: torch.Tensor | None = None, **audio: Any) -> None:
        if features is None:
            raise UnsupportedFormatError(key, "a Kaldi archive holds features; this pipeline outputs audio")
        self.table[key] = as_kaldi_matrix(features, key)
