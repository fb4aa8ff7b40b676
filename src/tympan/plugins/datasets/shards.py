"""Sharded sequential storage in the WebDataset format: tar files of samples, streamed back with shuffling.

A shard is a plain tar whose members are grouped by key: ``<key>.flac`` (audio) or ``<key>.npy``
(features), and ``<key>.json`` (the record's fields). WebDataset's readers (and ``tar tf``) read them as
they are. Shards are written byte for byte deterministically (fixed member order, times and owners) and
atomically, so a shard that exists is complete. :func:`write_shards` stores a corpus; :class:`ShardStream`
iterates shards sequentially, shard by shard per worker and rank, through a shuffle buffer.

The format is simple enough to write with :mod:`tarfile` directly: that keeps writes atomic, names
deterministic and outputs byte-identical across engines, with no extra dependency.

Example:
    >>> import pathlib, tempfile, torch
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> with ShardWriter(out / "shard-000000.tar") as writer:
    ...     writer.add("utt1", {"transcript": "hi"}, features=torch.ones(2, 3))
    >>> [sample["json"]["transcript"] for sample in ShardStream([out / "shard-000000.tar"], shuffle_buffer=0)]
    ['hi']
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import random
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy
import torch

from tympan.core.errors import TympanError
from tympan.core.files import atomic_write

__all__ = [
    "AUDIO_EXTENSIONS",
    "ShardStream",
    "ShardWriter",
    "decode_sample",
    "record_fields",
    "sample_key",
    "shard_name",
    "write_shards",
]


def shard_name(index: int) -> str:
    """The file name of shard ``index``.

    Example:
        >>> shard_name(3)
        'shard-000003.tar'
    """
    return f"shard-{index:06d}.tar"


def sample_key(item_id: str) -> str:
    """A WebDataset key for an item id: dots (which end a key) and path separators become ``_``.

    Example:
        >>> sample_key("jazz.00001"), sample_key("yes/0a7c2a8d_nohash_0")
        ('jazz_00001', 'yes_0a7c2a8d_nohash_0')
    """
    return item_id.replace(".", "_").replace("/", "_").replace("\\", "_")


def record_fields(record: Any) -> dict[str, Any]:
    """A record's JSON-able fields (tensors left out).

    Example:
        >>> from tympan.plugins.datasets.corpus import Record
        >>> record_fields(Record(id="a", path="a.wav", sample_rate=8000, num_frames=8, duration=0.001))["id"]
        'a'
    """
    is_record = dataclasses.is_dataclass(record) and not isinstance(record, type)
    fields = dataclasses.asdict(record) if is_record else dict(record)
    return {key: value for key, value in fields.items() if not isinstance(value, torch.Tensor) and value is not None}


class ShardWriter:
    """Writes one shard atomically: samples are added in order, the file appears complete on close.

    Example:
        >>> import pathlib, tempfile, torch
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.tar"
        >>> with ShardWriter(path) as writer:
        ...     writer.add("a", {"id": "a"}, audio=torch.zeros(1, 80), sample_rate=8000)
        >>> import tarfile; tarfile.open(path).getnames()
        ['a.flac', 'a.json']
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._context = atomic_write(self.path)
        self._tar: tarfile.TarFile | None = None
        self.count = 0

    def __enter__(self) -> ShardWriter:
        handle = self._context.__enter__()
        self._tar = tarfile.open(fileobj=handle, mode="w", format=tarfile.USTAR_FORMAT)
        return self

    def _member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 0
        if self._tar is None:
            raise TympanError(f"{self.path}: ShardWriter.add outside its with-block")
        self._tar.addfile(info, io.BytesIO(data))

    def add(
        self,
        key: str,
        fields: Mapping[str, Any],
        *,
        audio: torch.Tensor | None = None,
        sample_rate: int | None = None,
        features: torch.Tensor | None = None,
        encoded: Mapping[str, bytes] | None = None,
    ) -> None:
        """Add a sample: ``audio`` (as 24-bit FLAC, lossless for 16- and 24-bit sources), ``features`` (``.npy``)
        and ``encoded`` members stored as given (extension -> bytes: an audio file copied without re-encoding).
        """
        if audio is not None:
            from tympan.plugins.io.api import save

            buffer = io.BytesIO()
            save(buffer, audio, int(sample_rate or 0), format="flac", bits_per_sample=24)
            self._member(f"{key}.flac", buffer.getvalue())
        if features is not None:
            buffer = io.BytesIO()
            numpy.save(buffer, features.detach().cpu().numpy(), allow_pickle=False)
            self._member(f"{key}.npy", buffer.getvalue())
        for extension, data in sorted((encoded or {}).items()):
            self._member(f"{key}.{extension}", data)
        self._member(f"{key}.json", json.dumps(dict(fields), sort_keys=True, default=str).encode())
        self.count += 1

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self._tar is not None:
            self._tar.close()
        self._context.__exit__(kind, error, tb)


