"""The features, resample and filters benchmarks in three thread settings, printed as three ratio columns.

``python -m benchmarks.thread_settings [--smoke] [--only NAME ...] [--json PATH]`` runs ``python -m benchmarks``
once per setting, each in a fresh process so that the thread settings hold from the first import:

- ``default``: torch, numpy and soxr with their default thread counts;
- ``one thread``: ``OMP_NUM_THREADS=1`` (and the BLAS equivalents) for both libraries, the per-core comparison;
- ``busy``: default threads while one other process spins on a core, as a data loader or a training job does.

Every figure is the in-process ratio ``peer time / tympan time`` of the case (see ``benchmarks/README.md``).
The targets: ``>= 1.5x`` with one thread and ``>= 1.0x`` beside a busy process for every case; the default
column keeps each case's own target.

Example:
    >>> SETTINGS["one thread"]["OMP_NUM_THREADS"]
    '1'
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Environment set for each column (on top of the caller's environment).
SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "one thread": {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
    "busy": {},
}
#: The speed-up aimed for in each column that has a shared target.
TARGETS = {"one thread": 1.5, "busy": 1.0}
BENCHMARKS = ("features", "resample", "filters")


@contextmanager
def busy_core() -> Iterator[None]:
    """A process spinning on one core for as long as the block runs."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _run_setting(setting: str, only: Sequence[str], smoke: bool, directory: Path) -> list[dict[str, Any]]:
    out = directory / f"{setting.replace(' ', '_')}.json"
    command = [sys.executable, "-m", "benchmarks", "--json", str(out)] + [f"--only={n}" for n in only]
    if smoke:
        command.append("--smoke")
    environment = {**os.environ, **SETTINGS[setting]}
    print(f"== {setting}: {' '.join(command[1:])}", flush=True)
    if setting == "busy":
        with busy_core():
            subprocess.run(command, env=environment, check=False)
    else:
        subprocess.run(command, env=environment, check=False)
    if not out.exists():
        return []
    results: list[dict[str, Any]] = json.loads(out.read_text())["results"]
    return results


def _key(record: dict[str, Any]) -> str:
    params = " ".join(f"{k}={v}" for k, v in record["params"].items())
    return f"{record['name']} {params}".strip()


def _cell(record: dict[str, Any] | None, setting: str) -> str:
    if record is None or record.get("ratio") is None:
        return "n/a"
    ratio = float(record["ratio"])
    target = TARGETS.get(setting)
    if target is None:
        met = record.get("met")
        verdict = "" if met is None else (" met" if met else " MISSED")
    else:
        verdict = " met" if ratio >= target else " MISSED"
    return f"{ratio:.2f}x{verdict}"


def table(columns: dict[str, list[dict[str, Any]]]) -> str:
    """Rows of cases, one ratio column per setting (``n/a`` where a case did not run).

    Example:
        >>> row = {"name": "mel", "params": {"batch": 1}, "ratio": 2.0, "met": True}
        >>> print(table({"default": [row], "one thread": [row], "busy": [row]}))  # doctest: +NORMALIZE_WHITESPACE
        case     default   one thread   busy
        mel batch=1  2.00x met  2.00x met  2.00x met
    """
    keyed = {setting: {_key(r): r for r in records} for setting, records in columns.items()}
    cases = list(dict.fromkeys(key for records in keyed.values() for key in records))
    width = max([len(c) for c in cases] + [4])
    lines = ["case".ljust(width) + "   " + "   ".join(columns)]
    for case in cases:
        cells = [_cell(keyed[setting].get(case), setting) for setting in columns]
        lines.append(case.ljust(width) + "  " + "  ".join(cells))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the three settings and print the table; write it with every result to ``--json`` if given."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.thread_settings", description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="small sizes and few rounds")
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="write every setting's results to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        columns = {s: _run_setting(s, args.only or BENCHMARKS, args.smoke, Path(tmp)) for s in SETTINGS}
    print("\n" + table(columns))
    if args.json:
        Path(args.json).write_text(json.dumps(columns, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
