"""The Triton RNN-T kernels under Triton's CPU interpreter, against the float64 brute-force reference.

``TRITON_INTERPRET=1`` only takes effect when set before Triton is first imported, so the kernels run in
one child process (``_triton_interpreted.py``) and these tests check what it reports; nothing needs a GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from _triton_interpreted import CASES

from tympan.core.errors import InvalidParameterError
from tympan.functional import rnnt_loss

SCRIPT = Path(__file__).with_name("_triton_interpreted.py")
TOLERANCE = {"float32": 1e-4, "float16": 1e-2, "bfloat16": 2e-2}


@pytest.fixture(scope="module")
def interpreted() -> dict[str, dict[str, float]]:
    pytest.importorskip("triton")
    env = dict(os.environ, TRITON_INTERPRET="1")
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_kernels_match_brute_force(interpreted: dict[str, dict[str, float]], name: str) -> None:
    tolerance = TOLERANCE[CASES[name][5]]
    assert interpreted[name]["costs"] <= tolerance
    assert interpreted[name]["grad"] <= tolerance


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_inplace_gradient_matches_the_wavefront(interpreted: dict[str, dict[str, float]], reduction: str) -> None:
    errors = interpreted[f"inplace_{reduction}"]
    assert max(errors.values()) <= 1e-5, errors


def test_float64_is_refused_by_the_kernels() -> None:
    args = torch.zeros(1, 2, 2, 3, dtype=torch.float64), torch.ones(1, 1, dtype=torch.int32)
    with pytest.raises(InvalidParameterError, match="implementation"):
        rnnt_loss(*args, torch.tensor([2]), torch.tensor([1]), implementation="triton")


def test_cpu_tensors_need_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    args = torch.zeros(1, 2, 2, 3), torch.ones(1, 1, dtype=torch.int32), torch.tensor([2]), torch.tensor([1])
    with pytest.raises(InvalidParameterError, match="implementation"):
        rnnt_loss(*args, implementation="triton")
