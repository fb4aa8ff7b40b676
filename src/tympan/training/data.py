"""The examples a run trains on: corpora by name, the task's examples, bucketed batches that can resume.

- :class:`Examples` turns corpus items into the task's examples in the loader's workers, the feature
  pipeline and (in training) the augmentation applied, each item's random choices drawn from a generator
  seeded by ``(seed, epoch, index)``: the same example in any worker, on any number of ranks, after any
  resumption. It is wrapped in :class:`~tympan.data.SkipBroken`, so a broken file is reported and skipped.
  :meth:`Examples.keep` computes every example once and keeps it in memory (for a task whose examples draw
  nothing at random), so an epoch only augments.
- :class:`ResumableBatches` wraps the rank-aware :class:`~tympan.data.DurationBucketSampler` so an epoch
  can start at its ``n``-th batch.
- :func:`make_loader` puts them into a ``DataLoader``; :func:`synthesize_missing` makes a recipe's corpus
  with ``tympan data synth`` when it is not there.

Example:
    >>> batches = ResumableBatches(DurationBucketSampler([1.0, 1.0, 1.0, 1.0], 2.0, num_buckets=1, shuffle=False,
    ...                                                  rank=0, world_size=1))
    >>> batches.start_at(1)
    >>> list(batches), list(batches)
    ([[2, 3]], [[0, 1], [2, 3]])
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from tympan.core.cores import loader_workers
from tympan.plugins.datasets.batching import LOAD_ERRORS, DurationBucketSampler, SkipBroken
from tympan.training.recipe import SynthSection
from tympan.training.tasks.base import Task, collate_examples

__all__ = ["Examples", "ResumableBatches", "item_seed", "make_loader", "synthesize_missing"]


def item_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of one item's random choices in one epoch.

    Example:
        >>> item_seed(0, 1, 2) == item_seed(0, 1, 2) != item_seed(0, 2, 2)
        True
    """
    digest = hashlib.sha256(f"{seed}/{epoch}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


class Examples(torch.utils.data.Dataset):  # type: ignore[type-arg]
    """A corpus as the task's examples (see the module docstring); ``epoch`` is set before each epoch.

    Example:
        >>> from tympan.training.tasks import TASKS
        >>> class Clips(torch.utils.data.Dataset):
        ...     def __len__(self): return 1
        ...     def __getitem__(self, i):
        ...         return type("R", (), {"id": "c0", "duration": 0.1, "waveform": torch.ones(1, 8), "label": "a"})()
        >>> example = Examples(Clips(), TASKS["classification"](labels=["a", "b"]), None, None, True, 0)[0]
        >>> example["id"], example["target"].item()
        ('c0', 0)
    """

    def __init__(self, corpus: Any, task: Task, features: Any, augment: Any, train: bool, seed: int) -> None:
        self.corpus, self.task, self.features, self.augment = corpus, task, features, augment
        self.train, self.seed, self.epoch = train, seed, 0
        self._kept: list[dict[str, Any] | None] | None = None

    def __len__(self) -> int:
        return len(self.corpus)

    def __getitem__(self, index: int) -> dict[str, Any]:
        seed = item_seed(self.seed, self.epoch if self.train else 0, index)
        kept = self._kept[index] if self._kept is not None else None
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            # augmentation draws from the global CPU generator; seeding only it (not torch.manual_seed, which
            # also queues a seed for every accelerator, capturing a stack trace each time) keeps an item cheap
            torch.default_generator.manual_seed(seed)
            example = dict(kept) if kept is not None else self._example(index, seed)
            if self.train and self.augment is not None:
                example["inputs"] = self.augment(example["inputs"])
        return example

    def _example(self, index: int, seed: int) -> dict[str, Any]:
        generator = torch.Generator().manual_seed(seed)
        return self.task.example(self.corpus[index], self.features, self.train, generator)

    def keep(self) -> int:
        """Compute every example now, before augmentation, and keep it; return how many were kept.

        Only for a task whose examples draw nothing at random (``Task.fixed_examples``). An item that fails
        to load is not kept: the loader meets its error again and reports and skips it.

        Example:
            >>> from tympan.training.tasks import TASKS
            >>> class Clips(torch.utils.data.Dataset):
            ...     def __len__(self): return 2
            ...     def __getitem__(self, i):
            ...         if i: raise OSError("b.wav: unreadable")
            ...         return type("R", (), {"id": "a", "duration": 0.1, "waveform": torch.ones(1, 8), "label": "a"})()
            >>> examples = Examples(Clips(), TASKS["classification"](labels=["a", "b"]), None, None, True, 0)
            >>> examples.keep(), examples[0]["id"]
            (1, 'a')
        """
        kept: list[dict[str, Any] | None] = []
        with torch.no_grad():
            for index in range(len(self)):
                try:
                    kept.append(self._example(index, 0))
                except LOAD_ERRORS:
                    kept.append(None)
        self._kept = kept
        return sum(example is not None for example in kept)

    def metadata(self, index: int) -> Any:
        """The corpus record ``index`` without audio."""
        return self.corpus.metadata(index)


class ResumableBatches(torch.utils.data.Sampler[list[int]]):
    """A batch sampler whose next epoch can start at a given batch (:meth:`start_at`), for resumption.

    Example:
        >>> len(ResumableBatches(DurationBucketSampler([1.0] * 5, 2.0, num_buckets=1, rank=0, world_size=1)))
        3
    """

    def __init__(self, sampler: DurationBucketSampler) -> None:
        self.sampler = sampler
        self._start = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the batches of ``epoch``."""
        self.sampler.set_epoch(epoch)

    def start_at(self, batch: int) -> None:
        """Begin the next iteration at batch ``batch`` (then from the first again)."""
        self._start = batch

    def __iter__(self) -> Iterator[list[int]]:
        start, self._start = self._start, 0
        return iter(list(self.sampler)[start:])

    def __len__(self) -> int:
        return len(self.sampler)


def _one_thread(_: int) -> None:
    torch.set_num_threads(1)


def make_loader(
    examples: Examples,
    durations: list[float],
    max_seconds: float,
    *,
    shuffle: bool,
    rank: int,
    world: int,
    **options: Any,
) -> torch.utils.data.DataLoader[Any]:
    """A loader of padded batches of ``examples`` under a budget of ``max_seconds`` padded seconds.

    Training loaders (``shuffle``) give every rank the same number of batches; evaluation loaders split
    the batches among the ranks without repeating any. ``options``: ``num_workers``, ``num_buckets``,
    ``seed``.

    Example:
        >>> from tympan.training.tasks import TASKS
        >>> class Clips(torch.utils.data.Dataset):
        ...     def __len__(self): return 3
        ...     def __getitem__(self, i):
        ...         return type("R", (), {"id": str(i), "duration": 0.5, "waveform": torch.ones(1, 4 + i),
        ...                                "label": "a"})()
        >>> examples = Examples(Clips(), TASKS["classification"](labels=["a", "b"]), None, None, False, 0)
        >>> loader = make_loader(examples, [0.5] * 3, 1.0, shuffle=False, rank=0, world=1, num_workers=0, num_buckets=1)
        >>> [batch["id"] for batch in loader]
        [['0', '1'], ['2']]
    """
    workers = loader_workers(options.get("num_workers", 1))
    buckets = options.get("num_buckets", 10)
    if shuffle:
        sampler = DurationBucketSampler(
            durations, max_seconds, num_buckets=buckets, seed=options.get("seed", 0), rank=rank, world_size=world
        )
        batches: Any = ResumableBatches(sampler)
    else:
        every = list(
            DurationBucketSampler(durations, max_seconds, num_buckets=buckets, shuffle=False, rank=0, world_size=1)
        )
        batches = every[rank::world]
    return torch.utils.data.DataLoader(
        SkipBroken(examples),
        batch_sampler=batches,
        num_workers=workers,
        collate_fn=functools.partial(collate_examples, time_dims=dict(examples.task.time_dims)),
        worker_init_fn=_one_thread if workers else None,
        persistent_workers=False,
        # its own generator: starting an epoch must not draw from the global one (dropout), or a resumed
        # epoch would see other random numbers than the uninterrupted one
        generator=torch.Generator().manual_seed(options.get("seed", 0)),
    )


def synthesize_missing(root: Path, section: SynthSection) -> list[str]:
    """Make the corpora of ``section`` that are missing under ``root``; return the names of those made.

    Example:
        >>> import tempfile
        >>> from tympan.plugins.datasets.synth.layouts import LAYOUTS
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / LAYOUTS["librimix"].folder).mkdir()
        >>> synthesize_missing(root, SynthSection(corpora=["librimix"]))
        []
    """
    from tympan.plugins.datasets.synth import PRESETS, synthesize
    from tympan.plugins.datasets.synth.layouts import LAYOUTS

    missing: list[str] = [name for name in section.corpora if not (root / LAYOUTS[name].folder).exists()]
    if missing:
        synthesize(root, missing, seed=section.seed, **PRESETS[section.preset])  # type: ignore[arg-type]
    return missing
