"""A JSON Schema of pipeline configurations covering every installed transform, effect, model and decoder.

Editors use it for completion and checking (``tympan schema > tympan.schema.json``). Each step is a
mapping of one component name (qualified, or bare where the bare name is unambiguous) to that component's
``Params`` schema; a decoder may only be the last step. Building the schema imports every transform, effect,
model and decoder plugin; one that fails to load, or whose ``Params`` cannot produce a schema, is left out with
a warning naming it and its distribution.

Example:
    >>> schema = pipeline_schema()
    >>> step = next(s for s in schema["properties"]["steps"]["items"]["anyOf"] if "dsp:mfcc" in s["properties"])
    >>> step["properties"]["dsp:mfcc"]["anyOf"][0]["properties"]["n_mfcc"]["default"]
    40
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from tympan.core.errors import AmbiguousNameError, PluginLoadError, UnknownNameError
from tympan.core.params import params_of
from tympan.pipeline.config import FINAL_STEP_KINDS, STEP_KINDS, Envelope
from tympan.registry import Entry, Registry, default_registry
from tympan.registry._entries import PLUGIN_FAILURES

__all__ = ["pipeline_schema", "component_schema"]

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def component_schema(entry: Entry, defs: dict[str, Any]) -> dict[str, Any]:
    """The ``Params`` schema of ``entry``'s component, its ``$defs`` hoisted into ``defs`` under a prefix.

    Example:
        >>> from tympan import registry
        >>> defs = {}
        >>> component_schema(registry.resolve("mfcc"), defs)["title"]
        'Params'
    """
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", f"{entry.kind}_{entry.name}") + "__"
    schema = params_of(entry.load()).model_json_schema(ref_template=f"#/$defs/{prefix}{{model}}")
    for name, definition in schema.pop("$defs", {}).items():
        defs[f"{prefix}{name}"] = definition
    return schema


def _names_for(entry: Entry, registry: Registry) -> list[str]:
    names = [entry.name]
    try:
        if registry.resolve(entry.bare_name, load_generated=False) is entry:
            names.append(entry.bare_name)
    except (AmbiguousNameError, UnknownNameError):
        pass
    return names


def pipeline_schema(registry: Registry | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of pipeline configurations for the installed components.

    Example:
        >>> pipeline_schema()["properties"]["version"]["const"]
        1
    """
    registry = registry or default_registry()
    defs: dict[str, Any] = {}
    alternatives = []
    for kind in STEP_KINDS + FINAL_STEP_KINDS:
        for entry in registry.entries(kind):
            try:
                params = component_schema(entry, defs)
            except PluginLoadError:
                continue
            except PLUGIN_FAILURES as exc:  # a plugin's broken Params leaves out that component only
                problem = f"{type(exc).__name__}: {exc}"
                warnings.warn(f"{entry.name} ({entry.provider}) left out of the schema: {problem}", RuntimeWarning, 2)
                continue
            value = {"anyOf": [params, {"type": "null"}], "description": params.get("description", entry.name)}
            for name in _names_for(entry, registry):
                alternatives.append(
                    {
                        "type": "object",
                        "properties": {name: value},
                        "required": [name],
                        "additionalProperties": False,
                        "description": f"{entry.kind} {entry.name}"
                        + (" (last step only)" if kind in FINAL_STEP_KINDS else ""),
                    }
                )
    envelope = Envelope.model_json_schema()
    properties = envelope["properties"]
    properties["version"] = {"const": 1, "default": 1, "description": properties["version"].get("description", "")}
    properties["steps"] = {
        "type": "array",
        "minItems": 1,
        "description": properties["steps"].get("description", ""),
        "items": {"anyOf": alternatives},
    }
    return {
        "$schema": _DIALECT,
        "title": "tympan pipeline",
        "type": "object",
        "properties": properties,
        "required": ["steps"],
        "additionalProperties": False,
        "$defs": defs,
    }
