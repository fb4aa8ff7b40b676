"""The benchmark harness on trivial functions: result structure, ratio, checks, errors, reporting."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.harness import Result, compare, format_table, measure, write_json


def _sleep(seconds: float) -> Callable[[], None]:
    return lambda: time.sleep(seconds)


def test_compare_reports_peer_over_ours_as_median_of_round_ratios() -> None:
    result = compare("sleep", _sleep(0.004), _sleep(0.001), rounds=5, warmup=1, number=1, params={"ms": 4})
    assert result.ok and result.error is None
    assert result.params == {"ms": 4}
    assert len(result.ours_times) == len(result.peer_times) == result.rounds == 5
    assert result.ours_number == result.peer_number == 1
    assert result.ours_s == statistics.median(result.ours_times)
    assert result.peer_s == statistics.median(result.peer_times)
    rounds = [p / o for o, p in zip(result.ours_times, result.peer_times, strict=True)]
    assert result.ratio == statistics.median(rounds)
    assert 0.05 < result.ratio < 0.9  # ours sleeps four times longer: we are slower, ratio near 0.25
    assert result.ours_s >= 0.004


def test_compare_target_is_reported_not_raised() -> None:
    result = compare("sleep", _sleep(0.002), _sleep(0.001), rounds=3, warmup=0, number=1, target_ratio=2.0)
    assert result.target == ">= 2x"
    assert result.met is False
    assert result.ok


def test_measure_batches_fast_calls_and_reports_per_call_time() -> None:
    result = measure("noop", lambda: None, rounds=3, warmup=1, target_s=1e-3)
    assert result.ours_number > 1
    assert result.ours_s is not None and 0 < result.ours_s < 1e-3
    assert result.peer_s is None and result.ratio is None
    assert result.met is True and result.target == "<= 1 ms"


def test_check_facts_are_recorded_and_a_failed_check_fails_the_case() -> None:
    passed = measure("noop", lambda: None, rounds=1, number=1, check=lambda: {"ok": True, "max_abs_err": 0.0})
    assert passed.ok and passed.check == {"ok": True, "max_abs_err": 0.0}
    failed = measure("noop", lambda: None, rounds=1, number=1, check=lambda: {"ok": False})
    assert not failed.ok and failed.error is None
    unanswered = measure("noop", lambda: None, rounds=1, number=1, check=lambda: {"max_abs_err": 0.0})
    assert not unanswered.ok


def test_a_crash_is_recorded_on_the_result() -> None:
    def broken() -> None:
        raise ValueError("boom")

    result = compare("broken", broken, lambda: None, rounds=2, check=lambda: {"ok": True})
    assert not result.ok
    assert result.error is not None and "ValueError: boom" in result.error
    assert "broken" in format_table([result]) and "ERROR" in format_table([result])


def test_json_and_table(tmp_path: Path) -> None:
    result = compare("add", lambda: 1 + 1, lambda: 2 + 2, rounds=2, params={"n": 1}, check=lambda: {"ok": True})
    document = json.loads(write_json(tmp_path / "out" / "results.json", [result], {"smoke": True}).read_text())
    assert document["smoke"] is True
    assert {"python", "cpu_count", "versions"} <= document["machine"].keys()
    assert document["machine"]["versions"]["torch"]
    (record,) = document["results"]
    assert record["name"] == "add" and record["ok"] is True and record["ratio"] == result.ratio
    table = format_table([result, Result("empty", {})])
    assert "add" in table and f"{result.ratio:.2f}x" in table and "ok" in table
