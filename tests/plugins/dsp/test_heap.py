"""The heap-top pad that keeps repeated features calls from faulting their temporaries in again."""

from __future__ import annotations

import os
import subprocess
import sys

from tympan.plugins.dsp.functional._heap import _glibc, keep_heap_top

_PROBE = """
import torch
import tympan.transforms as T
from tympan.plugins.dsp.functional._heap import keep_heap_top
T.MelSpectrogram(sample_rate=16000)(torch.zeros(1, 16000))
print(keep_heap_top.cache_info().currsize, keep_heap_top())
"""


def _probe(**environment: str) -> str:
    env = {key: value for key, value in os.environ.items() if key != "MALLOC_TOP_PAD_"}
    done = subprocess.run([sys.executable, "-c", _PROBE], env={**env, **environment}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_first_features_call_sets_the_pad_where_glibc_runs() -> None:
    assert _probe() == f"1 {_glibc()}"  # called by the mel spectrogram, and set wherever glibc's malloc runs


def test_a_pad_set_in_the_environment_stands() -> None:
    assert _probe(MALLOC_TOP_PAD_="131072") == "1 False"


def test_the_pad_is_set_once_per_process() -> None:
    first = keep_heap_top()
    assert keep_heap_top() == first and keep_heap_top.cache_info().currsize == 1
