"""What every first-party model shares: validated construction, weights counted before they are allocated,
and the record of the component's name and parameters that checkpoints store.

A model class validates its arguments on the first line of ``__init__`` with
``params = model_arguments(type(self), locals())`` and ends it with ``record(self, params)``; a builder
function (a model torchaudio assembles from sub-modules) is wrapped by :func:`model_builder`, which does
both around it. Before the real construction, the model is built once on the ``meta`` device, which
allocates nothing, to count its weights against :func:`~tympan.core.budget.check_weight_bytes`.

Example:
    >>> from typing import Annotated
    >>> from pydantic import Field
    >>> @model_builder("acme:mlp")
    ... def mlp(width: Annotated[int, Field(ge=1, le=1 << 16, description="Hidden width.")] = 8) -> torch.nn.Module:
    ...     return torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.Linear(width, 2))
    >>> model = mlp(width=16)
    >>> model.tympan_component, model.tympan_params
    ('acme:mlp', {'width': 16})
    >>> mlp(width=1 << 16 + 1)
    Traceback (most recent call last):
    ...
    tympan.core.errors.InvalidParameterError: invalid parameters for acme:mlp:
      width: Input should be less than or equal to 65536 (got 131072)
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import torch
from torch import nn

from tympan.core.budget import check_weight_bytes
from tympan.core.params import Params, validate_params, validated_arguments

__all__ = [
    "COMPONENT_ATTRIBUTE",
    "PARAMS_ATTRIBUTE",
    "check_divides",
    "check_odd",
    "model_arguments",
    "model_builder",
    "record",
    "weight_bytes",
]

#: The attribute holding a model's qualified component name (``"ssl:wav2vec2"``).
COMPONENT_ATTRIBUTE = "tympan_component"

#: The attribute holding a model's full parameters, as plain JSON values.
PARAMS_ATTRIBUTE = "tympan_params"

#: True while a model is built on the meta device to be counted, or inside a builder that has counted it.
_COUNTED: contextvars.ContextVar[bool] = contextvars.ContextVar("tympan_model_counted", default=False)

F = TypeVar("F", bound=Callable[..., nn.Module])


@contextlib.contextmanager
def _counted() -> Iterator[None]:
    token = _COUNTED.set(True)
    try:
        yield
    finally:
        _COUNTED.reset(token)


def weight_bytes(build: Callable[[], nn.Module]) -> int:
    """The bytes of parameters and buffers the model ``build()`` makes, counted on the meta device.

    Example:
        >>> weight_bytes(lambda: torch.nn.Linear(10, 10))
        440
    """
    with _counted(), torch.device("meta"):
        model = build()
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def _size_parameters(params: Params) -> dict[str, Any]:
    """The integer parameters, which the weights derive from, to name in a budget error."""
    values = params.kwargs()
    return {name: value for name, value in values.items() if isinstance(value, int) and not isinstance(value, bool)}


def _check_budget(name: str, params: Params, build: Callable[[], nn.Module]) -> None:
    if _COUNTED.get():
        return
    check_weight_bytes(name, _size_parameters(params), weight_bytes(build))


def model_arguments(component: type[nn.Module], arguments: Mapping[str, Any]) -> Params:
    """Validate a model class's constructor arguments (``locals()``) and check its weight budget.

    Example:
        >>> from tympan.plugins.models.asr.wav2letter import Wav2Letter
        >>> Wav2Letter(num_classes=0)
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for asr:wav2letter:
          num_classes: Input should be greater than or equal to 1 (got 0)
    """
    params = validated_arguments(component, arguments)
    name = str(getattr(component, "qualified_name", component.__name__))
    _check_budget(name, params, lambda: component(**params.kwargs()))
    return params


def _plain(params: Params) -> dict[str, Any]:
    return params.model_dump(mode="json")


def record(model: nn.Module, params: Params, name: str | None = None) -> nn.Module:
    """Store the component name (the class's ``qualified_name`` unless given) and parameters on ``model``.

    Example:
        >>> from tympan.plugins.models.asr.wav2letter import Wav2Letter
        >>> Wav2Letter(num_classes=30).tympan_params["num_classes"]
        30
    """
    qualified = name or getattr(type(model), "qualified_name", None)
    object.__setattr__(model, COMPONENT_ATTRIBUTE, qualified)
    object.__setattr__(model, PARAMS_ATTRIBUTE, _plain(params))
    return model


def model_builder(name: str) -> Callable[[F], F]:
    """Make a function that assembles a model a registered component: validated, counted and recorded.

    Example:
        >>> from tympan.plugins.models import conv_tasnet_base
        >>> conv_tasnet_base(num_sources=3).tympan_component
        'sep:conv_tasnet_base'
    """

    def decorate(function: F) -> F:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def build(*args: Any, **kwargs: Any) -> nn.Module:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as err:
                raise TypeError(f"{name}: {err}") from None
            params = validate_params(build, bound.arguments, name=name)
            _check_budget(name, params, lambda: function(**params.kwargs()))
            with _counted():
                model = function(**params.kwargs())
            return record(model, params, name)

        build.qualified_name = name  # type: ignore[attr-defined]
        return build  # type: ignore[return-value]

    return decorate


def check_divides(params: Any, divisor: str, dividend: str) -> None:
    """Raise ``ValueError`` unless parameter ``divisor`` divides parameter ``dividend`` (heads, groups).

    Example:
        >>> from types import SimpleNamespace
        >>> check_divides(SimpleNamespace(num_heads=4, input_dim=6), "num_heads", "input_dim")
        Traceback (most recent call last):
        ...
        ValueError: num_heads (4) must divide input_dim (6)
    """
    if getattr(params, dividend) % getattr(params, divisor):
        raise ValueError(f"{divisor} ({getattr(params, divisor)}) must divide {dividend} ({getattr(params, dividend)})")


def check_odd(params: Any, *names: str) -> None:
    """Raise ``ValueError`` unless each named kernel size is odd ('same' padding).

    Example:
        >>> from types import SimpleNamespace
        >>> check_odd(SimpleNamespace(kernel_size=4), "kernel_size")
        Traceback (most recent call last):
        ...
        ValueError: kernel_size must be odd ('same' padding), got 4
    """
    for name in names:
        if getattr(params, name) % 2 == 0:
            raise ValueError(f"{name} must be odd ('same' padding), got {getattr(params, name)}")


def shortest_conv_input(stack: nn.Module) -> int:
    """The shortest input after which every 1-D convolution of ``stack`` (in order) gives two frames or more:
    the smallest size a model built on it declares for export.

    Example:
        >>> shortest_conv_input(nn.Sequential(nn.Conv1d(1, 1, 10, stride=5), nn.Conv1d(1, 1, 3, stride=2)))
        30
    """
    shortest = 2
    for conv in reversed([module for module in stack.modules() if isinstance(module, nn.Conv1d)]):
        needed = (shortest - 1) * conv.stride[0] + conv.kernel_size[0] - 2 * int(conv.padding[0])
        shortest = max(2, needed)
    return shortest
