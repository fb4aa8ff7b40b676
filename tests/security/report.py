"""Run the crafted-input corpora and count, per family, the inputs that misbehaved.

Each family runs in its own process (a crash, or a case that exhausts memory, costs only that family), one
case after another with the limits of :func:`_harness.verdict`. ``PYTHONPATH`` chooses the tympan that is
attacked, so the same corpora measure two versions::

    python tests/security/report.py                       # the installed tympan
    PYTHONPATH=/tmp/old/src python tests/security/report.py --json counts.json
    python tests/security/report.py --family configs -v   # every misbehaving case, with what it did
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAMILIES = ("configs", "parameters", "headers", "file_objects", "saves", "runs", "plugins")


def _corpus(family: str):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(HERE))
    module = __import__(f"_{family}")
    return list(module.attacks())


def run_family(family: str, verbose: bool) -> dict[str, object]:
    """Run one family in this process; return its counts and the misbehaving cases."""
    from _harness import verdict, warm_up

    warm_up()
    cases = _corpus(family)
    failures: dict[str, str] = {}
    start = time.perf_counter()
    for attack in cases:
        with tempfile.TemporaryDirectory() as scratch:
            problem = verdict(attack, Path(scratch))
        if problem:
            failures[attack.id] = problem
            if verbose:
                print(f"{attack.id}: {problem}", file=sys.stderr, flush=True)
    return {
        "family": family,
        "cases": len(cases),
        "misbehaved": len(failures),
        "seconds": round(time.perf_counter() - start, 1),
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", choices=FAMILIES, action="append", help="Only these families.")
    parser.add_argument("--json", type=Path, help="Write the counts and failures here.")
    parser.add_argument("-v", "--verbose", action="store_true", help="Print each misbehaving case.")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(run_family(args.inside, args.verbose)))
        return
    results = []
    for family in args.family or FAMILIES:
        command = [sys.executable, __file__, "--inside", family] + (["-v"] if args.verbose else [])
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
        if args.verbose:
            sys.stderr.write(done.stderr)
        try:
            result = json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            tail = done.stderr.strip().splitlines()[-3:]
            result = {"family": family, "cases": None, "misbehaved": None, "crashed": tail}
        results.append(result)
        print(f"{family:<14} {result['misbehaved']!s:>5} of {result['cases']!s:>5} misbehaved", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
