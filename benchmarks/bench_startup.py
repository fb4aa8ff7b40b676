"""Start-up costs users feel: ``import tympan``, ``tympan list`` with many plugins, a cached name lookup.

- ``import tympan`` runs in a fresh interpreter each round (a bare ``python -c pass`` is timed beside it
  for scale); the check confirms that importing tympan does not import torch.
- ``tympan list`` runs in a fresh process with and without 50 fake plugin distributions on ``PYTHONPATH``
  (see :mod:`benchmarks.fake_plugins`); the check confirms that every fake component and a first-party
  one are listed.
- ``registry.get`` of a name already loaded is timed in this process, per call.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks.fake_plugins import write_fake_plugins
from benchmarks.harness import Result, measure

FAKE_PLUGINS = 50
LIST_TARGET_S = 0.3
GET_TARGET_S = 5e-6
FIRST_PARTY_NAME = "dsp:mfcc"

_IMPORT_CHECK = "import sys, tympan; print('torch' in sys.modules)"


def _clean_environment(pythonpath: str | None = None) -> dict[str, str]:
    """This process's environment without ``TYMPAN_*`` switches, with ``PYTHONPATH`` set as given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TYMPAN_") and k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return env


def _run(command: Sequence[str], env: Mapping[str, str]) -> str:
    """Run ``command`` to completion and return its standard output; raise if it fails."""
    completed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {completed.returncode}:\n{completed.stderr}")
    return completed.stdout


def bench_import(rounds: int) -> list[Result]:
    """``import tympan`` and a bare interpreter, each in a fresh process."""
    env = _clean_environment()

    def check() -> dict[str, Any]:
        torch_imported = _run([sys.executable, "-c", _IMPORT_CHECK], env).strip() == "True"
        return {"ok": not torch_imported, "torch_imported": torch_imported}

    bare = functools.partial(_run, [sys.executable, "-c", "pass"], env)
    tympan = functools.partial(_run, [sys.executable, "-c", "import tympan"], env)
    return [
        measure("python -c pass", bare, rounds=rounds, warmup=1, number=1),
        measure("import tympan", tympan, rounds=rounds, warmup=1, number=1, check=check),
    ]


def bench_list(rounds: int) -> list[Result]:
    """Listing every component in a fresh process, with and without the fake plugins installed."""
    command = [str(Path(sys.executable).with_name("tympan")), "list"]
    with tempfile.TemporaryDirectory(prefix="tympan-fake-plugins-") as site:
        fake = write_fake_plugins(Path(site), FAKE_PLUGINS)
        results = []
        for plugins, env in ((0, _clean_environment()), (FAKE_PLUGINS, _clean_environment(site))):
            run = functools.partial(_run, command, env)
            wanted = [FIRST_PARTY_NAME, *(fake if plugins else [])]
            results.append(
                measure(
                    "tympan list",
                    run,
                    rounds=rounds,
                    warmup=1,
                    number=1,
                    check=functools.partial(_listing_check, run, wanted),
                    params={"extra_plugins": plugins},
                    target_s=LIST_TARGET_S,
                )
            )
    return results


def _listing_check(run: Callable[[], str], expected: Sequence[str]) -> dict[str, Any]:
    output = run()
    missing = [name for name in expected if name not in output]
    return {"ok": not missing, "listed": len(expected) - len(missing), "missing": len(missing)}


def bench_get(rounds: int) -> list[Result]:
    """``registry.get`` of names whose component is already loaded (by the warm-up), per call."""
    from tympan import registry

    def check(name: str) -> dict[str, Any]:
        return {"ok": registry.get(name) is registry.resolve(name).load()}

    return [
        measure(
            f"registry.get({name!r})",
            functools.partial(registry.get, name),
            rounds=rounds,
            check=functools.partial(check, name),
            params={"loaded": True},
            target_s=GET_TARGET_S,
        )
        for name in ("mfcc", "dsp:mfcc")
    ]


def run(smoke: bool = False) -> list[Result]:
    """Every start-up case; ``smoke`` takes few rounds."""
    rounds = 3 if smoke else 15
    return [*bench_import(rounds), *bench_list(rounds), *bench_get(rounds)]
