"""Run the benchmarks: ``python -m benchmarks [--smoke] [--gpu] [--only NAME ...] [--json PATH]``.

Each benchmark module has ``run(smoke: bool) -> list[Result]``. Results are printed as a table per
benchmark as it finishes. The exit status is 1 when a benchmark crashed or a correctness check failed,
and 0 otherwise: a missed speed target is reported, never turned into a failure.

Ours and the peer run interleaved in one process, so neither may leave threads spinning that steal the
other's cores: OpenBLAS's idle workers (numpy, hence librosa and scipy) busy-wait for a while after each
call unless ``OPENBLAS_THREAD_TIMEOUT`` puts them to sleep sooner. The runner sets it (unless set already)
before numpy is imported; the JSON output records it with the other thread settings.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before anything imports numpy

import argparse
import importlib
import sys
import time
import traceback
from collections.abc import Sequence

from benchmarks.harness import Result, format_table, write_json

#: Benchmark name -> module; modules are imported only when selected, so each pays only for its peers.
BENCHMARKS = {
    "cqt": "benchmarks.bench_cqt",
    "features": "benchmarks.bench_features",
    "resample": "benchmarks.bench_resample",
    "filters": "benchmarks.bench_filters",
    "io": "benchmarks.bench_io",
    "kaldi_io": "benchmarks.bench_kaldi_io",
    "kaldi": "benchmarks.bench_kaldi",
    "models": "benchmarks.bench_models",
    "rnnt": "benchmarks.bench_rnnt",
    "startup": "benchmarks.bench_startup",
    "wav": "benchmarks.bench_wav",
    "datasets": "benchmarks.bench_datasets",
    "sox": "benchmarks.bench_sox",
    "input_pipeline": "benchmarks.bench_input_pipeline",
    "decoders": "benchmarks.bench_decoders",
    "export": "benchmarks.bench_export",
}
#: The benchmarks with CUDA cases (a ``run_gpu(smoke)`` beside ``run``), which ``--gpu`` runs alone.
GPU_BENCHMARKS = ("filters", "rnnt", "kaldi", "decoders", "sox", "models", "export")


def run_benchmark(name: str, smoke: bool, gpu_only: bool = False) -> list[Result]:
    """Import and run one benchmark (only its CUDA cases, ``run_gpu``, with ``gpu_only``); a crash outside
    the timed cases becomes a failed result."""
    try:
        module = importlib.import_module(BENCHMARKS[name])
        results: list[Result] = module.run_gpu(smoke=smoke) if gpu_only else module.run(smoke=smoke)
    except Exception:
        return [Result(name, {}, error=traceback.format_exc())]
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the selected benchmarks, print and optionally save the results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes and few rounds (for CI)")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only these (repeatable)")
    parser.add_argument("--gpu", action="store_true", help="only the CUDA cases (of the benchmarks that have some)")
    parser.add_argument("--json", metavar="PATH", help="write the results and machine facts to this JSON file")
    args = parser.parse_args(argv)
    if args.gpu and args.only and set(args.only) - set(GPU_BENCHMARKS):
        parser.error(f"--gpu: only {', '.join(GPU_BENCHMARKS)} have CUDA cases")

    results: list[Result] = []
    for name in args.only or (GPU_BENCHMARKS if args.gpu else BENCHMARKS):
        start = time.perf_counter()
        ran = run_benchmark(name, args.smoke, args.gpu)
        print(f"\n== {name} ({time.perf_counter() - start:.1f} s)\n{format_table(ran)}", flush=True)
        results += ran
    if args.json:
        path = write_json(args.json, results, {"smoke": args.smoke})
        print(f"\nwrote {path}")
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"\n{len(failed)} case(s) crashed or failed their check: {', '.join(r.name for r in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
