"""Pipelines configured by name: YAML / TOML / JSON files that list registry components and parameters.

Example:
    >>> from tympan.pipeline import Pipeline
    >>> pipe = Pipeline.from_config({"sample_rate": 16000, "steps": [{"mfcc": {"n_mfcc": 13}}]})
    >>> pipe.step_names
    ['dsp:mfcc']
"""

from __future__ import annotations

from tympan.pipeline.build import BuiltStep, build_steps
from tympan.pipeline.config import Envelope, PipelineSpec, StepSpec, check_envelope
from tympan.pipeline.files import parse_config_text, read_config_file
from tympan.pipeline.pipeline import Pipeline, validate_config
from tympan.pipeline.schema import pipeline_schema

__all__ = [
    "BuiltStep",
    "Envelope",
    "Pipeline",
    "PipelineSpec",
    "StepSpec",
    "build_steps",
    "check_envelope",
    "parse_config_text",
    "pipeline_schema",
    "read_config_file",
    "validate_config",
]
