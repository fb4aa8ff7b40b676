"""Batching for training: padding with lengths, a duration-bucketing batch sampler, broken files skipped.

- :func:`collate` pads waveforms or features along time and returns their lengths; records become a dict.
- :class:`DurationBucketSampler` groups items of similar duration into batches under a budget of padded
  seconds per batch, deterministically per epoch, split across distributed ranks with the same number of
  batches on every rank (``DistributedSampler``'s contract).
- :class:`SkipBroken` wraps a dataset so a file that fails to load is skipped with a warning naming it,
  in any ``num_workers``, instead of ending the epoch; :func:`loader` puts the three together.

Example:
    >>> import torch
    >>> padded, lengths = collate([torch.ones(1, 3), torch.ones(1, 5)])
    >>> padded.shape, lengths.tolist()
    (torch.Size([2, 1, 5]), [3, 5])
    >>> sampler = DurationBucketSampler([1.0, 2.0, 1.1, 2.2, 0.9], max_seconds=4.0, num_buckets=2, shuffle=False)
    >>> list(sampler)
    [[4, 0, 2], [1], [3]]
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import torch

from tympan.core.cores import loader_workers
from tympan.core.errors import TympanError

__all__ = [
    "LOAD_ERRORS",
    "BrokenItemWarning",
    "DurationBucketSampler",
    "SkipBroken",
    "check_bucketing",
    "collate",
    "durations_of",
    "loader",
    "one_thread",
    "warn_broken",
]


def _pad(tensors: Sequence[torch.Tensor], dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([t.shape[dim] for t in tensors], dtype=torch.long)
    longest = int(lengths.max()) if len(tensors) else 0
    shape = list(tensors[0].shape)
    axis = dim % len(shape)
    shape[axis] = longest
    out = tensors[0].new_zeros((len(tensors), *shape))
    for row, tensor in enumerate(tensors):
        out[row].narrow(axis, 0, tensor.shape[axis]).copy_(tensor)
    return out, lengths


def collate(items: Sequence[Any], dim: int = -1) -> Any:
    """Pad a batch along ``dim`` (time: ``-1`` for waveforms and ``(mels, frames)``; ``0`` for ``(frames, dims)``).

    Tensors give ``(padded, lengths)``. Records (or dicts) give a dict: each tensor field padded, with its
    lengths under ``<field>_lengths``; other fields as lists. ``None`` items (skipped broken files) are
    dropped.

    Example:
        >>> from tympan.plugins.datasets.corpus import Record
        >>> batch = collate([Record(id="a", path="a", sample_rate=8000, num_frames=2, duration=0.0,
        ...                         waveform=torch.ones(1, 2)), None])
        >>> batch["waveform"].shape, batch["waveform_lengths"].tolist(), batch["id"]
        (torch.Size([1, 1, 2]), [2], ['a'])
    """
    items = [item for item in items if item is not None]
    if not items:
        return {}
    if isinstance(items[0], torch.Tensor):
        return _pad(items, dim)
    rows = [
        dataclasses.asdict(item) if dataclasses.is_dataclass(item) and not isinstance(item, type) else dict(item)
        for item in items
    ]
    batch: dict[str, Any] = {}
    for key in rows[0]:
        values = [row[key] for row in rows]
        if all(isinstance(value, torch.Tensor) for value in values):
            batch[key], batch[f"{key}_lengths"] = _pad(values, dim)
        else:
            batch[key] = values
    return batch


def durations_of(dataset: Any) -> list[float]:
    """Every item's duration in seconds from ``dataset.metadata(i)`` (headers only, no audio decoded).

    Example:
        >>> class Two:
        ...     def __len__(self): return 2
        ...     def metadata(self, i): return type("R", (), {"duration": 1.5 * (i + 1)})()
        >>> durations_of(Two())
        [1.5, 3.0]
    """
    return [float(dataset.metadata(index).duration) for index in range(len(dataset))]


def check_bucketing(max_seconds: float, num_buckets: int) -> None:
    """Raise ``ValueError`` unless ``max_seconds`` is positive and ``num_buckets`` lies in [1, 10000].

    Example:
        >>> check_bucketing(0.0, 10)
        Traceback (most recent call last):
        ...
        ValueError: max_seconds must be positive, got 0.0
    """
    if not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds!r}")
    if not 1 <= num_buckets <= 10_000:
        raise ValueError(f"num_buckets must be in [1, 10000], got {num_buckets!r}")


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class DurationBucketSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of similar-duration items whose padded length (``size * longest``) fits ``max_seconds``.

    Items are sorted into ``num_buckets`` duration buckets; each bucket (shuffled per epoch when
    ``shuffle``) is cut greedily into batches, and the batches' order is shuffled. Items of equal duration
    are spread over their buckets at random each epoch (in index order without ``shuffle``), so a corpus
    listed by label whose clips all last 1 s still gets batches of mixed labels. With several ranks
    (``rank`` / ``world_size``, by default from ``torch.distributed``) every rank builds the same list,
    which is padded by repeating its first batches (or cut, with ``drop_last``) to a multiple of the world
    size; rank ``r`` takes batches ``r, r + world_size, ...``. Call :meth:`set_epoch` each epoch.

    An item longer than ``max_seconds`` forms a batch of its own.

    Example:
        >>> durations = [1.0, 2.0, 1.1, 2.2, 0.9, 3.0]
        >>> ranks = [DurationBucketSampler(durations, 4.0, rank=r, world_size=2, seed=1) for r in (0, 1)]
        >>> [len(s) for s in ranks], sorted(i for s in ranks for b in s for i in b)
        ([3, 3], [0, 1, 2, 3, 4, 5])
    """

    def __init__(
        self,
        durations: Sequence[float],
        max_seconds: float,
        *,
        num_buckets: int = 10,
        shuffle: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
    ) -> None:
        check_bucketing(max_seconds, num_buckets)
        default_rank, default_world = _distributed()
        self.rank = default_rank if rank is None else rank
        self.world_size = default_world if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is not in [0, world_size={self.world_size})")
        self.durations = [float(d) for d in durations]
        self.max_seconds, self.num_buckets = float(max_seconds), num_buckets
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the shuffle of ``epoch`` (the same on every rank)."""
        self.epoch = epoch

    def _buckets(self, generator: random.Random) -> list[list[int]]:
        order = list(range(len(self.durations)))
        if self.shuffle:
            # shuffled before the (stable) sort: items of equal duration (clips all cut to 1 s) then fall
            # into buckets at random, not in the corpus's order, which often groups them by label
            generator.shuffle(order)
        order.sort(key=self.durations.__getitem__)
        size = math.ceil(len(order) / self.num_buckets) or 1
        buckets = [order[start : start + size] for start in range(0, len(order), size)]
        if self.shuffle:
            for bucket in buckets:
                generator.shuffle(bucket)
        return buckets

    def _all_batches(self) -> list[list[int]]:
        generator = random.Random(self.seed * 1_000_003 + self.epoch)
        batches: list[list[int]] = []
        for bucket in self._buckets(generator):
            batch: list[int] = []
            longest = 0.0
            for index in bucket:
                longest_if_added = max(longest, self.durations[index])
                if batch and longest_if_added * (len(batch) + 1) > self.max_seconds:
                    batches.append(batch)
                    batch, longest_if_added = [], self.durations[index]
                batch.append(index)
                longest = longest_if_added
            if batch:
                batches.append(batch)
        if self.shuffle:
            generator.shuffle(batches)
        return batches

    def _rank_batches(self) -> list[list[int]]:
        batches = self._all_batches()
        if self.world_size > 1 and batches:
            remainder = len(batches) % self.world_size
            if remainder and self.drop_last:
                batches = batches[: len(batches) - remainder]
            elif remainder:
                batches += batches[: self.world_size - remainder]
        return batches[self.rank :: self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self._rank_batches())

    def __len__(self) -> int:
        return len(self._rank_batches())


class BrokenItemWarning(UserWarning):
    """An item that failed to load and was skipped; the message names its file and the cause.

    Example:
        >>> issubclass(BrokenItemWarning, UserWarning)
        True
    """


#: What a file that fails to load raises: typed decode and layout errors, OS errors.
LOAD_ERRORS = (TympanError, OSError, ValueError)


def warn_broken(message: str) -> None:
    """Warn that an item was skipped (:class:`BrokenItemWarning`); in a ``DataLoader`` worker, whose warnings
    never reach the main process, the message goes to standard error instead.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_broken("skipped item 3: OSError: a.flac")
        >>> caught[0].category.__name__
        'BrokenItemWarning'
    """
    if torch.utils.data.get_worker_info() is not None:
        print(f"{BrokenItemWarning.__name__}: {message}", file=sys.stderr, flush=True)
    else:
        warnings.warn(message, BrokenItemWarning, stacklevel=3)


class SkipBroken(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """A dataset whose items that fail to load become ``None`` (dropped by :func:`collate`) with a warning.

    In a ``DataLoader`` worker the warning is written to standard error, where the main process's
    warning machinery cannot lose it.

    Typed decode errors, layout errors and OS errors are skipped; programming errors still raise.

    Example:
        >>> class Flaky(torch.utils.data.Dataset):
        ...     def __len__(self): return 2
        ...     def __getitem__(self, i):
        ...         if i: raise OSError("b.flac: unreadable")
        ...         return torch.zeros(1)
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     items = [SkipBroken(Flaky())[i] for i in range(2)]
        >>> items[1], str(caught[0].message)
        (None, 'skipped item 1: OSError: b.flac: unreadable')
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        try:
            return self.dataset[index]
        except LOAD_ERRORS as err:
            warn_broken(f"skipped item {index}: {type(err).__name__}: {err}")
            return None

    def metadata(self, index: int) -> Any:
        """The wrapped dataset's record ``index`` (no audio)."""
        return self.dataset.metadata(index)


