"""Property-based fuzzing of a component's parameters: random values inside the declared bounds must
construct within the buffer budget and run on a short input within a time budget, or be refused with a
typed error.

:func:`exercise` builds one component through the registry (validated by its ``Params``, the input sample
rate given when it takes one) and runs it on a short input: its ``example_input(batch)`` when it defines one
(the convention of :func:`~tympan.testing.check_component`), else a waveform. :func:`fuzz_component` draws
``examples`` parameter sets from the component's JSON Schema with hypothesis (a fixed number, no shrinking,
deterministic) and exercises each; a typed :class:`~tympan.core.errors.TympanError` (or an ``OSError``
with an ``errno``, such as a missing file named by a path parameter) counts as a refusal, anything else as
a failure, and so do buffers over :func:`~tympan.core.budget.max_buffer_bytes` and an
example slower than ``seconds``. Datasets are built on an empty temporary ``root`` with ``download=False``;
backends take no parameters and are not fuzzed.

hypothesis is needed (``pip install hypothesis``, in tympan's ``dev`` extra).

Example:
    >>> report = fuzz_component("dsp:amplitude_to_db", examples=5)
    >>> report.examples, report.failures
    (5, [])
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from tympan.core.budget import format_bytes, max_buffer_bytes
from tympan.core.components import input_rate_parameter
from tympan.core.errors import TympanError
from tympan.core.params import params_of
from tympan.registry import Registry, default_registry
from tympan.testing.checks import example_inputs

__all__ = ["ExerciseError", "FuzzReport", "exercise", "fuzz_component", "fuzzed_kinds", "params_strategy"]

#: The kinds whose parameters are fuzzed (backends are built without parameters).
_FUZZED_KINDS = ("transform", "effect", "loss", "model", "decoder", "dataset")
#: Kinds that run on a waveform when they define no ``example_input``.
_WAVEFORM_KINDS = ("transform", "effect")
#: The largest integer drawn for a field without an upper bound.
_UNBOUNDED_INT = 1 << 62


def fuzzed_kinds() -> tuple[str, ...]:
    """The component kinds :func:`fuzz_component` covers.

    Example:
        >>> "backend" in fuzzed_kinds()
        False
    """
    return _FUZZED_KINDS


class ExerciseError(Exception):
    """A component that built or ran outside its bounds (buffers over the budget, too slow): not a typed
    refusal, a defect of the component.

    Example:
        >>> str(ExerciseError("dsp:x: buffers of 1.0 GiB"))
        'dsp:x: buffers of 1.0 GiB'
    """


def _module_bytes(module: torch.nn.Module) -> int:
    seen: set[int] = set()
    total = 0
    for tensor in [*module.parameters(), *module.buffers()]:
        storage = tensor.untyped_storage()
        if storage.data_ptr() in seen or tensor.is_meta:
            continue
        seen.add(storage.data_ptr())
        total += storage.nbytes()
    return total


def exercise(
    name: str,
    params: Mapping[str, Any],
    *,
    registry: Registry | None = None,
    sample_rate: int = 16000,
    frames: int = 1000,
    batch: int = 1,
) -> Any:
    """Build ``name`` with ``params`` and, for a module that takes an input, run it on a short one.

    Returns the built component. Raises what the component raises, or :class:`ExerciseError` when its
    buffers exceed the budget.

    Example:
        >>> exercise("dsp:mfcc", {"n_mfcc": 13}).n_mfcc
        13
    """
    registry = registry or default_registry()
    entry = registry.resolve(name)
    values = dict(params)
    if entry.kind in _WAVEFORM_KINDS:
        rate_param = input_rate_parameter(entry.load())
        if rate_param and rate_param not in values:
            values[rate_param] = sample_rate
    built = registry.create(entry.name, entry.kind, **values)
    if not isinstance(built, torch.nn.Module):
        return built
    size = _module_bytes(built)
    if size > max_buffer_bytes():
        raise ExerciseError(f"{entry.name}: buffers of {format_bytes(size)}, over {format_bytes(max_buffer_bytes())}")
    if entry.kind in _WAVEFORM_KINDS or callable(getattr(built, "example_input", None)):
        built.eval()
        inputs = example_inputs(built, entry.kind, batch, frames)
        with torch.no_grad():
            built(*inputs)
    return built


# -- strategies from JSON Schema ---------------------------------------------------------------------------


def _resolve(schema: Mapping[str, Any], definitions: Mapping[str, Any]) -> Mapping[str, Any]:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        resolved: Mapping[str, Any] = definitions.get(reference.removeprefix("#/$defs/"), {})
        return resolved
    return schema


def _number_strategy(schema: Mapping[str, Any], integer: bool) -> Any:
    from hypothesis import strategies as st

    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if integer:
        low_int = None if low is None else math.ceil(low) + (1 if "exclusiveMinimum" in schema else 0)
        high_int = _UNBOUNDED_INT if high is None else math.floor(high) - (1 if "exclusiveMaximum" in schema else 0)
        low_int = -_UNBOUNDED_INT if low_int is None else low_int
        return st.integers(low_int, max(low_int, high_int))
    return st.floats(
        min_value=low,
        max_value=high,
        exclude_min="exclusiveMinimum" in schema,
        exclude_max="exclusiveMaximum" in schema,
        allow_nan=False,
        allow_infinity=False,
    )


def _strategy(schema: Mapping[str, Any], definitions: Mapping[str, Any], depth: int = 0) -> Any:
    from hypothesis import strategies as st

    schema = _resolve(schema, definitions)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    choices = schema.get("anyOf") or schema.get("oneOf")
    if choices:
        return st.one_of([_strategy(choice, definitions, depth) for choice in choices])
    kind = schema.get("type")
    if kind == "integer":
        return _number_strategy(schema, integer=True)
    if kind == "number":
        return _number_strategy(schema, integer=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "string":
        return st.text(max_size=12)
    if kind == "array" and depth < 3:
        prefix = schema.get("prefixItems")
        if prefix:
            return st.tuples(*(_strategy(item, definitions, depth + 1) for item in prefix)).map(list)
        items = _strategy(schema.get("items", {}), definitions, depth + 1)
        low = int(schema.get("minItems", 0))
        return st.lists(items, min_size=low, max_size=max(low, min(int(schema.get("maxItems", 6)), 6)))
    if kind == "object":
        return st.just({})
    return st.none()


def params_strategy(component: Any) -> Any:
    """A hypothesis strategy of parameter mappings for ``component``, from its ``Params`` JSON Schema: every
    field inside its declared bounds (enums, ranges, lengths), optional fields sometimes at their default.

    Example:
        >>> from tympan import registry
        >>> from hypothesis import find
        >>> find(params_strategy(registry.get("dsp:amplitude_to_db")), lambda p: p["stype"] == "magnitude")["stype"]
        'magnitude'
    """
    from hypothesis import strategies as st

    schema = params_of(component).model_json_schema()
    definitions = schema.get("$defs", {})
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for name, field_schema in schema.get("properties", {}).items():
        drawn = _strategy(field_schema, definitions)
        if name not in required and "default" in field_schema:
            drawn = st.one_of(st.just(field_schema["default"]), drawn)
        fields[name] = drawn
    return st.fixed_dictionaries(fields)


@dataclass
class FuzzReport:
    """What :func:`fuzz_component` tried: examples drawn, built and run, refused with a typed error, and the
    failures (``params -> problem``).

    Example:
        >>> FuzzReport("dsp:x").ok
        True
    """

    name: str
    examples: int = 0
    built: int = 0
    refused: int = 0
    slowest: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether no example failed."""
        return not self.failures


