"""What a plugin's model needs so that :func:`tympan.models.load` and the trainer's checkpoints rebuild it by
name: validated construction within the weight budget and the record of its component name and parameters.

A model class validates its arguments on the first line of ``__init__`` with
``params = model_arguments(type(self), locals())`` (or :func:`tympan.core.params.validated_arguments` where
its size needs no budget check) and ends it with ``record(self, params)``; a function that assembles a
model from parts is decorated with :func:`model_builder`, which does both around it. The first-party models
and the keyword-spotting plugin are built this way.

Example:
    >>> import torch
    >>> from typing import Annotated
    >>> from pydantic import Field
    >>> from tympan.plugins.models.authoring import model_builder
    >>> @model_builder("acme:probe")
    ... def probe(width: Annotated[int, Field(ge=1, le=4096, description="Hidden width.")] = 8) -> torch.nn.Module:
    ...     return torch.nn.Linear(4, width)
    >>> model = probe(width=3)
    >>> model.tympan_component, model.tympan_params
    ('acme:probe', {'width': 3})
"""

from __future__ import annotations

from tympan.plugins.models._component import model_arguments, model_builder, record

__all__ = ["model_arguments", "model_builder", "record"]
