"""Kaldi ark/scp reading and writing against kaldiio.

An archive of float32 matrices (1,000 of 500 x 80 at full size, 20 in the smoke run) is written once by
kaldiio into a temporary directory, with its scp. The cases, each interleaved with kaldiio in one process:

- ``ark sequential``: ``list(tympan.plugins.kaldi.io.read("ark:..."))`` against
  ``list(kaldiio.load_ark(...))`` (target: at least 1x).
- ``scp random``: every key, in a shuffled order, through ``io.open("scp:...")`` against
  ``kaldiio.load_scp(...)`` as kaldiio is used by default (it opens the archive for each key); a second
  case gives kaldiio a cache of open files (``max_cache_fd=1``) for comparison. Both return arrays that
  own their memory; reported, no target (see the bare case below for what bounds it).
- ``scp random, mapped``: the same keys through ``io.open("scp:...", mmap=True)``, whose tensors view a
  private map of the archive instead of owning a copy, against the same default kaldiio call (target: at
  least 2x). The pages are read when first touched, after the timed call: the ratio is the cost of
  random access itself, not of reading 160 MB.
- ``scp random, summed`` and ``scp random, mapped, summed``: the two reads above followed by summing every
  value (numpy's ``sum`` on each matrix, our tensors viewed as arrays), so that every page is read;
  no target. Shows what the map saves when a program uses all the data at once.
- ``scp random, bare preadv``: the least a reader that returns tensors owning their memory can do, for
  scale: one ``preadv`` per key at the data's offset into a new array, no parsing and no checks, against
  the same kaldiio call. Both libraries mostly fill 160 MB of fresh memory (page faults and one copy from
  the page cache), so this ratio bounds that of the copying ``scp random``; no target.
- ``write CM2``: every matrix written with two-byte compression (Kaldi's method 3) to ``ark,scp:`` by
  ``io.write`` (atomically: temporary files, fsync, rename) against ``kaldiio.save_ark`` (target: at
  least 1x).

The checks: the values read are identical to kaldiio's (tolerance 0), and the compressed archive we wrote
decodes in kaldiio to exactly the values we decode.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kaldiio
import numpy as np
import torch

from benchmarks.harness import Result, compare
from tympan.plugins.kaldi import io as kaldi_io
from tympan.plugins.kaldi.io.archive import parse_script
from tympan.plugins.kaldi.io.objects import describe
from tympan.plugins.kaldi.io.sources import FileSource

SHAPE = (500, 80)
FULL, SMOKE = 1000, 20


def _archive(folder: Path, count: int) -> dict[str, np.ndarray]:
    generator = np.random.default_rng(0)
    items = {f"utt{i:05d}": generator.standard_normal(SHAPE).astype(np.float32) for i in range(count)}
    kaldiio.save_ark(str(folder / "feats.ark"), items, scp=str(folder / "feats.scp"))
    return items


def _same_values(ours: dict[str, Any], theirs: dict[str, np.ndarray]) -> dict[str, Any]:
    equal = ours.keys() == theirs.keys() and all(np.array_equal(ours[k].numpy(), theirs[k]) for k in theirs)
    return {"items": len(theirs), "ok": bool(equal)}


def _data_offsets(ark: str, scp: str) -> dict[str, int]:
    """Where each key's matrix data starts in ``ark``, as tympan's script parser and object reader find it."""
    with open(scp, encoding="utf-8") as lines:
        entries = parse_script(lines, scp)
    with FileSource(ark) as source:
        return {entry.key: describe(source, entry.target.offset or 0, entry.key).data for entry in entries}


def _bare_reads(ark: str, scp: str, keys: list[str]) -> Callable[[], dict[str, torch.Tensor]]:
    """One ``preadv`` per key into a new float32 array: what every reader returning owned memory does at least."""
    data = _data_offsets(ark, scp)

    def read() -> dict[str, torch.Tensor]:
        fd = os.open(ark, os.O_RDONLY)
        try:
            values = {}
            for key in keys:
                array = np.empty(SHAPE, dtype=np.float32)
                os.preadv(fd, [array], data[key])
                values[key] = torch.from_numpy(array)
            return values
        finally:
            os.close(fd)

    return read


def _read_cases(folder: Path, items: dict[str, np.ndarray], rounds: int) -> list[Result]:
    ark, scp = str(folder / "feats.ark"), str(folder / "feats.scp")
    keys = list(items)
    random.Random(0).shuffle(keys)
    params = {"matrices": len(items), "shape": "x".join(map(str, SHAPE))}
    bare = _bare_reads(ark, scp, keys)

    def ours_random(mmap: bool = False) -> dict[str, Any]:
        with kaldi_io.open(f"scp:{scp}", mmap=mmap) as table:
            return {key: table[key] for key in keys}

    def kaldiio_random(cache: int) -> dict[str, np.ndarray]:
        table = kaldiio.load_scp(scp, max_cache_fd=cache)
        return {key: table[key] for key in keys}

    def summed(values: dict[str, Any]) -> float:
        return sum(float(np.asarray(value).sum()) for value in values.values())

    def summed_case(name: str, mmap: bool) -> Result:
        def check() -> dict[str, Any]:
            ours, theirs = summed(ours_random(mmap)), summed(kaldiio_random(0))
            return {"sum": ours, "ok": ours == theirs}

        return compare(
            name,
            lambda: summed(ours_random(mmap)),
            lambda: summed(kaldiio_random(0)),
            rounds=rounds,
            params=params,
            check=check,
        )

    return [
        compare(
            "ark sequential vs kaldiio",
            lambda: list(kaldi_io.read(f"ark:{ark}")),
            lambda: list(kaldiio.load_ark(ark)),
            rounds=rounds,
            params=params,
            target_ratio=1.0,
            check=lambda: _same_values(dict(kaldi_io.read(f"ark:{ark}")), dict(kaldiio.load_ark(ark))),
        ),
        compare(
            "scp random vs kaldiio",
            ours_random,
            lambda: kaldiio_random(0),
            rounds=rounds,
            params=params,
            check=lambda: _same_values(ours_random(), kaldiio_random(0)),
        ),
        compare(
            "scp random, mapped vs kaldiio",
            lambda: ours_random(mmap=True),
            lambda: kaldiio_random(0),
            rounds=rounds,
            params=params,
            target_ratio=2.0,
            check=lambda: _same_values(ours_random(mmap=True), kaldiio_random(0)),
        ),
        summed_case("scp random, summed vs kaldiio", mmap=False),
        summed_case("scp random, mapped, summed vs kaldiio", mmap=True),
        compare(
            "scp random vs kaldiio max_cache_fd=1",
            ours_random,
            lambda: kaldiio_random(1),
            rounds=rounds,
            params=params,
        ),
        compare(
            "scp random, bare preadv vs kaldiio",
            bare,
            lambda: kaldiio_random(0),
            rounds=rounds,
            params=params,
            check=lambda: _same_values(bare(), kaldiio_random(0)),
        ),
    ]


def _write_case(folder: Path, items: dict[str, np.ndarray], rounds: int) -> Result:
    ours, theirs = folder / "ours", folder / "theirs"
    ours.mkdir(exist_ok=True)
    theirs.mkdir(exist_ok=True)

    def check() -> dict[str, Any]:
        decoded_by_kaldiio = dict(kaldiio.load_ark(str(ours / "c.ark")))
        return _same_values(dict(kaldi_io.read(f"ark:{ours}/c.ark")), decoded_by_kaldiio)

    return compare(
        "write CM2 vs kaldiio",
        lambda: kaldi_io.write(f"ark,scp:{ours}/c.ark,{ours}/c.scp", items, compression_method=3),
        lambda: kaldiio.save_ark(str(theirs / "c.ark"), items, scp=str(theirs / "c.scp"), compression_method=3),
        rounds=rounds,
        params={"matrices": len(items), "shape": "x".join(map(str, SHAPE))},
        target_ratio=1.0,
        check=check,
    )


def run(smoke: bool = False) -> list[Result]:
    """Every case; ``smoke`` uses 20 matrices and 3 rounds."""
    rounds = 3 if smoke else 10
    with tempfile.TemporaryDirectory(prefix="tympan-bench-kaldi-") as tmp:
        folder = Path(tmp)
        items = _archive(folder, SMOKE if smoke else FULL)
        return [*_read_cases(folder, items, rounds), _write_case(folder, items, rounds)]