def write_shards(
    dataset: Any,
    out: str | os.PathLike[str],
    *,
    items_per_shard: int = 1000,
    transform: Any = None,
) -> list[Path]:
    """Store every item of ``dataset`` in shards under ``out``: audio as FLAC, or ``transform(waveform)`` as ``.npy``.

    Returns the shard paths. Each shard is written atomically; an existing complete shard is rewritten.

    Example:
        >>> import pathlib, tempfile, torch
        >>> from tympan.plugins.datasets.corpus import Record
        >>> items = [Record(id=f"u{i}", path="", sample_rate=8000, num_frames=80, duration=0.01,
        ...                 waveform=torch.zeros(1, 80)) for i in range(3)]
        >>> [p.name for p in write_shards(items, tempfile.mkdtemp(), items_per_shard=2)]
        ['shard-000000.tar', 'shard-000001.tar']
    """
    if items_per_shard < 1:
        raise ValueError(f"items_per_shard must be at least 1, got {items_per_shard}")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for start in range(0, len(dataset), items_per_shard):
        path = folder / shard_name(len(paths))
        with ShardWriter(path) as writer:
            for index in range(start, min(start + items_per_shard, len(dataset))):
                record = dataset[index]
                fields = record_fields(record)
                if transform is None:
                    writer.add(sample_key(fields["id"]), fields, audio=record.waveform, sample_rate=record.sample_rate)
                else:
                    with torch.inference_mode():
                        features = transform(record.waveform)
                    writer.add(sample_key(fields["id"]), fields, features=features)
        paths.append(path)
    return paths


#: Member extensions that hold encoded audio.
AUDIO_EXTENSIONS = ("flac", "wav", "mp3", "ogg", "opus")


def decode_sample(sample: dict[str, Any]) -> dict[str, Any]:
    """Decode the audio member (``flac``, ``wav``, ...) of a sample read with ``decode=False`` in place:
    it becomes ``waveform`` and ``sample_rate``. A sample without encoded audio is returned as it is.

    Example:
        >>> import io, torch
        >>> from tympan.plugins.io.api import save
        >>> buffer = io.BytesIO(); save(buffer, torch.zeros(1, 80), 8000, format="wav")
        >>> sample = decode_sample({"__key__": "a", "wav": buffer.getvalue()})
        >>> sample["waveform"].shape, sample["sample_rate"], "wav" in sample
        (torch.Size([1, 80]), 8000, False)
    """
    from tympan.plugins.io.api import load

    for extension in AUDIO_EXTENSIONS:
        if extension in sample:
            sample["waveform"], sample["sample_rate"] = load(sample.pop(extension))
            break
    return sample


def _samples(path: Path, decode: bool) -> Iterator[dict[str, Any]]:
    current: dict[str, Any] = {}
    try:
        with tarfile.open(path, mode="r|") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                base = info.name.rsplit("/", 1)[-1]
                key = info.name[: len(info.name) - len(base)] + base.split(".", 1)[0]
                if current and current["__key__"] != key:
                    yield decode_sample(current) if decode else current
                    current = {}
                reader = tar.extractfile(info)
                data = reader.read() if reader is not None else b""
                extension = info.name.rsplit(".", 1)[-1]
                current.setdefault("__key__", key)
                current.setdefault("__url__", str(path))
                if extension == "json":
                    current["json"] = json.loads(data)
                elif extension == "npy":
                    current["features"] = torch.from_numpy(numpy.load(io.BytesIO(data), allow_pickle=False))
                else:
                    current[extension] = data
    except (tarfile.TarError, OSError, EOFError) as err:
        raise TympanError(f"cannot read shard {path}: {type(err).__name__}: {err}") from None
    if current:
        yield decode_sample(current) if decode else current


class ShardStream(torch.utils.data.IterableDataset):  # type: ignore[type-arg]
    """Samples of WebDataset shards, read sequentially and shuffled through a buffer.

    Shards are divided among distributed ranks and DataLoader workers (shard ``i`` goes to reader
    ``i % readers``); the shard order and the buffer are shuffled with ``seed`` and the epoch
    (:meth:`set_epoch`). ``shuffle_buffer=0`` keeps the stored order. Each sample is a dict with
    ``__key__``, ``__url__`` (its shard), ``json`` and ``waveform``/``sample_rate`` or ``features``. With
    ``decode=False`` audio stays encoded (``flac``: bytes), a few times smaller in a shuffle buffer, for
    :func:`decode_sample` to decode later (:class:`~tympan.plugins.datasets.streaming.DurationBucketStream`
    does, per batch).

    Example:
        >>> ShardStream([], shuffle_buffer=10).shuffle_buffer
        10
    """

    def __init__(
        self,
        shards: Sequence[str | os.PathLike[str]],
        *,
        shuffle_buffer: int = 1000,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        decode: bool = True,
    ) -> None:
        if shuffle_buffer < 0:
            raise ValueError(f"shuffle_buffer must be >= 0, got {shuffle_buffer}")
        self.shards = [Path(shard) for shard in shards]
        self.decode = decode
        self.shuffle_buffer, self.seed, self.epoch = shuffle_buffer, seed, 0
        self.rank, self.world_size = rank, world_size

    def set_epoch(self, epoch: int) -> None:
        """Shuffle as for ``epoch``."""
        self.epoch = epoch

    def _my_shards(self) -> list[Path]:
        from tympan.plugins.datasets.batching import _distributed

        rank, world = _distributed()
        rank = self.rank if self.rank is not None else rank
        world = self.world_size if self.world_size is not None else world
        worker = torch.utils.data.get_worker_info()
        workers, worker_id = (worker.num_workers, worker.id) if worker is not None else (1, 0)
        order = list(self.shards)
        if self.shuffle_buffer:
            random.Random(self.seed * 7919 + self.epoch).shuffle(order)
        reader, readers = rank * workers + worker_id, world * workers
        return order[reader::readers]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        generator = random.Random(self.seed * 104729 + self.epoch)
        buffer: list[dict[str, Any]] = []
        for shard in self._my_shards():
            for sample in _samples(shard, self.decode):
                if not self.shuffle_buffer:
                    yield sample
                    continue
                buffer.append(sample)
                if len(buffer) >= self.shuffle_buffer:
                    yield buffer.pop(generator.randrange(len(buffer)))
        generator.shuffle(buffer)
        yield from buffer