def fuzz_component(
    name: str,
    *,
    examples: int = 10,
    seconds: float = 5.0,
    frames: int = 1000,
    registry: Registry | None = None,
) -> FuzzReport:
    """Draw ``examples`` parameter sets for ``name`` and :func:`exercise` each on a ``frames``-sample input.

    A typed error is a refusal; any other exception, buffers over the budget or an example slower than
    ``seconds`` is a failure. Deterministic: the same component gets the same examples every run.

    Example:
        >>> fuzz_component("dsp:mu_law_encoding", examples=3).built
        3
    """
    from hypothesis import HealthCheck, Phase, given, settings

    registry = registry or default_registry()
    entry = registry.resolve(name)
    report = FuzzReport(entry.name)
    fixed: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as root:
        if entry.kind == "dataset":
            fixed = {"root": root, "download": False}

        @settings(
            max_examples=examples,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(params_strategy(entry.load()))
        def one(params: dict[str, Any]) -> None:
            params.update(fixed)
            report.examples += 1
            start = time.perf_counter()
            try:
                exercise(entry.name, params, registry=registry, frames=frames)
                report.built += 1
            except Exception as exc:  # a typed refusal, or the component's defect, recorded
                if isinstance(exc, TympanError) or _system_error(exc):
                    report.refused += 1
                    return
                report.failures.append(f"{_shown(params)} -> {type(exc).__name__}: {exc}"[:600])
                return
            elapsed = time.perf_counter() - start
            report.slowest = max(report.slowest, elapsed)
            if elapsed > seconds:
                report.failures.append(f"{_shown(params)} -> took {elapsed:.1f} s (budget {seconds:g} s)")

        one()
    return report


def _system_error(exc: Exception) -> bool:
    """An ``OSError`` carrying an ``errno``: the operating system's own report (a path parameter naming a
    missing file), as typed as tympan's errors."""
    return isinstance(exc, OSError) and exc.errno is not None


def _shown(params: Mapping[str, Any]) -> str:
    from tympan.core.rendering import abbreviated

    return abbreviated(dict(params), 300)
