"""`import tympan`, the registry and the CLI's startup import no torch and no plugin."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "code",
    [
        "import tympan",
        "import tympan.core.errors",
        "from tympan import registry; registry.names()",
        "from tympan.cli import cli",
    ],
)
def test_no_torch_on_light_paths(code: str) -> None:
    heavy = "('torch', 'numpy', 'numba', 'pydantic', 'tympan.plugins.dsp')"
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_lazy_facade_attributes_resolve() -> None:
    import tympan

    assert callable(tympan.load) and callable(tympan.save) and callable(tympan.info)
    assert tympan.Pipeline.__name__ == "Pipeline"
    with pytest.raises(AttributeError):
        tympan.does_not_exist  # noqa: B018


def test_every_core_export_is_the_object_not_a_module() -> None:
    # a lazily exported name equal to its module's last part would resolve to the module itself
    import types

    import tympan.core

    modules = [name for name in tympan.core.__all__ if isinstance(getattr(tympan.core, name), types.ModuleType)]
    assert modules == []
    assert callable(tympan.core.compiled) and callable(tympan.core.intra_op_threads)
