"""The core: interfaces of the kinds of component, shared types and errors. No plugin code.

Attributes load lazily (PEP 562), so ``import tympan.core.errors`` does not import torch.

Example:
    >>> from tympan.core import TympanError, AudioInfo
    >>> issubclass(TympanError, Exception)
    True
"""

from __future__ import annotations

from tympan._lazy import lazy_attributes
from tympan.core.errors import *  # noqa: F403  (torch-free)
from tympan.core.errors import __all__ as _error_names

_LAZY = {
    "AudioInfo": "tympan.core.audio",
    "ENCODINGS": "tympan.core.audio",
    "Backend": "tympan.core.backend",
    "Check": "tympan.core.diagnostics",
    "Dataset": "tympan.core.components",
    "Decoder": "tympan.core.decoder",
    "Hypothesis": "tympan.core.decoder",
    "Effect": "tympan.core.components",
    "Loss": "tympan.core.components",
    "PaddedInput": "tympan.core.components",
    "ExportAxes": "tympan.core.components",
    "Transform": "tympan.core.components",
    "GROUPS": "tympan.core.kinds",
    "TorchDtype": "tympan.core.fields",
    "WindowFunction": "tympan.core.fields",
    "KINDS": "tympan.core.kinds",
    "Params": "tympan.core.params",
    "atomic_write": "tympan.core.files",
    "check_buffer_bytes": "tympan.core.budget",
    "check_weight_bytes": "tympan.core.budget",
    "params_of": "tympan.core.params",
    "validate_params": "tympan.core.params",
    "validated_arguments": "tympan.core.params",
    "compiled": "tympan.core.compiled_loops",
    "compiled_lazily": "tympan.core.compiled_loops",
    "IntraOpThreadsModule": "tympan.core.threads",
    "call_threads": "tympan.core.threads",
    "intra_op_threads": "tympan.core.threads",
    "keep_heap_memory": "tympan.core.heap",
    "recorded": "tympan.core.tracing",
    "traced": "tympan.core.tracing",
    "loader_workers": "tympan.core.cores",
    "usable_cores": "tympan.core.cores",
}

__all__ = [*_error_names, *_LAZY]

__getattr__ = lazy_attributes("tympan.core", _LAZY, globals())[0]


def __dir__() -> list[str]:
    return sorted(__all__)
