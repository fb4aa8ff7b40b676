"""The benchmark harness: interleaved side-by-side timing, absolute timing, a table and a JSON file.

Two ways to time something:

- :func:`compare` runs ours and the peer interleaved in one process (ours, peer, ours, peer, ...) and
  reports the median of the per-round ratios ``peer_time / ours_time``: above 1 means we are faster.
- :func:`measure` times one callable on its own (import time, CLI time, lookup time).

Both warm up first, time with :func:`time.perf_counter`, and time fast calls in batches (``number`` calls
per sample, calibrated like :mod:`timeit` when not given) so every time they report is per call. A
``check`` callable records correctness beside speed: it returns a dict of facts whose ``"ok"`` entry says
whether the outputs agree. Neither function raises when the timed code or the check does: the error is
recorded on the :class:`Result`, and :attr:`Result.ok` is what a runner turns into its exit status.
Targets are reported (:attr:`Result.met`), never asserted.

Timing is host-side: a callable that launches asynchronous device work must synchronize itself.

Example:
    >>> import time
    >>> result = compare("sleep", lambda: time.sleep(0.002), lambda: time.sleep(0.001), rounds=3, warmup=1)
    >>> 0.2 < result.ratio < 0.9, result.ok
    (True, True)
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import itertools
import json
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["Result", "compare", "format_table", "machine_facts", "measure", "run_from_command_line", "write_json"]

#: A calibrated sample lasts at least this long, so timer resolution and call overhead stay negligible.
MIN_SAMPLE_S = 0.005

#: Distributions whose versions every results file records (absent ones are recorded as ``None``).
RECORDED_DISTRIBUTIONS = ("tympan", "torch", "numpy", "librosa", "scipy", "soundfile", "soxr", "torchaudio")

Check = Callable[[], Mapping[str, Any]]


@dataclass
class Result:
    """One timed case: median per-call times, the ratio, the target and the correctness facts.

    ``ours_times`` / ``peer_times`` are the per-call seconds of every round, in order; ``ratio`` is the
    median over rounds of ``peer / ours`` (``None`` for :func:`measure`). ``target`` describes the goal
    (``">= 2.5x"``, ``"<= 5 us"``) and ``met`` whether the median reached it (``None`` without a target).

    Example:
        >>> Result("lookup", {}, ours_times=[1e-6], ours_s=1e-6).ok
        True
    """

    name: str
    params: dict[str, Any]
    rounds: int = 0
    ours_number: int = 1
    peer_number: int | None = None
    ours_times: list[float] = field(default_factory=list)
    peer_times: list[float] = field(default_factory=list)
    ours_s: float | None = None
    peer_s: float | None = None
    ratio: float | None = None
    target: str | None = None
    met: bool | None = None
    check: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the case ran and its correctness check (if any) passed."""
        return self.error is None and bool(self.check.get("ok", True))


def compare(
    name: str,
    ours: Callable[[], Any],
    peer: Callable[[], Any],
    *,
    rounds: int = 20,
    warmup: int = 2,
    number: int | None = None,
    check: Check | None = None,
    params: Mapping[str, Any] | None = None,
    target_ratio: float | None = None,
) -> Result:
    """Time ``ours`` against ``peer``, interleaved, and report the median of per-round ratios.

    Each round times one sample of ``ours`` then one of ``peer``; a sample is ``number`` calls (calibrated
    separately for each side when ``None``). ``target_ratio`` is the speed-up aimed for.

    Example:
        >>> r = compare("add", lambda: 1 + 1, lambda: sum(range(100)), rounds=3, params={"n": 100})
        >>> r.ratio > 1, r.ours_number > 1, r.params
        (True, True, {'n': 100})
    """
    target = None if target_ratio is None else f">= {target_ratio:g}x"
    result = Result(name, dict(params or {}), rounds=rounds, target=target)
    try:
        _warm(ours, warmup)
        _warm(peer, warmup)
        result.ours_number = number or _calibrate(ours)
        result.peer_number = number or _calibrate(peer)
        for _ in range(rounds):
            result.ours_times.append(_sample(ours, result.ours_number))
            result.peer_times.append(_sample(peer, result.peer_number))
        result.ours_s = statistics.median(result.ours_times)
        result.peer_s = statistics.median(result.peer_times)
        result.ratio = statistics.median(p / o for o, p in zip(result.ours_times, result.peer_times, strict=True))
        if target_ratio is not None:
            result.met = result.ratio >= target_ratio
    except Exception:
        result.error = traceback.format_exc()
    _record_check(result, check)
    return result


def measure(
    name: str,
    fn: Callable[[], Any],
    *,
    rounds: int = 20,
    warmup: int = 2,
    number: int | None = None,
    check: Check | None = None,
    params: Mapping[str, Any] | None = None,
    target_s: float | None = None,
) -> Result:
    """Time ``fn`` on its own: the median per-call seconds over ``rounds`` samples of ``number`` calls.

    ``target_s`` is the per-call time aimed for (at most).

    Example:
        >>> r = measure("noop", lambda: None, rounds=3, target_s=1.0)
        >>> r.ours_s < 1e-3, r.met, r.ratio is None
        (True, True, True)
    """
    target = None if target_s is None else f"<= {_format_seconds(target_s)}"
    result = Result(name, dict(params or {}), rounds=rounds, target=target)
    try:
        _warm(fn, warmup)
        result.ours_number = number or _calibrate(fn)
        result.ours_times = [_sample(fn, result.ours_number) for _ in range(rounds)]
        result.ours_s = statistics.median(result.ours_times)
        if target_s is not None:
            result.met = result.ours_s <= target_s
    except Exception:
        result.error = traceback.format_exc()
    _record_check(result, check)
    return result


