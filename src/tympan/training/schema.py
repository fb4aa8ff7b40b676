"""A JSON Schema of recipe files for the installed components (``tympan schema --recipe``), for editors.

Each component section is a mapping of one name (qualified, or a bare name where it is unambiguous) to
that component's ``Params`` schema: corpora under ``data``, models, losses, decoders, ``torch.optim``
optimisers and schedulers, and the tasks; ``features.steps`` and ``augment`` take the pipeline steps of
:func:`tympan.pipeline.schema.pipeline_schema`. A plugin that fails to load is left out.

Example:
    >>> schema = recipe_schema()
    >>> schema["title"], "kws:conv_net" in str(schema["properties"]["model"])
    ('tympan recipe', True)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

from tympan.core.errors import PluginLoadError
from tympan.core.params import params_of
from tympan.pipeline.schema import component_schema, pipeline_schema
from tympan.registry import default_registry
from tympan.training.recipe import Recipe
from tympan.training.resolve import UNSUPPORTED_SCHEDULERS, _without
from tympan.training.tasks import TASKS

__all__ = ["recipe_schema"]

#: Decoder parameters a task can supply (the ``ctc`` task's token set and language model), so not required.
DECODER_SUPPLIED = ("tokens", "lm")


def _choice(name: str, params: dict[str, Any], description: str) -> list[dict[str, Any]]:
    mapping = {
        "type": "object",
        "properties": {name: {"anyOf": [params, {"type": "null"}]}},
        "required": [name],
        "additionalProperties": False,
        "description": description,
    }
    return [mapping, {"const": name, "description": description}]


def _registry_choices(kind: str, defs: dict[str, Any], supplied: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every component of ``kind``; parameters the recipe supplies elsewhere (a corpus's root) not required."""
    choices = []
    for entry in default_registry().entries(kind):
        try:
            params = component_schema(entry, defs)
        except PluginLoadError:
            continue
        if "required" in params:
            params["required"] = [name for name in params["required"] if name not in supplied]
        choices += _choice(entry.name, params, f"{kind} {entry.name}")
    return {"anyOf": choices}


def _class_choices(classes: Iterable[tuple[str, Any]], injected: str) -> dict[str, Any]:
    choices = []
    for name, target in classes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                params = _without(target, (injected,)).model_json_schema()
            except Exception:  # a parameter type JSON Schema cannot describe
                params = {"type": "object"}
        choices += _choice(name, params, f"torch.optim {name}")
    return {"anyOf": choices}


def _torch_classes(module: Any, base: type) -> list[tuple[str, Any]]:
    return [
        (name, getattr(module, name))
        for name in sorted(dir(module))
        if not name.startswith("_")
        and name not in UNSUPPORTED_SCHEDULERS
        and isinstance(getattr(module, name), type)
        and issubclass(getattr(module, name), base)
        and getattr(module, name) is not base
    ]


def recipe_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of recipe files; see the module docstring."""
    import torch

    steps = pipeline_schema()
    defs: dict[str, Any] = dict(steps.pop("$defs", {}))
    schema = Recipe.model_json_schema(ref_template="#/$defs/recipe_{model}")
    for name, definition in schema.pop("$defs", {}).items():
        defs[f"recipe_{name}"] = definition
    properties = schema["properties"]
    datasets = _registry_choices("dataset", defs, supplied=("root",))
    data = defs["recipe_DataSection"]["properties"]
    for split in ("train", "valid", "test"):
        data[split] = datasets if split == "train" else {"anyOf": [datasets, {"type": "null"}]}
    defs["recipe_FeaturesSection"]["properties"]["steps"] = steps["properties"]["steps"]
    properties["augment"] = {**steps["properties"]["steps"], "minItems": 0}
    properties["model"] = _registry_choices("model", defs)
    properties["loss"] = _registry_choices("loss", defs)
    properties["decoders"] = {"type": "array", "items": _registry_choices("decoder", defs, DECODER_SUPPLIED)}
    properties["task"] = {
        "anyOf": [
            choice
            for name, task in sorted(TASKS.items())
            for choice in _choice(name, params_of(task).model_json_schema(), f"the {name} task")
        ]
    }
    properties["optimizer"] = _class_choices(_torch_classes(torch.optim, torch.optim.Optimizer), "params")
    schedulers = _torch_classes(torch.optim.lr_scheduler, torch.optim.lr_scheduler.LRScheduler)
    properties["scheduler"] = {"anyOf": [_class_choices(schedulers, "optimizer"), {"type": "null"}]}
    return {"$schema": steps["$schema"], **schema, "title": "tympan recipe", "$defs": defs}
