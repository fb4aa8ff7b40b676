"""Kaldi ark/scp reading and writing against kaldiio.

An archive of float32 matrices (1,000 of 500 x 80 at full size, 20 in the smoke run) is written once by
kaldiio into a temporary directory, with its scp. The cases, each interleaved with kaldiio in one process:

- ``ark sequential``: ``list(tympan.plugins.kaldi.io.read("ark:..."))`` against
  ``list(kaldiio.load_ark(...))`` (target: at least 1x).
- ``scp random``: every key, in a shuffled order, through ``io.open("scp:...")`` against
  ``kaldiio.load_scp(...)`` as kaldiio is used by default (it opens the archive for each key); a second
  case gives kaldiio a cache of open files (``max_cache_fd=1``) for comparison (target: at least 2x, on
  the default).
- ``write CM2``: every matrix written with two-byte compression (Kaldi's method 3) to ``ark,scp:`` by
  ``io.write`` (atomically: temporary files, fsync, rename) against ``kaldiio.save_ark`` (target: at
  least 1x).

The checks: the values read are identical to kaldiio's (tolerance 0), and the compressed archive we wrote
decodes in kaldiio to exactly the values we decode.
"""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

import kaldiio
import numpy as np

from benchmarks.harness import Result, compare
from tympan.plugins.kaldi import io as kaldi_io

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


def _read_cases(folder: Path, items: dict[str, np.ndarray], rounds: int) -> list[Result]:
    ark, scp = str(folder / "feats.ark"), str(folder / "feats.scp")
    keys = list(items)
    random.Random(0).shuffle(keys)
    params = {"matrices": len(items), "shape": "x".join(map(str, SHAPE))}

    def ours_random() -> dict[str, Any]:
        with kaldi_io.open(f"scp:{scp}") as table:
            return {key: table[key] for key in keys}

    def kaldiio_random(cache: int) -> dict[str, np.ndarray]:
        table = kaldiio.load_scp(scp, max_cache_fd=cache)
        return {key: table[key] for key in keys}

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
            target_ratio=2.0,
            check=lambda: _same_values(ours_random(), kaldiio_random(0)),
        ),
        compare(
            "scp random vs kaldiio max_cache_fd=1",
            ours_random,
            lambda: kaldiio_random(1),
            rounds=rounds,
            params=params,
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
