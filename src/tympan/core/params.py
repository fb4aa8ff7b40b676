"""The ``Params`` contract: one pydantic model per component, the single source of validation.

A parameter is declared once, in the constructor's signature, as
``Annotated[type, Field(bounds..., description=...)]``; :func:`params_of` derives the class's ``Params`` model
from it, keeping every bound and description (JSON Schema, ``tympan info`` and the docs read them there).
Cross-field rules go in one ``check_params(params)`` static or class method on the component, which raises
``ValueError`` and becomes the derived model's ``model_validator``. A hand-written nested ``Params`` stays
possible for the rare case that needs it. :func:`validate_params` turns pydantic's errors into an
:class:`~tympan.core.errors.InvalidParameterError` that names the component, the field and the bound, and
:func:`validated_arguments` does the same from inside a constructor (``validated_arguments(type(self),
locals())``).

Example:
    >>> from typing import Annotated
    >>> from pydantic import Field
    >>> class Gain:
    ...     def __init__(
    ...         self, gain_db: Annotated[float, Field(ge=-120, le=120, description="Gain in decibels.")] = 0.0
    ...     ) -> None:
    ...         self.gain_db = gain_db
    >>> validate_params(Gain, {"gain_db": -6}, name="acme:gain").gain_db
    -6.0
    >>> validate_params(Gain, {"gain_db": 500}, name="acme:gain")
    Traceback (most recent call last):
    ...
    tympan.core.errors.InvalidParameterError: invalid parameters for acme:gain:
      gain_db: Input should be less than or equal to 120 (got 500)

This module imports pydantic but not torch.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from typing import Any

import pydantic
import pydantic_core
from pydantic import BaseModel, ConfigDict
from pydantic.fields import FieldInfo

from tympan.core.errors import InvalidParameterError
from tympan.core.rendering import abbreviated, cut
from tympan.core.strict import scalar_problem

__all__ = [
    "MAX_PROBLEMS",
    "Params",
    "StrictModel",
    "params_of",
    "validate_params",
    "validated_arguments",
    "format_validation_error",
]

#: Problems :func:`format_validation_error` lists before it says how many more there are.
MAX_PROBLEMS = 50


class StrictModel(BaseModel):
    """A model whose scalar fields take values of their own type only (see :mod:`tympan.core.strict`):
    ``True`` is not the integer 1, ``"8:32"`` or ``"13"`` not a number, ``"no"`` not ``False``. An integer
    still fills a float field and a list a tuple field; custom types (dtypes, windows) parse their names.
    Non-finite floats (NaN, infinities) are refused unless a field allows them (``allow_inf_nan=True``).

    Example:
        >>> class Rate(StrictModel):
        ...     sample_rate: int = 16000
        ...     gain: float = 1.0
        >>> Rate(sample_rate=8000, gain=2).gain
        2.0
        >>> Rate(sample_rate=True)
        Traceback (most recent call last):
        ...
        pydantic_core._pydantic_core.ValidationError: 1 validation error for Rate
        sample_rate
          Input should be an integer, not a bool [type=strict_type, input_value=True, input_type=bool]
    """

    model_config = ConfigDict(allow_inf_nan=False)

    @pydantic.field_validator("*", mode="before")
    @classmethod
    def _exact_scalars(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        annotation = typing.Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        problem = scalar_problem(value, annotation)
        if problem:
            raise pydantic_core.PydanticCustomError("strict_type", problem)
        return value


class Params(StrictModel):
    """Base of every component's parameter model: unknown fields are errors, values are immutable, and
    scalars are exact (see :class:`StrictModel`).

    Example:
        >>> from pydantic import Field
        >>> class MyParams(Params):
        ...     n_fft: int = Field(400, gt=0, description="FFT size.")
        >>> MyParams(n_fft=512).n_fft
        512
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, allow_inf_nan=False)

    def kwargs(self) -> dict[str, Any]:
        """The validated values as constructor keyword arguments (nested models kept as objects).

        Example:
            >>> Params().kwargs()
            {}
        """
        return {name: getattr(self, name) for name in type(self).model_fields}


class _OpenParams(Params):
    """Derived parameters of a component whose signature takes ``**kwargs``: extra keys pass through."""

    model_config = ConfigDict(extra="allow", frozen=True, arbitrary_types_allowed=True, allow_inf_nan=False)

    def kwargs(self) -> dict[str, Any]:
        return {**super().kwargs(), **(self.model_extra or {})}


_DERIVED: dict[Any, type[Params]] = {}


def _signature_target(component: Any) -> Callable[..., Any]:
    return component.__init__ if inspect.isclass(component) else component


def _field_of(parameter: inspect.Parameter, annotation: Any) -> tuple[Any, Any]:
    """The ``(annotation, default)`` pair of one derived field; an ``Annotated`` ``Field`` keeps its bounds."""
    default = ... if parameter.default is inspect.Parameter.empty else parameter.default
    declared = [item for item in typing.get_args(annotation)[1:] if isinstance(item, FieldInfo)]
    if typing.get_origin(annotation) is typing.Annotated and declared:
        if declared[-1].description is None:
            annotation = typing.Annotated[annotation, pydantic.Field(description=f"`{parameter.name}` argument.")]
        return annotation, default
    return annotation, pydantic.Field(default, description=f"`{parameter.name}` argument.")


