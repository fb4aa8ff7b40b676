"""Datasets: map_corpus on two processes against one, and the crafted-archive corpus counts.

- ``map_corpus fbank``: an 80-band log-mel pipeline over generated utterances into shards, ``local`` engine
  with 2 processes (ours) against 1 process (peer): the ratio is the speed-up (target >= 1.8x on 2 cores);
  the check records that both wrote the same bytes.
- ``crafted archives``: every archive of :func:`tympan.testing.archives.crafted_archives` extracted, with the
  counts of files written outside the root, partial files left, and archives accepted (all must be 0).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from benchmarks.harness import Result, compare, measure

CONFIG = {"steps": [{"mel_spectrogram": {"n_mels": 80, "n_fft": 400, "hop_length": 160}}, {"amplitude_to_db": {}}]}


def _utterances(folder: Path, count: int) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        path = folder / f"utt{index:05d}.flac"
        soundfile.write(path, rng.standard_normal(int(16000 * rng.uniform(2.0, 6.0))) * 0.1, 16000, subtype="PCM_16")
        paths.append(path)
    return paths


def bench_map_corpus(count: int, rounds: int) -> Result:
    from tympan.plugins.datasets.corpus_jobs import map_corpus

    work = Path(tempfile.mkdtemp(prefix="tympan-bench-map-"))
    try:
        (work / "audio").mkdir()
        files = _utterances(work / "audio", count)

        def job(jobs: int) -> Any:
            out = work / f"out{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            return map_corpus(files, CONFIG, out, jobs=jobs, shards=8, progress=False)

        def check() -> dict[str, Any]:
            same = all((work / "out1" / p.name).read_bytes() == p.read_bytes() for p in (work / "out2").iterdir())
            return {"ok": same, "identical_outputs": same}

        return compare(
            f"map_corpus fbank, {count} utterances, 2 processes vs 1",
            lambda: job(2),
            lambda: job(1),
            rounds=rounds,
            warmup=1,
            number=1,
            check=check,
            target_ratio=1.8,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def bench_crafted_archives() -> Result:
    from tympan.core.errors import TympanError
    from tympan.plugins.datasets.extractor import extract
    from tympan.testing.archives import crafted_archives, files_outside

    work = Path(tempfile.mkdtemp(prefix="tympan-bench-crafted-"))
    counts = {"archives": 0, "accepted": 0, "outside": 0, "partial": 0}

    def run() -> None:
        corpus = crafted_archives(work / "archives")
        root = work / "sandbox" / "root"
        root.mkdir(parents=True, exist_ok=True)
        for case in corpus:
            counts["archives"] += 1
            try:
                extract(case.path, root, progress=False)
                counts["accepted"] += 1
            except TympanError:
                pass
            counts["partial"] += sum(1 for _ in root.rglob("*"))
        counts["outside"] += len(files_outside(work / "sandbox", root))

    def check() -> dict[str, Any]:
        return {"ok": counts["accepted"] == counts["outside"] == counts["partial"] == 0, **counts}

    try:
        return measure("crafted archives, all refused", run, rounds=1, warmup=0, number=1, check=check)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(smoke: bool = False) -> list[Result]:
    """``smoke``: 16 utterances, 1 round; otherwise 2,000 utterances, 3 rounds."""
    return [bench_map_corpus(16 if smoke else 2000, 1 if smoke else 3), bench_crafted_archives()]