def one_thread(_: int) -> None:
    """A ``DataLoader`` ``worker_init_fn``: one intra-op thread per worker, so workers do not oversubscribe.

    Example:
        >>> threads = torch.get_num_threads()
        >>> one_thread(0); torch.get_num_threads()
        1
        >>> torch.set_num_threads(threads)
    """
    torch.set_num_threads(1)


def loader(
    dataset: Any,
    max_seconds: float,
    *,
    num_workers: int = 2,
    shuffle: bool = True,
    seed: int = 0,
    num_buckets: int = 10,
    durations: Sequence[float] | None = None,
    dim: int = -1,
    **kwargs: Any,
) -> torch.utils.data.DataLoader[Any]:
    """A ``DataLoader`` of duration-bucketed, padded batches in which broken files are skipped with a warning.

    Workers run one intra-op thread each. ``durations`` defaults to :func:`durations_of` the dataset.

    Example:
        >>> class Clips(torch.utils.data.Dataset):
        ...     def __len__(self): return 4
        ...     def __getitem__(self, i): return torch.ones(1, 100 * (i + 1))
        >>> batches = list(loader(Clips(), 0.5, num_workers=0, durations=[0.1, 0.2, 0.3, 0.4],
        ...                      num_buckets=1, shuffle=False))
        >>> [tuple(lengths.tolist()) for _, lengths in batches]
        [(100, 200), (300,), (400,)]
    """
    durations = list(durations) if durations is not None else durations_of(dataset)
    sampler = DurationBucketSampler(durations, max_seconds, num_buckets=num_buckets, shuffle=shuffle, seed=seed)
    workers = loader_workers(num_workers)
    return torch.utils.data.DataLoader(
        SkipBroken(dataset),
        batch_sampler=sampler,
        num_workers=workers,
        collate_fn=functools.partial(collate, dim=dim),
        worker_init_fn=one_thread if workers else None,
        persistent_workers=False,
        **kwargs,
    )
