"""The heap settings that keep repeated features calls from faulting their temporaries in again."""

from __future__ import annotations

import os
import subprocess
import sys

from tympan.core.heap import _glibc

_PROBE = """
import torch
import tympan.transforms as T
from tympan.core.heap import keep_heap_memory
T.MelSpectrogram(sample_rate=16000)(torch.zeros(1, 16000))
print(keep_heap_memory.cache_info().currsize, *keep_heap_memory())
"""
_BOTH = "M_TOP_PAD M_MMAP_THRESHOLD"


def _probe(**environment: str) -> str:
    names = ("MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_")
    env = {key: value for key, value in os.environ.items() if key not in names}
    done = subprocess.run([sys.executable, "-c", _PROBE], env={**env, **environment}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_first_features_call_sets_both_where_glibc_runs() -> None:
    # called by the mel spectrogram (the cache holds one result), and both settings made wherever glibc runs
    assert _probe() == ("1 " + _BOTH if _glibc() else "1")


def test_settings_given_by_the_environment_stand() -> None:
    if _glibc():
        assert _probe(MALLOC_TOP_PAD_="131072") == "1 M_MMAP_THRESHOLD"
        assert _probe(MALLOC_MMAP_THRESHOLD_="131072") == "1 M_TOP_PAD"
    assert _probe(MALLOC_TOP_PAD_="131072", MALLOC_MMAP_THRESHOLD_="131072") == "1"
