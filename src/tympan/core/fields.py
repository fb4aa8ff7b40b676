"""Parameter types for torch values that configuration files name as strings.

``TorchDtype`` takes ``"float32"`` or ``torch.float32``; ``WindowFunction`` takes ``"hann"`` or any window
factory such as ``torch.hann_window``. Both validate to the torch object and serialise back to the name,
so a component's parameters round-trip through YAML, TOML and JSON and appear in its JSON Schema.

Example:
    >>> import torch
    >>> from pydantic import Field
    >>> from tympan.core.params import Params
    >>> class P(Params):
    ...     dtype: TorchDtype = Field(torch.float32, description="Working dtype.")
    ...     window_fn: WindowFunction = Field("hann", validate_default=True, description="Window factory.")
    >>> p = P(dtype="float64", window_fn="hamming")
    >>> p.dtype, p.window_fn is torch.hamming_window
    (torch.float64, True)
    >>> p.model_dump(mode="json")
    {'dtype': 'float64', 'window_fn': 'hamming'}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import torch
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["DTYPES", "WINDOWS", "TorchDtype", "WindowFunction"]

#: dtypes by the names configuration files use.
DTYPES: dict[str, torch.dtype] = {
    name: getattr(torch, name) for name in ("float16", "bfloat16", "float32", "float64", "int16", "int32", "int64")
}

#: Window factories by name.
WINDOWS: dict[str, Callable[..., torch.Tensor]] = {
    "hann": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "bartlett": torch.bartlett_window,
    "kaiser": torch.kaiser_window,
}

_DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}
_WINDOW_NAMES = {function: name for name, function in WINDOWS.items()}


def _to_dtype(value: Any) -> Any:
    if isinstance(value, torch.dtype) or value is None:
        return value
    if isinstance(value, str) and value.removeprefix("torch.") in DTYPES:
        return DTYPES[value.removeprefix("torch.")]
    raise ValueError(f"expected a dtype name ({', '.join(DTYPES)}), got {value!r}")


def _dtype_name(value: torch.dtype) -> str:
    return _DTYPE_NAMES.get(value) or str(value).removeprefix("torch.")


def _to_window(value: Any) -> Any:
    if isinstance(value, str):
        if value in WINDOWS:
            return WINDOWS[value]
        raise ValueError(f"expected a window name ({', '.join(WINDOWS)}) or a callable, got {value!r}")
    if callable(value):
        return value
    raise ValueError(f"expected a window name ({', '.join(WINDOWS)}) or a callable, got {value!r}")


def _window_name(value: Callable[..., torch.Tensor]) -> str:
    name = _WINDOW_NAMES.get(value)
    if name is None:
        raise ValueError(f"window function {value!r} has no name a configuration can hold")
    return name


#: A torch dtype, named in configurations (``"float32"``).
TorchDtype = Annotated[
    torch.dtype,
    BeforeValidator(_to_dtype),
    PlainSerializer(_dtype_name, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "enum": list(DTYPES)}),
]

#: A window factory ``f(length, **kwargs) -> Tensor``, named in configurations (``"hann"``).
WindowFunction = Annotated[
    Callable[..., torch.Tensor],
    BeforeValidator(_to_window),
    PlainSerializer(_window_name, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "enum": list(WINDOWS)}),
]