def _warm(fn: Callable[[], Any], calls: int) -> None:
    for _ in range(calls):
        fn()


def _sample(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call over ``number`` back-to-back calls, with the garbage collector paused (as timeit)."""
    loop = itertools.repeat(None, number)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in loop:
            fn()
        elapsed = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return elapsed / number


def _calibrate(fn: Callable[[], Any]) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... calls whose sample lasts at least :data:`MIN_SAMPLE_S`."""
    number = 1
    steps = itertools.cycle((2.0, 2.5, 2.0))
    while _sample(fn, number) * number < MIN_SAMPLE_S:
        number = round(number * next(steps))
    return number


def _record_check(result: Result, check: Check | None) -> None:
    """Run ``check`` and store its facts; skipped when timing already failed (it would fail the same way)."""
    if check is None or result.error is not None:
        return
    try:
        facts = dict(check())
    except Exception:
        result.check = {"ok": False}
        result.error = traceback.format_exc()
        return
    if "ok" not in facts:
        facts["ok"] = False
        result.error = "check returned no 'ok' entry"
    result.check = facts


# -- reporting ---------------------------------------------------------------------------------------


def machine_facts() -> dict[str, Any]:
    """What a results file needs to be read later: interpreter, platform, CPUs, threads, versions.

    Example:
        >>> facts = machine_facts()
        >>> facts["cpu_count"] >= 1, "torch" in facts["versions"]
        (True, True)
    """
    versions: dict[str, str | None] = {}
    for distribution in RECORDED_DISTRIBUTIONS:
        try:
            versions[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            versions[distribution] = None
    torch = sys.modules.get("torch")
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "thread_environment": {
            name: os.environ.get(name)
            for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT", "MKL_NUM_THREADS")
        },
        "versions": versions,
    }


def write_json(path: str | Path, results: Iterable[Result], extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``results`` with :func:`machine_facts` (and ``extra``) to one JSON file; return its path.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = write_json(Path(tmp) / "out.json", [Result("noop", {})])
        ...     json.loads(path.read_text())["results"][0]["name"]
        'noop'
    """
    path = Path(path)
    document = {"machine": machine_facts(), **(extra or {}), "results": [_as_record(r) for r in results]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def run_from_command_line(
    description: str, run: Callable[..., Sequence[Result]], argv: Sequence[str] | None = None
) -> None:
    """A benchmark module's command line: ``--smoke`` (small sizes), ``--json PATH``; prints the table.

    ``run(smoke=...)`` returns the results; ``description`` heads ``--help``; ``argv`` None reads
    ``sys.argv``.

    Example:
        >>> run_from_command_line("A benchmark.", lambda smoke: [Result("noop", {"smoke": smoke})], ["--smoke"])
        ... # doctest: +ELLIPSIS, +NORMALIZE_WHITESPACE
        case params ...
        noop smoke=True ...
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--json", metavar="PATH")
    arguments = parser.parse_args(argv)
    results = run(smoke=arguments.smoke)
    print(format_table(results))
    if arguments.json:
        write_json(arguments.json, results)


def _as_record(result: Result) -> dict[str, Any]:
    return {**asdict(result), "ok": result.ok}


def format_table(results: Sequence[Result]) -> str:
    """A plain-text table: case, ours, peer, ratio (peer/ours), target, correctness; errors listed below.

    Example:
        >>> format_table([Result("noop", {"n": 1}, ours_s=2e-7)]).splitlines()[2].split()[:4]
        ['noop', 'n=1', '200', 'ns']
    """
    header = ("case", "params", "ours", "peer", "ratio", "target", "check")
    rows = [header, tuple("-" * len(h) for h in header)]
    rows += [_row(result) for result in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    for result in results:
        if result.error:
            lines.append(f"\n{result.name} {_format_params(result.params)} failed:\n{result.error.rstrip()}")
    return "\n".join(lines)


def _row(result: Result) -> tuple[str, ...]:
    ratio = "-" if result.ratio is None else f"{result.ratio:.2f}x"
    target = "-" if result.target is None else f"{result.target} {_verdict(result.met)}"
    return (
        result.name,
        _format_params(result.params),
        _format_seconds(result.ours_s),
        _format_seconds(result.peer_s),
        ratio,
        target,
        _format_check(result),
    )


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "MISSED", None: "n/a"}[met]


def _format_check(result: Result) -> str:
    if result.error is not None:
        return "ERROR"
    if not result.check:
        return "-"
    facts = " ".join(f"{k}={_format_value(v)}" for k, v in result.check.items() if k != "ok")
    return ("ok" if result.ok else "FAIL") + (f" ({facts})" if facts else "")


def _format_params(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={_format_value(v)}" for k, v in params.items())


def _format_value(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
