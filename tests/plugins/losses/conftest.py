"""Make the float64 RNN-T reference importable by the loss tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