def _cross_field_validator(component: Any) -> dict[str, Any]:
    """The component's ``check_params`` hook as a ``model_validator``, or nothing."""
    hook = getattr(component, "check_params", None)
    if not callable(hook):
        return {}

    def check(model: Params) -> Params:
        hook(model)
        return model

    return {"check_params": pydantic.model_validator(mode="after")(check)}


def _derive(component: Any) -> type[Params]:
    target = _signature_target(component)
    try:
        signature = inspect.signature(target)
        hints = typing.get_type_hints(target, include_extras=True)
    except (TypeError, ValueError, NameError):
        signature = inspect.signature(target) if callable(target) else inspect.Signature()
        hints = {}
    fields: dict[str, Any] = {}
    extra = "forbid"
    parameters = list(signature.parameters.values())
    if inspect.isclass(component) and parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            extra = "allow"
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        fields[parameter.name] = _field_of(parameter, hints.get(parameter.name, Any))
    name = f"{getattr(component, '__name__', 'Component')}Params"
    base = _OpenParams if extra == "allow" else Params
    model: type[Params] = pydantic.create_model(  # type: ignore[call-overload]
        name, __base__=base, __validators__=_cross_field_validator(component), **fields
    )
    return model


def params_of(component: Any) -> type[Params]:
    """The ``Params`` model of a component class or factory: its own, or one derived from its signature.

    Example:
        >>> def make_model(hidden: int = 256, dropout: float = 0.1): ...
        >>> sorted(params_of(make_model).model_fields)
        ['dropout', 'hidden']
    """
    own = getattr(component, "Params", None)
    if isinstance(own, type) and issubclass(own, BaseModel):
        return own  # type: ignore[return-value]
    cached = _DERIVED.get(component)
    if cached is None:
        cached = _DERIVED[component] = _derive(component)
    return cached


def format_validation_error(
    error: pydantic.ValidationError, prefix: str = "", unknown: str = "unknown parameter"
) -> list[str]:
    """One ``location: message (got value)`` line per problem of a pydantic ``ValidationError``.

    The value is shown abbreviated (:func:`~tympan.core.errors.abbreviated`), and at most
    :data:`MAX_PROBLEMS` lines are made, the last saying how many more there are.

    Example:
        >>> class P(Params):
        ...     n: int = pydantic.Field(1, gt=0)
        >>> try:
        ...     P(n=0)
        ... except pydantic.ValidationError as err:
        ...     format_validation_error(err, prefix="steps[0].x.")
        ['steps[0].x.n: Input should be greater than 0 (got 0)']
    """
    lines = []
    problems = error.errors(include_url=False, include_context=False)
    for problem in problems[:MAX_PROBLEMS]:
        location = ".".join(cut(str(part), 60) for part in problem["loc"]) or "<root>"
        message = problem["msg"]
        if problem["type"] == "extra_forbidden":
            message = unknown
        got = problem.get("input", ...)
        shown = "" if problem["type"] in ("missing", "extra_forbidden") or got is ... else f" (got {abbreviated(got)})"
        lines.append(f"{prefix}{location}: {message}{shown}")
    if len(problems) > MAX_PROBLEMS:
        lines.append(f"{prefix}... and {len(problems) - MAX_PROBLEMS} more problems")
    return lines


def validate_params(component: Any, values: Mapping[str, Any], name: str | None = None) -> Params:
    """Validate ``values`` with the component's ``Params``; raise ``InvalidParameterError`` naming each field.

    Example:
        >>> def make(hidden: int = 256): ...
        >>> validate_params(make, {"hidden": 64}).kwargs()
        {'hidden': 64}
    """
    model = params_of(component)
    label = name or str(getattr(component, "__qualname__", repr(component)))
    names = [key for key in values if not isinstance(key, str)]
    if names:
        raise InvalidParameterError(label, [f"{abbreviated(key)}: parameter names are strings" for key in names])
    try:
        return model(**dict(values))
    except pydantic.ValidationError as err:
        raise InvalidParameterError(label, format_validation_error(err)) from None


_CONSTRUCTOR_LOCALS = frozenset({"self", "__class__"})


def validated_arguments(component: Any, arguments: Mapping[str, Any]) -> Params:
    """Validate a constructor's own arguments (``locals()`` at its first line) with the component's ``Params``.

    The error names the component by its ``qualified_name`` where it has one.

    Example:
        >>> from typing import Annotated
        >>> from pydantic import Field
        >>> class Delay:
        ...     qualified_name = "acme:delay"
        ...     def __init__(self, seconds: Annotated[float, Field(ge=0, description="Delay.")] = 0.0) -> None:
        ...         self.seconds = validated_arguments(type(self), locals()).seconds
        >>> Delay(0.5).seconds
        0.5
        >>> Delay(-1.0)
        Traceback (most recent call last):
        ...
        tympan.core.errors.InvalidParameterError: invalid parameters for acme:delay:
          seconds: Input should be greater than or equal to 0 (got -1.0)
    """
    values = {name: value for name, value in arguments.items() if name not in _CONSTRUCTOR_LOCALS}
    return validate_params(component, values, name=getattr(component, "qualified_name", None))
